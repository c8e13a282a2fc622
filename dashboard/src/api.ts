/**
 * The metrics server's API as the dashboard reads it: same-origin GETs only, JSON shapes narrowed
 * from `unknown` (SPEC.md: Status, ListMetrics, and once merged, GetHistory and Top). An endpoint
 * the server does not have answers 404 `{"error":"no such endpoint"}` (and history turned off by config
 * 404 `history is turned off ...`): `endpointMissing` tells those apart from a 404 about an unknown
 * switch, so history and Top degrade to a note, not an error.
 */
/** A non-2xx answer, with the server's `{"error": ...}` message when it sent one. */
export class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    readonly serverMessage: string,
  ) {
    super(`HTTP ${status}${serverMessage === '' ? '' : `: ${serverMessage}`}`);
  }
}

/**
 * True when the server does not offer the endpoint: a build without it (`no such endpoint`), or a
 * server whose history is turned off by config (`history is turned off ...`, history-routes.ts).
 */
export function endpointMissing(err: unknown): boolean {
  return err instanceof HttpStatusError && err.status === 404 && (err.serverMessage === 'no such endpoint' || err.serverMessage.startsWith('history is turned off'));
}

/** A field of a JSON object, or undefined. */
export function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null && Object.hasOwn(value, key) ? (value as Record<string, unknown>)[key] : undefined;
}

/** A finite number, or undefined. */
export function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** A string, or undefined. */
export function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** JSON text parsed, or undefined when it is empty or not JSON. */
function parseOrUndefined(text: string): unknown {
  try {
    return text === '' ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** GETs a same-origin path as text; non-2xx throws HttpStatusError with the server's `{"error"}` message. */
async function getText(path: string, signal?: AbortSignal): Promise<{ text: string; etag: string | null }> {
  const res = await fetch(path, { headers: { accept: 'application/json' }, ...(signal === undefined ? {} : { signal }) });
  const text = await res.text();
  if (!res.ok) throw new HttpStatusError(res.status, str(field(parseOrUndefined(text), 'error')) ?? '');
  return { text, etag: res.headers.get('etag') };
}

/** GETs a same-origin path and parses its JSON; non-2xx throws HttpStatusError. */
export async function getJson(path: string, signal?: AbortSignal): Promise<{ body: unknown; etag: string | null }> {
  const { text, etag } = await getText(path, signal);
  return { body: parseOrUndefined(text), etag };
}

/** The parts of `/telemetry/Status` the dashboard shows. */
export interface StatusView {
  readonly version: number | undefined;
  readonly switches: number | undefined;
  readonly metricNames: readonly string[];
  readonly ageSeconds: number | undefined;
  readonly pollIntervalSeconds: number | undefined;
  /** `ingestion.mode` once push ingestion exists; `poll` before. */
  readonly mode: string;
  readonly lastOutcome: string | undefined;
  readonly lastError: string | undefined;
  readonly consecutiveFailures: number;
  /** Present in push mode: whether the server's own upstream stream is connected. */
  readonly streamConnected: boolean | undefined;
}

/** Narrows a Status document. */
export function parseStatus(body: unknown): StatusView {
  const snapshot = field(body, 'snapshot');
  const ingestion = field(body, 'ingestion');
  const names = field(snapshot, 'metric_names');
  const stream = field(ingestion, 'stream');
  return {
    version: num(field(snapshot, 'version')),
    switches: num(field(snapshot, 'switches')),
    metricNames: Array.isArray(names) ? names.filter((n): n is string => typeof n === 'string') : [],
    ageSeconds: num(field(snapshot, 'age_seconds')),
    pollIntervalSeconds: num(field(ingestion, 'poll_interval_seconds')),
    mode: str(field(ingestion, 'mode')) ?? 'poll',
    lastOutcome: str(field(field(ingestion, 'last_poll'), 'outcome')),
    lastError: str(field(field(ingestion, 'last_error'), 'message')),
    consecutiveFailures: num(field(ingestion, 'consecutive_failures')) ?? 0,
    streamConnected: typeof field(stream, 'connected') === 'boolean' ? (field(stream, 'connected') as boolean) : undefined,
  };
}

/** The snapshot version an ETag names (`"v42"` → 42). */
export function versionFromEtag(etag: string | null): number | undefined {
  const match = etag === null ? null : /^(?:W\/)?"v(\d+)"$/.exec(etag);
  return match === null ? undefined : Number(match[1]);
}

/**
 * ListMetrics, whole, as text (the parse worker turns it into columns) and the version its ETag
 * names. Non-2xx throws HttpStatusError.
 */
export async function fetchListMetricsText(): Promise<{ text: string; version: number | undefined }> {
  const { text, etag } = await getText('/telemetry/ListMetrics');
  return { text, version: versionFromEtag(etag) };
}

/** One point of a history series: a sample's value or a bucket's average. */
export interface HistoryPoint {
  readonly t: number;
  readonly v: number | null;
}

/** GetHistory for one switch and metric (SPEC.md, History), as points in time order. */
export async function fetchHistory(switchId: string, metric: string, since: string): Promise<HistoryPoint[]> {
  const q = new URLSearchParams({ switch: switchId, metric, since });
  const { body } = await getJson(`/telemetry/GetHistory?${q.toString()}`);
  const samples = field(body, 'samples');
  if (!Array.isArray(samples)) return [];
  const points: HistoryPoint[] = [];
  for (const s of samples as unknown[]) {
    const t = num(field(s, 'timestamp'));
    const v = num(field(s, 'value')) ?? num(field(s, 'avg'));
    if (t !== undefined) points.push({ t, v: v ?? null });
  }
  return points;
}

/** One entry of a Top answer. */
export interface TopEntry {
  readonly switchId: string;
  readonly value: number | null;
}

/** Top (SPEC.md, History): the k switches ranked by `fn` of `metric` over `window`. */
export async function fetchTop(metric: string, fn: string, window: string, k: number): Promise<TopEntry[]> {
  const q = new URLSearchParams({ metric, fn, window, k: String(k), order: 'desc' });
  const { body } = await getJson(`/telemetry/Top?${q.toString()}`);
  const switches = field(body, 'switches');
  if (!Array.isArray(switches)) return [];
  return (switches as unknown[]).flatMap((s) => {
    const id = str(field(s, 'switch'));
    return id === undefined ? [] : [{ switchId: id, value: num(field(s, 'value')) ?? null }];
  });
}
