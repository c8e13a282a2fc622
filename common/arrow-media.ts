/**
 * The Arrow stream's media type and how a request's `Accept` chooses it (SPEC, "Binary transport").
 * Kept apart from the encoder (arrow-ipc.ts) so that negotiating, or labelling a poll, does not load
 * the apache-arrow library.
 */

/** SPEC's media type of an Arrow IPC stream. */
export const ARROW_STREAM_TYPE = 'application/vnd.apache.arrow.stream';

/**
 * Whether a request's `Accept` header asks for the Arrow stream rather than the default (CSV or
 * JSON): it must name ARROW_STREAM_TYPE itself with a q-value above 0, at least as high as the
 * default's (named, or reached through `type/*` or `*\/*`). A tie goes to Arrow: a client that names
 * the type has opted in; `*\/*` alone keeps the default.
 *
 * @param defaultType the representation served otherwise, e.g. `text/csv` or `application/json`.
 */
export function prefersArrow(header: string | undefined, defaultType: string): boolean {
  if (header === undefined || !header.toLowerCase().includes(ARROW_STREAM_TYPE)) return false;
  const arrow = mediaQuality(header, ARROW_STREAM_TYPE, true);
  return arrow > 0 && arrow >= mediaQuality(header, defaultType, false);
}

/**
 * The q-value `header` gives `type`: its own entry if named, else the most specific wildcard
 * (`type/*`, then `*\/*`) unless `exactOnly`; 0 when not accepted.
 */
function mediaQuality(header: string, type: string, exactOnly: boolean): number {
  const [major = ''] = type.split('/');
  let exact: number | undefined;
  let group: number | undefined;
  let any: number | undefined;
  for (const part of header.split(',')) {
    const [range = '', ...params] = part.split(';');
    const name = range.trim().toLowerCase();
    const q = params.map((p) => /^\s*q\s*=\s*([0-9.]+)\s*$/i.exec(p)).find((m): m is RegExpExecArray => m !== null);
    const quality = q === undefined ? 1 : Math.min(1, Number(q[1]));
    const value = Number.isFinite(quality) ? quality : 0;
    if (name === type) exact = value;
    else if (name === `${major}/*`) group = value;
    else if (name === '*/*') any = value;
  }
  if (exact !== undefined) return exact;
  if (exactOnly) return 0;
  return group ?? any ?? 0;
}
