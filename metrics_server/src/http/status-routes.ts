/**
 * Operations endpoints: `/telemetry/Status` (the snapshot and the ingestion's health as JSON),
 * `/healthz` (the process answers) and `/readyz` (a snapshot exists and was confirmed current
 * recently enough: by a new snapshot or a `304`, ingest/ingestion-health.ts `confirmedCurrentAtMs`).
 */
import type { FastifyInstance } from 'fastify';
import type { HistoryQueries } from '../history/history-service.js';
import { confirmedCurrentAtMs, type IngestionHealth } from '../ingest/ingestion-health.js';
import { eventLoopDelay } from '../perf/event-loop-delay.js';
import type { Snapshot } from '../snapshot/snapshot.js';
import type { SnapshotReader } from '../store/reader.js';
import type { DescribedStore, StoreStatus } from '../store/store-status.js';
import { errorJson } from './errors.js';
import { READINESS_PATH } from './request-log.js';
import { JSON_TYPE, SNAPSHOT_AGE_HEADER, ageHeaderValue } from './telemetry-routes.js';

/** What Status and readiness read. */
export interface StatusContext {
  readonly reader: SnapshotReader;
  readonly health: IngestionHealth;
  readonly generatorUrl: string;
  readonly pollIntervalMs: number;
  readonly readinessMaxAgeMs: number;
  /** `poll` or `push` (Status `ingestion.mode`); poll when absent. */
  readonly ingestionMode?: string;
  /** In push mode, the stream's state (Status `ingestion.stream`). */
  readonly streamStatus?: () => object;
  /** `/telemetry/stream`'s clients (Status `streams`). */
  readonly streamClients?: () => object;
  /** The history and its limits, when config `history.enabled` is on. */
  readonly history?: { readonly store: Pick<HistoryQueries, 'stats'>; readonly retentionSeconds: number; readonly maxMemoryBytes: number; readonly extra?: () => Record<string, unknown> };
  /** The store's own account (Status `store` section); absent: a memory store. */
  readonly store?: DescribedStore;
}

/** Status's `history` section: size, span, and what the memory limit dropped early. */
function historySection(ctx: StatusContext): Record<string, unknown> | null {
  if (ctx.history === undefined) return null;
  const stats = ctx.history.store.stats();
  return {
    retention_seconds: ctx.history.retentionSeconds,
    max_memory_bytes: ctx.history.maxMemoryBytes,
    samples: stats.samples,
    bytes: stats.bytes,
    bytes_per_sample: stats.samples === 0 ? null : round(stats.bytes / stats.samples, 3),
    snapshots: stats.snapshots,
    chunks: stats.chunks,
    oldest_timestamp: stats.oldest,
    newest_timestamp: stats.newest,
    // Samples the memory limit dropped before their retention ran out (oldest first).
    early_drops: { samples: stats.earlyDrops.samples, chunks: stats.earlyDrops.chunks, last_at: stats.earlyDrops.lastAt },
    skipped_snapshots: stats.skipped,
    failed_appends: stats.failedAppends,
    ...(ctx.history.extra?.() ?? {}),
  };
}

const MEMORY_STATUS: StoreStatus = { kind: 'memory', role: 'leader', term: 0, connected: true };

/**
 * When the served data was last confirmed current: by this instance's own polls, or (on a follower of
 * a Redis cluster) by the leader's, as announced through the store.
 */
export function confirmedAtMs(ctx: StatusContext, snapshot: Snapshot): number {
  return Math.max(confirmedCurrentAtMs(snapshot, ctx.health), ctx.store?.confirmedAtMs() ?? Number.NEGATIVE_INFINITY);
}

/** The Status `store` section. */
export function storeSection(status: StoreStatus): Record<string, unknown> {
  return {
    kind: status.kind,
    role: status.role,
    term: status.term,
    connected: status.connected,
    last_error: status.lastError === undefined ? null : { message: status.lastError.message, at: seconds(status.lastError.atMs) },
    last_publish:
      status.lastPublish === undefined
        ? null
        : {
            version: status.lastPublish.version,
            term: status.lastPublish.term,
            outcome: status.lastPublish.outcome,
            at: seconds(status.lastPublish.atMs),
            ...(status.lastPublish.error !== undefined ? { error: status.lastPublish.error } : {}),
          },
    ...(status.details ?? {}),
  };
}

const seconds = (ms: number): number => Math.floor(ms / 1000);
const round = (value: number, digits: number): number => Math.round(value * 10 ** digits) / 10 ** digits;

/** The Status document (README: API reference). */
export function statusDocument(ctx: StatusContext, nowMs: number = Date.now()): Record<string, unknown> {
  const snapshot = ctx.reader.current();
  const { health } = ctx;
  const last = health.lastRecord;
  return {
    snapshot:
      snapshot === undefined
        ? null
        : {
            version: snapshot.version,
            term: snapshot.term,
            ingested_at: snapshot.timestamp,
            age_seconds: round(snapshot.ageSeconds(nowMs), 3),
            confirmed_at: seconds(confirmedAtMs(ctx, snapshot)),
            confirmed_age_seconds: round(Math.max(0, nowMs - confirmedAtMs(ctx, snapshot)) / 1000, 3),
            switches: snapshot.switchCount,
            metrics: snapshot.metrics.length,
            metric_names: snapshot.metrics,
          },
    ingestion: {
      mode: ctx.ingestionMode ?? 'poll',
      ...(ctx.streamStatus !== undefined ? { stream: ctx.streamStatus() } : {}),
      generator_url: ctx.generatorUrl,
      poll_interval_seconds: ctx.pollIntervalMs / 1000,
      last_poll:
        last === undefined
          ? null
          : {
              outcome: last.outcome,
              started_at: seconds(last.startedAtMs),
              duration_ms: round(last.durationMs, 2),
              bytes: last.bytes,
              ...(last.format !== undefined ? { format: last.format } : {}),
              ...(last.error !== undefined ? { error: last.error } : {}),
            },
      last_success_at: health.lastSuccessAtMs === undefined ? null : seconds(health.lastSuccessAtMs),
      last_error: health.lastError === undefined ? null : { message: health.lastError.message, at: seconds(health.lastError.atMs) },
      consecutive_failures: health.consecutiveFailures,
      polls: { ...health.outcomes },
      rows_rejected: { ...health.rowsRejected },
    },
    ...(ctx.streamClients !== undefined ? { streams: ctx.streamClients() } : {}),
    history: historySection(ctx),
    store: storeSection(ctx.store?.status() ?? MEMORY_STATUS),
    // Main-thread event-loop delay in fixed windows (perf/event-loop-delay.ts).
    event_loop: eventLoopDelay.report(),
  };
}

/** Why the server is not ready, or undefined when it is. */
export function notReadyReason(ctx: StatusContext, nowMs: number = Date.now()): string | undefined {
  const snapshot = ctx.reader.current();
  const store = ctx.store?.status();
  // Say why the store cannot help: a follower waits for Redis, not for a poll of its own.
  const storeWhy = store === undefined || store.connected ? '' : `; store ${store.kind} not connected${store.lastError === undefined ? '' : `: ${store.lastError.message}`}`;
  if (snapshot === undefined) return `no snapshot ingested yet${storeWhy}`;
  const unconfirmedMs = nowMs - confirmedAtMs(ctx, snapshot);
  if (unconfirmedMs > ctx.readinessMaxAgeMs) {
    return `snapshot v${snapshot.version} not confirmed current for ${(unconfirmedMs / 1000).toFixed(1)} s (limit ${ctx.readinessMaxAgeMs / 1000} s; the data is ${snapshot.ageSeconds(nowMs).toFixed(1)} s old)${storeWhy}`;
  }
  return undefined;
}

/** `/telemetry/Status`, `/healthz` and `/readyz`. */
export function registerStatusRoutes(app: FastifyInstance, ctx: StatusContext): void {
  eventLoopDelay.start();
  app.get('/telemetry/Status', (_request, reply) => {
    const snapshot = ctx.reader.current();
    // The document changes on every request (ages, event-loop windows), so it carries no validator:
    // an ETag naming the snapshot claimed a sameness the body does not have. The age header stays.
    if (snapshot !== undefined) void reply.header(SNAPSHOT_AGE_HEADER, ageHeaderValue(snapshot));
    return reply.header('cache-control', 'no-store').type(JSON_TYPE).send(JSON.stringify(statusDocument(ctx)));
  });
  app.get('/healthz', (_request, reply) => reply.type(JSON_TYPE).send('{"status":"ok"}'));
  app.get(READINESS_PATH, (_request, reply) => {
    const reason = notReadyReason(ctx);
    if (reason !== undefined) return reply.code(503).type(JSON_TYPE).send(errorJson(`not ready: ${reason}`));
    return reply.type(JSON_TYPE).send('{"status":"ready"}');
  });
}
