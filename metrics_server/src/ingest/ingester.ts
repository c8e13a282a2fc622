/**
 * The one path from a delivered body to a published snapshot: prepare (parse into a column block, in
 * the ingestion worker) → publish (the store numbers it and swaps it in) → record health and log.
 * Every source (a poll today; a push stream and a store follower next) hands its deliveries here, so
 * parsing, validation, rejection accounting, versioning and health are written once.
 *
 * Like a Prometheus scrape loop, a failed delivery never throws: it is recorded and logged with its
 * reason, the current snapshot stays, and the source carries on. Outcome lines are written through
 * the delivering source's logger, so they name the source (`[poller] ...`).
 */
import type { Logger } from '../../../common/logger.js';
import type { SnapshotPublisher } from '../store/publisher.js';
import type { SnapshotReader } from '../store/reader.js';
import type { IngestionHealth, IngestRecord } from './ingestion-health.js';
import { nonZeroRejects, totalRejected, type RowRejectCounts } from './parse-outcome.js';
import type { SnapshotPreparer } from './worker/preparer.js';

/** Who delivered what, for health and log lines. */
export interface Delivery {
  /** Names the delivery in a failure line: `poll of http://127.0.0.1:9001/counters`. */
  readonly label: string;
  /** Where it came from (a URL), as the `url` field of log lines. */
  readonly origin: string;
  /** The source's logger: outcome lines are the source's lines. */
  readonly logger: Logger;
  /** Unix ms at which the source started this delivery: the new snapshot's ingestion time. */
  readonly startedAtMs: number;
  /** `performance.now()` at the same moment, for the duration. */
  readonly startedAt: number;
}

/** What the ingester needs. */
export interface IngesterDeps {
  readonly preparer: SnapshotPreparer;
  readonly publisher: SnapshotPublisher;
  readonly reader: SnapshotReader;
  readonly health: IngestionHealth;
}

/** Turns deliveries into snapshots and health records. */
export class Ingester {
  constructor(private readonly deps: IngesterDeps) {}

  /** A body to parse and publish. Never rejects: a failure is a `failed` record. */
  async ingestBody(body: Uint8Array, delivery: Delivery): Promise<IngestRecord> {
    const bytes = body.byteLength;
    let prepared;
    try {
      prepared = await this.deps.preparer.prepare(body);
    } catch (err) {
      return this.failed(internal(err), delivery, bytes);
    }
    if (!prepared.ok) return this.failed(`unusable CSV: ${prepared.reason}`, delivery, bytes, prepared.rejected);
    let snapshot;
    try {
      snapshot = await this.deps.publisher.publish({ block: prepared.block, ingestedAtMs: delivery.startedAtMs });
    } catch (err) {
      return this.failed(`publish refused: ${err instanceof Error ? err.message : String(err)}`, delivery, bytes, prepared.rejected);
    }
    const { version } = snapshot;
    const { rejected } = prepared;
    const record: IngestRecord = { outcome: 'ok', startedAtMs: delivery.startedAtMs, durationMs: performance.now() - delivery.startedAt, bytes, version, switches: snapshot.switchCount, rejected };
    const rejectedTotal = totalRejected(rejected);
    if (rejectedTotal > 0) {
      delivery.logger.warning(`ingested snapshot v${version} with ${snapshot.switchCount} switches; skipped ${rejectedTotal} bad rows`, { url: delivery.origin, ...nonZeroRejects(rejected) });
    } else {
      delivery.logger.debug(`ingested snapshot v${version}`, { switches: snapshot.switchCount, bytes, duration_ms: round2(record.durationMs) });
    }
    this.deps.health.record(record);
    return record;
  }

  /** The source confirmed the current data is still current (a `304`): nothing to parse. */
  confirmCurrent(delivery: Delivery): IngestRecord {
    const record: IngestRecord = { outcome: 'not_modified', startedAtMs: delivery.startedAtMs, durationMs: performance.now() - delivery.startedAt, bytes: 0 };
    this.deps.health.record(record);
    return record;
  }

  /** The source could not deliver (connection, timeout, HTTP status, size limit): logged and recorded. */
  failed(message: string, delivery: Delivery, bytes = 0, rejected?: RowRejectCounts): IngestRecord {
    const { health, reader } = this.deps;
    const record: IngestRecord = {
      outcome: 'failed',
      startedAtMs: delivery.startedAtMs,
      durationMs: performance.now() - delivery.startedAt,
      bytes,
      error: message,
      ...(rejected !== undefined ? { rejected } : {}),
    };
    const current = reader.current();
    delivery.logger.error(`${delivery.label} failed: ${message}; ${current === undefined ? 'no snapshot yet' : `keeping snapshot v${current.version}`}`, {
      consecutive_failures: health.consecutiveFailures + 1,
    });
    health.record(record);
    return record;
  }
}

function internal(err: unknown): string {
  return `internal error: ${err instanceof Error ? err.message : String(err)}`;
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
