/**
 * The seed's REST API. Each handler reads the current snapshot once and answers from it alone, so an
 * answer never mixes two snapshots. ListMetrics sends bytes serialized once per snapshot (with it, or
 * on the first request for it: views/list-metrics-view.ts); GetMetric is two map lookups and one
 * short string. Plain successes of both are usually answered by the read fast path instead
 * (fast-read-path.ts), with the same bytes.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { etagListMatches } from '../../../common/http-etag.js';
import type { SnapshotStore } from '../snapshot/snapshot-store.js';
import type { Snapshot } from '../snapshot/snapshot.js';
import { jsonNumber } from '../views/json-number.js';
import { HttpError, noSnapshotYet, notFound } from './errors.js';
import type { ListMetricsView } from '../views/list-metrics-view.js';
import { metricParam, switchParam, type Query } from './query-params.js';

export const JSON_TYPE = 'application/json; charset=utf-8';
export const SNAPSHOT_AGE_HEADER = 'x-snapshot-age-seconds';

/**
 * Freshness headers every answer built from a snapshot carries, as a flat `[name, value, ...]` list
 * (the form node:http's `writeHead` takes without copying; the read fast path sends it as is).
 */
export function snapshotHeaderList(snapshot: Snapshot): string[] {
  return ['etag', snapshot.etag, 'last-modified', snapshot.lastModified, SNAPSHOT_AGE_HEADER, snapshot.ageSeconds().toFixed(3), 'cache-control', 'no-cache'];
}

export function setSnapshotHeaders(reply: FastifyReply, snapshot: Snapshot): void {
  void reply.headers(headerObject(snapshot));
}

function headerObject(snapshot: Snapshot): Record<string, string> {
  const list = snapshotHeaderList(snapshot);
  const headers: Record<string, string> = {};
  for (let i = 0; i < list.length; i += 2) headers[list[i]!] = list[i + 1]!;
  return headers;
}

/** The GetMetric body. Ids and names passed the schema's patterns, so they need no JSON escaping. */
export function getMetricJson(switchId: string, metric: string, value: number, snapshot: Snapshot): string {
  return `{"switch":"${switchId}","metric":"${metric}","value":${jsonNumber(value)},"timestamp":${snapshot.timestamp}}`;
}

/** True when the client already holds this snapshot's answer (`If-None-Match`). */
function notModified(ifNoneMatch: string | undefined, snapshot: Snapshot): boolean {
  return ifNoneMatch !== undefined && etagListMatches(ifNoneMatch, snapshot.etag);
}

export function currentOrUnavailable(store: SnapshotStore): Snapshot {
  const snapshot = store.current();
  if (snapshot === undefined) throw noSnapshotYet();
  return snapshot;
}

export const GET_METRIC_PATH = '/telemetry/GetMetric';
export const LIST_METRICS_PATH = '/telemetry/ListMetrics';

/** A render superseded by a newer snapshot is retried on that one; this many times at most. */
const LIST_METRICS_ATTEMPTS = 3;

export function registerTelemetryRoutes(app: FastifyInstance, store: SnapshotStore, listMetrics: ListMetricsView): void {
  app.get(GET_METRIC_PATH, (request, reply) => {
    const snapshot = currentOrUnavailable(store);
    setSnapshotHeaders(reply, snapshot);
    const query = request.query as Query;
    const switchId = switchParam(query);
    const metric = metricParam(query);
    // One lookup on the success path; only a miss asks which of the two was unknown.
    const value = snapshot.value(switchId, metric);
    if (value === undefined) throw notFound(snapshot.hasSwitch(switchId) ? `unknown metric '${metric}'` : `unknown switch '${switchId}'`);
    if (notModified(request.headers['if-none-match'], snapshot)) return reply.code(304).send();
    return reply.type(JSON_TYPE).send(getMetricJson(switchId, metric, value, snapshot));
  });

  app.get(LIST_METRICS_PATH, async (request, reply) => {
    for (let attempt = 1; ; attempt++) {
      const snapshot = currentOrUnavailable(store);
      if (notModified(request.headers['if-none-match'], snapshot)) {
        setSnapshotHeaders(reply, snapshot);
        return reply.code(304).send();
      }
      // Rendered with the snapshot, or now (first request for it) by the worker; undefined only when
      // a newer snapshot was published before the render could start: answer from that one.
      const body = listMetrics.ready(snapshot) ?? (await listMetrics.body(snapshot));
      if (body !== undefined) {
        setSnapshotHeaders(reply, snapshot);
        return reply.type(JSON_TYPE).send(body);
      }
      if (attempt === LIST_METRICS_ATTEMPTS) throw new HttpError(503, 'the snapshot changed while its ListMetrics body was rendered; retry', { 'retry-after': '1' });
    }
  });
}
