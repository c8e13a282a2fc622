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

/** Freshness headers every answer built from a snapshot carries. */
export function setSnapshotHeaders(reply: FastifyReply, snapshot: Snapshot): void {
  reply.header('etag', snapshot.etag);
  reply.header('last-modified', snapshot.lastModified);
  reply.header(SNAPSHOT_AGE_HEADER, snapshot.ageSeconds().toFixed(3));
  reply.header('cache-control', 'no-cache');
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

export function registerTelemetryRoutes(app: FastifyInstance, store: SnapshotStore): void {
  app.get('/telemetry/GetMetric', (request, reply) => {
    const snapshot = currentOrUnavailable(store);
    setSnapshotHeaders(reply, snapshot);
    const query = request.query as Query;
    const switchId = switchParam(query);
    const metric = metricParam(query);
    // One lookup on the success path; only a miss asks which of the two was unknown.
    const value = snapshot.value(switchId, metric);
    if (value === undefined) throw notFound(snapshot.hasSwitch(switchId) ? `unknown metric '${metric}'` : `unknown switch '${switchId}'`);
    if (notModified(request.headers['if-none-match'], snapshot)) return reply.code(304).send();
    return reply
      .type(JSON_TYPE)
      .send(`{"switch":"${switchId}","metric":"${metric}","value":${jsonNumber(value)},"timestamp":${snapshot.timestamp}}`);
  });

  app.get('/telemetry/ListMetrics', (request, reply) => {
    const snapshot = currentOrUnavailable(store);
    setSnapshotHeaders(reply, snapshot);
    if (notModified(request.headers['if-none-match'], snapshot)) return reply.code(304).send();
    return reply.type(JSON_TYPE).send(snapshot.views.listMetricsJson);
  });
}
