/**
 * `Accept-Encoding` negotiation (RFC 9110 section 12.5.3), shared by the endpoints that keep
 * pre-compressed bodies: which of the codings a server has ready does the client take, by q-value.
 */

/** The q-value the header gives `coding` (explicitly, or through `*`); 0 when it is not accepted. */
export function acceptedQuality(header: string | undefined, coding: string): number {
  if (header === undefined) return 0;
  let wildcard: number | undefined;
  for (const part of header.split(',')) {
    const [token = '', ...params] = part.split(';');
    const name = token.trim().toLowerCase();
    if (name !== coding && name !== '*' && !(coding === 'gzip' && name === 'x-gzip')) continue;
    const q = params.map((p) => /^\s*q\s*=\s*([0-9.]+)\s*$/i.exec(p)).find((m): m is RegExpExecArray => m !== null);
    const quality = q === undefined ? 1 : Math.min(1, Number(q[1]));
    if (name === '*') wildcard = quality;
    else return Number.isFinite(quality) ? quality : 0;
  }
  return wildcard ?? 0;
}

/**
 * The coding of `offered` (in the server's order of preference) that the client accepts with the
 * highest q-value, or undefined for identity (no header, or nothing offered accepted).
 */
export function preferredEncoding<T extends string>(header: string | undefined, offered: readonly T[]): T | undefined {
  let best: T | undefined;
  let bestQuality = 0;
  for (const coding of offered) {
    const quality = acceptedQuality(header, coding);
    if (quality > bestQuality) {
      best = coding;
      bestQuality = quality;
    }
  }
  return best;
}
