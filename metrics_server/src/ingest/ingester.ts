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
import { formatLabel, nonZeroRejects, totalRejected, type BodyEncoding, type BodyFormat, type RowRejectCounts } from './parse-outcome.js';
import type { PrepareResult } from './prepare.js';
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

/** While the same failure repeats, it is logged again at most this often (a summary line). */
export const REPEATED_FAILURE_LOG_INTERVAL_MS = 60_000;

/** An outage of one source, as its log lines need it. */
interface Outage {
  reason: string;
  readonly sinceMs: number;
  failures: number;
  /** Failures since the last line written about this outage. */
  unlogged: number;
  lastLoggedAtMs: number;
}

/** `3m 12s`, `45s`, `1h 2m`: a duration for a log line. */
function humanDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

/** Turns deliveries into snapshots and health records. */
export class Ingester {
  /**
   * Outages by source label. A generator down for an hour used to write one ERROR line per poll (every
   * second before the first snapshot); now: the first failure, then a summary at most once a minute
   * while the same reason repeats (a new reason is logged at once), and one line on recovery with
   * how long it lasted. Health keeps the exact counts.
   */
  private readonly outages = new Map<string, Outage>();
  private readonly now: () => number;

  constructor(private readonly deps: IngesterDeps & { readonly now?: () => number }) {
    this.now = deps.now ?? Date.now;
  }

  /**
   * A body (CSV unless told otherwise; in base64 for a push stream's Arrow event) to parse and
   * publish. Never rejects: a failure is a `failed` record.
   */
  ingestBody(body: Uint8Array, delivery: Delivery, format: BodyFormat = 'csv', encoding: BodyEncoding = 'raw'): Promise<IngestRecord> {
    return this.ingest(body.byteLength, () => this.deps.preparer.prepare(body, format, encoding), delivery, `unusable ${formatLabel(format)}: `, format);
  }

  /**
   * A stream's delta (CSV rows, or an Arrow stream of the changed rows), applied to the current
   * snapshot and published as the next one.
   * Refused whole (a `failed` record, the current snapshot kept) when it does not fit the current
   * snapshot, or when another snapshot became current while it was being applied: the source then
   * asks for a full body.
   */
  ingestDelta(body: Uint8Array, delivery: Delivery, format: BodyFormat = 'csv', encoding: BodyEncoding = 'raw'): Promise<IngestRecord> {
    const base = this.deps.reader.current();
    if (base === undefined) return Promise.resolve(this.failed('a delta arrived before any snapshot', delivery, body.byteLength));
    return this.ingest(body.byteLength, () => this.deps.preparer.prepareDelta(body, base.block, format, encoding), delivery, format === 'csv' ? 'delta not applicable: ' : `delta not applicable (${formatLabel(format)}): `, format, () =>
      this.deps.reader.current() === base ? undefined : 'delta not applicable: the snapshot changed while it was applied',
    );
  }

  private async ingest(bytes: number, prepare: () => Promise<PrepareResult>, delivery: Delivery, reasonPrefix: string, format: BodyFormat, stale?: () => string | undefined): Promise<IngestRecord> {
    let prepared;
    try {
      prepared = await prepare();
    } catch (err) {
      return this.failed(internal(err), delivery, bytes, undefined, format);
    }
    if (!prepared.ok) return this.failed(`${reasonPrefix}${prepared.reason}`, delivery, bytes, prepared.rejected, format);
    const staleReason = stale?.();
    if (staleReason !== undefined) return this.failed(staleReason, delivery, bytes, undefined, format);
    let snapshot;
    try {
      snapshot = await this.deps.publisher.publish({ block: prepared.block, ingestedAtMs: delivery.startedAtMs });
    } catch (err) {
      return this.failed(`publish refused: ${err instanceof Error ? err.message : String(err)}`, delivery, bytes, prepared.rejected, format);
    }
    const { version } = snapshot;
    const { rejected } = prepared;
    const record: IngestRecord = { outcome: 'ok', startedAtMs: delivery.startedAtMs, durationMs: performance.now() - delivery.startedAt, bytes, version, switches: snapshot.switchCount, rejected, format };
    this.recovered(delivery);
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
    this.recovered(delivery);
    this.deps.health.record(record);
    return record;
  }

  /** The source could not deliver (connection, timeout, HTTP status, size limit): logged and recorded. */
  failed(message: string, delivery: Delivery, bytes = 0, rejected?: RowRejectCounts, format?: BodyFormat): IngestRecord {
    const { health, reader } = this.deps;
    const record: IngestRecord = {
      outcome: 'failed',
      startedAtMs: delivery.startedAtMs,
      durationMs: performance.now() - delivery.startedAt,
      bytes,
      error: message,
      ...(rejected !== undefined ? { rejected } : {}),
      ...(format !== undefined ? { format } : {}),
    };
    const current = reader.current();
    const keeping = current === undefined ? 'no snapshot yet' : `keeping snapshot v${current.version}`;
    const fields = { consecutive_failures: health.consecutiveFailures + 1 };
    const nowMs = this.now();
    const outage = this.outages.get(delivery.label);
    if (outage === undefined || outage.reason !== message) {
      // The first failure, or a different one: said at once.
      delivery.logger.error(`${delivery.label} failed: ${message}; ${keeping}`, fields);
      if (outage === undefined) this.outages.set(delivery.label, { reason: message, sinceMs: delivery.startedAtMs, failures: 1, unlogged: 0, lastLoggedAtMs: nowMs });
      else Object.assign(outage, { reason: message, failures: outage.failures + 1, unlogged: 0, lastLoggedAtMs: nowMs });
    } else {
      outage.failures += 1;
      outage.unlogged += 1;
      if (nowMs - outage.lastLoggedAtMs >= REPEATED_FAILURE_LOG_INTERVAL_MS) {
        delivery.logger.error(`${delivery.label} still failing: ${message}; ${outage.unlogged} more failures since the last line, ${outage.failures} in ${humanDuration(nowMs - outage.sinceMs)}; ${keeping}`, fields);
        outage.unlogged = 0;
        outage.lastLoggedAtMs = nowMs;
      } else {
        delivery.logger.debug(`${delivery.label} failed: ${message}; ${keeping}`, fields);
      }
    }
    health.record(record);
    return record;
  }

  /** Ends an outage of the delivering source, if there was one, with one line saying how long it lasted. */
  private recovered(delivery: Delivery): void {
    const outage = this.outages.get(delivery.label);
    if (outage === undefined) return;
    this.outages.delete(delivery.label);
    delivery.logger.info(`${delivery.label} recovered after ${humanDuration(this.now() - outage.sinceMs)} (${outage.failures} failed in a row, last: ${outage.reason})`);
  }
}

function internal(err: unknown): string {
  return `internal error: ${err instanceof Error ? err.message : String(err)}`;
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
