/**
 * The seed's REST API. Each handler reads the current snapshot once and answers from it alone, so an
 * answer never mixes two snapshots. ListMetrics sends bytes rendered once per snapshot (the view
 * registry: with the snapshot while it is being read, else on the first request for it); GetMetric
 * is two lookups and one short string. Plain successes of both are usually answered by the read fast
 * path instead (fast-read-path.ts), with the same bytes.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { ARROW_STREAM_TYPE, prefersArrow } from '../../../common/arrow-media.js';
import { preferredEncoding } from '../../../common/http-encoding.js';
import { etagListMatches } from '../../../common/http-etag.js';
import { TIMESTAMP_FIELD, isValidMetricName, isValidSwitchId } from '../../../common/telemetry-schema.js';
import type { Logger } from '../../../common/logger.js';
import type { Snapshot } from '../snapshot/snapshot.js';
import type { SnapshotReader } from '../store/reader.js';
import { jsonNumber } from '../views/list-metrics-json.js';
import type { ViewRegistry } from '../views/registry.js';
import { HttpError, badRequest, noSnapshotYet, notFound } from './errors.js';
import { metricParam, singleParam, switchParam, type Query } from './query-params.js';

/** The content type of every JSON answer. */
export const JSON_TYPE = 'application/json; charset=utf-8';
/** Seconds since the answer's snapshot was ingested, with millisecond precision. */
export const SNAPSHOT_AGE_HEADER = 'x-snapshot-age-seconds';
/** The ListMetrics body's view (views/view-kinds.ts). */
export const LIST_METRICS_VIEW = 'list-metrics.json';
/** The ListMetrics Arrow body's view, for requests whose `Accept` names the Arrow stream type. */
export const LIST_METRICS_ARROW_VIEW = 'list-metrics.arrow';
/** ListMetrics answers vary by both: JSON or Arrow, and the JSON's coding. */
export const LIST_METRICS_VARY = 'Accept, Accept-Encoding';

/** The last age text made, for the snapshot and millisecond it was made for: requests in one millisecond share it. */
const lastAge = { snapshot: undefined as Snapshot | undefined, nowMs: -1, text: '' };

/**
 * The `X-Snapshot-Age-Seconds` value: seconds since ingestion with 3 decimals, as
 * `snapshot.ageSeconds().toFixed(3)` writes it, made from integer milliseconds without `toFixed`
 * (whose C++ formatting showed in the request path's instruction profile) and at most once per
 * millisecond and snapshot.
 */
export function ageHeaderValue(snapshot: Snapshot, nowMs: number = Date.now()): string {
  if (lastAge.snapshot === snapshot && lastAge.nowMs === nowMs) return lastAge.text;
  const ms = Math.max(0, nowMs - snapshot.ingestedAtMs);
  let text: string;
  if (Number.isInteger(ms) && ms < 1e15) {
    const fraction = ms % 1000;
    text = `${(ms - fraction) / 1000}.${fraction < 10 ? '00' : fraction < 100 ? '0' : ''}${fraction}`;
  } else text = snapshot.ageSeconds(nowMs).toFixed(3);
  lastAge.snapshot = snapshot;
  lastAge.nowMs = nowMs;
  lastAge.text = text;
  return text;
}

/**
 * Freshness headers every answer built from a snapshot carries, as a flat `[name, value, ...]` list
 * (the form node:http's `writeHead` takes without copying; the read fast path sends it as is), with
 * the JSON content type and length when `jsonLength` is given.
 */
export function snapshotHeaderList(snapshot: Snapshot, jsonLength?: number): string[] {
  const list = ['etag', snapshot.etag, 'last-modified', snapshot.lastModified, SNAPSHOT_AGE_HEADER, ageHeaderValue(snapshot), 'cache-control', 'no-cache'];
  if (jsonLength !== undefined) list.push('content-type', JSON_TYPE, 'content-length', String(jsonLength));
  return list;
}

/** Sets the freshness headers of `snapshot` on a Fastify reply. */
export function setSnapshotHeaders(reply: FastifyReply, snapshot: Snapshot): void {
  void reply.headers({ etag: snapshot.etag, 'last-modified': snapshot.lastModified, [SNAPSHOT_AGE_HEADER]: ageHeaderValue(snapshot), 'cache-control': 'no-cache' });
}

/** The GetMetric body. Ids and names passed the schema's patterns, so they need no JSON escaping. */
export function getMetricJson(switchId: string, metric: string, value: number, snapshot: Snapshot): string {
  return `{"switch":"${switchId}","metric":"${metric}","value":${jsonNumber(value)},"timestamp":${snapshot.timestamp}}`;
}

/**
 * True when the client already holds this snapshot's answer: its `If-None-Match` names the ETag, or,
 * without `If-None-Match` (which takes precedence, RFC 9110 section 13.2.2), its `If-Modified-Since`
 * is not before the snapshot's `Last-Modified` (whole seconds, as that header is sent).
 */
export function notModified(headers: IncomingHttpHeaders, snapshot: Snapshot): boolean {
  const ifNoneMatch = headers['if-none-match'];
  if (ifNoneMatch !== undefined) return etagListMatches(ifNoneMatch, snapshot.etag);
  const ifModifiedSince = headers['if-modified-since'];
  if (ifModifiedSince === undefined) return false;
  const since = Date.parse(ifModifiedSince);
  return Number.isFinite(since) && snapshot.timestamp * 1000 <= since;
}

/** The current snapshot, or the 503 for "nothing ingested yet". */
export function currentOrUnavailable(reader: SnapshotReader): Snapshot {
  const snapshot = reader.current();
  if (snapshot === undefined) throw noSnapshotYet();
  return snapshot;
}

/** The seed's GetMetric path. */
export const GET_METRIC_PATH = '/telemetry/GetMetric';
/** The seed's ListMetrics path. */
export const LIST_METRICS_PATH = '/telemetry/ListMetrics';

/** GetMetric and ListMetrics, answered from `reader`'s current snapshot and the view registry. */
export function registerTelemetryRoutes(app: FastifyInstance, reader: SnapshotReader, views: ViewRegistry, logger: Logger): void {
  app.get(GET_METRIC_PATH, (request, reply) => {
    const snapshot = currentOrUnavailable(reader);
    setSnapshotHeaders(reply, snapshot);
    const query = request.query as Query;
    const switchId = switchParam(query);
    const metric = metricParam(query);
    // One lookup on the success path; only a miss asks which of the two was unknown.
    const value = snapshot.value(switchId, metric);
    if (value === undefined) throw notFound(snapshot.hasSwitch(switchId) ? `unknown metric '${metric}'` : `unknown switch '${switchId}'`);
    if (notModified(request.headers, snapshot)) return reply.code(304).send();
    return reply.type(JSON_TYPE).send(getMetricJson(switchId, metric, value, snapshot));
  });

  app.get(LIST_METRICS_PATH, async (request, reply) => {
    const snapshot = currentOrUnavailable(reader);
    const filter = listMetricsFilter(request.query as Query, snapshot);
    setSnapshotHeaders(reply, snapshot);
    void reply.header('vary', LIST_METRICS_VARY);
    if (notModified(request.headers, snapshot)) return reply.code(304).send();
    // JSON unless Accept names the Arrow stream (SPEC, "Binary transport"). The Arrow body is sent
    // as is: it is mostly binary numbers, which gzip shrinks far less than JSON text.
    const arrow = prefersArrow(request.headers.accept, 'application/json');
    // A filtered answer is small and made per request; only the whole body is prepared per snapshot.
    if (filter !== undefined) {
      if (arrow) return reply.type(ARROW_STREAM_TYPE).send(await filteredListMetricsArrow(snapshot, filter));
      return reply.type(JSON_TYPE).send(filteredListMetricsJson(snapshot, filter));
    }
    const encoding = arrow ? undefined : preferredEncoding(request.headers['accept-encoding'], LIST_METRICS_ENCODINGS);
    const view = arrow ? LIST_METRICS_ARROW_VIEW : encoding === undefined ? LIST_METRICS_VIEW : ENCODED_LIST_METRICS_VIEW[encoding];
    // Rendered (and compressed) with the snapshot, or now, on the first request for it, by the render worker.
    let body = views.ready(view, snapshot);
    if (body === undefined) {
      try {
        body = await views.body(view, snapshot);
      } catch (err) {
        logger.error(`could not render ListMetrics for snapshot v${snapshot.version}: ${err instanceof Error ? err.message : String(err)}`);
        throw new HttpError(503, 'the ListMetrics body could not be rendered; retry', { 'retry-after': '1' });
      }
    }
    if (encoding !== undefined) void reply.header('content-encoding', encoding);
    return reply.type(arrow ? ARROW_STREAM_TYPE : JSON_TYPE).send(body);
  });
}

/** Content codings ListMetrics keeps ready, in order of preference (brotli is smaller and faster here). */
export const LIST_METRICS_ENCODINGS = ['br', 'gzip'] as const;

/** The view of each coding. */
const ENCODED_LIST_METRICS_VIEW = { br: 'list-metrics.json.br', gzip: 'list-metrics.json.gz' } as const;

/** The switches and metrics a ListMetrics request asked for, each in snapshot order. */
interface ListMetricsFilter {
  readonly switchIds: readonly string[];
  readonly metrics: readonly string[];
}

/**
 * The `switch=sw1,sw2` and `metric=a,b` filters (each parameter at most once, comma lists; as
 * GetMetric: 400 for a malformed or empty item, 404 naming the first unknown one), or undefined when
 * neither is given.
 */
function listMetricsFilter(query: Query, snapshot: Snapshot): ListMetricsFilter | undefined {
  const hasSwitch = Object.prototype.hasOwnProperty.call(query, 'switch');
  const hasMetric = Object.prototype.hasOwnProperty.call(query, 'metric');
  if (!hasSwitch && !hasMetric) return undefined;
  let switchIds = snapshot.switchIds;
  if (hasSwitch) {
    const wanted = new Set(commaList(query, 'switch', isValidSwitchId, 'switch id (letters, digits and _ . : -, at most 64)'));
    for (const id of wanted) if (!snapshot.hasSwitch(id)) throw notFound(`unknown switch '${id}'`);
    switchIds = wanted.size * 8 < switchIds.length ? [...wanted].sort((a, b) => snapshot.rowOf(a) - snapshot.rowOf(b)) : switchIds.filter((id) => wanted.has(id));
  }
  let metrics = snapshot.metrics;
  if (hasMetric) {
    const wanted = new Set(commaList(query, 'metric', isValidMetricName, 'metric name (letters, digits and _, at most 64)'));
    for (const name of wanted) if (!snapshot.hasMetric(name)) throw notFound(`unknown metric '${name}'`);
    metrics = metrics.filter((name) => wanted.has(name));
  }
  return { switchIds, metrics };
}

/** The items of a comma-list parameter, each checked; 400 for an empty or malformed item. */
export function commaList(query: Query, name: string, valid: (item: string) => boolean, what: string): string[] {
  const items = singleParam(query, name).split(',');
  for (const item of items) {
    if (item === '') throw badRequest(`query parameter '${name}' has an empty item`);
    if (!valid(item)) throw badRequest(`query parameter '${name}' holds an item that is not a valid ${what}`);
  }
  return items;
}

/** The ListMetrics JSON of `filter`'s switches and metrics: the same text as the whole body's parts. */
function filteredListMetricsJson(snapshot: Snapshot, filter: ListMetricsFilter): string {
  const columns = filter.metrics.map((name) => snapshot.metrics.indexOf(name));
  const tail = `"${TIMESTAMP_FIELD}":${snapshot.timestamp}}`;
  const parts: string[] = [];
  for (const id of filter.switchIds) {
    const row = snapshot.row(id)!;
    let entry = `"${id}":{`;
    for (const [i, column] of columns.entries()) entry += `"${filter.metrics[i]}":${jsonNumber(row[column]!)},`;
    parts.push(entry + tail);
  }
  return `{${parts.join(',')}}`;
}

/**
 * The ListMetrics Arrow stream of `filter`'s switches and metrics: the same columns as the whole
 * body's parts. The encoder is loaded on the first such request: the main thread otherwise never
 * needs the apache-arrow library (whole bodies are rendered in the render worker).
 */
async function filteredListMetricsArrow(snapshot: Snapshot, filter: ListMetricsFilter): Promise<Buffer> {
  const { arrowIdsOf, encodeListMetricsArrow } = await import('../views/list-metrics-arrow.js');
  const rows = filter.switchIds.length;
  const allDecimals = snapshot.decimals;
  const metrics = filter.metrics.map((name) => {
    const c = snapshot.metrics.indexOf(name);
    const values = new Float64Array(rows);
    for (const [r, id] of filter.switchIds.entries()) values[r] = snapshot.row(id)![c]!;
    return { name, decimals: allDecimals[c]!, values };
  });
  const bytes = encodeListMetricsArrow(rows, arrowIdsOf(filter.switchIds), metrics, snapshot.timestamp);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
