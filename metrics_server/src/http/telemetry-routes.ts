/**
 * The seed's REST API. Each handler reads the current snapshot once and answers from it alone, so an
 * answer never mixes two snapshots. ListMetrics sends the bytes serialized when the snapshot was made;
 * GetMetric is two map lookups and one short string.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { etagListMatches } from '../../../common/http-etag.js';
import type { SnapshotStore } from '../snapshot/snapshot-store.js';
import type { Snapshot } from '../snapshot/snapshot.js';
import { jsonNumber } from '../views/json-number.js';
import { noSnapshotYet, notFound } from './errors.js';
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
  const list = snapshotHeaderList(snapshot);
  for (let i = 0; i < list.length; i += 2) reply.header(list[i]!, list[i + 1]);
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

export function registerTelemetryRoutes(app: FastifyInstance, store: SnapshotStore): void {
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

  app.get(LIST_METRICS_PATH, (request, reply) => {
    const snapshot = currentOrUnavailable(store);
    setSnapshotHeaders(reply, snapshot);
    if (notModified(request.headers['if-none-match'], snapshot)) return reply.code(304).send();
    return reply.type(JSON_TYPE).send(snapshot.views.listMetricsJson);
  });
}
