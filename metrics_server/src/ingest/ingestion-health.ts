/**
 * Ingestion's health as data, not log lines (as Prometheus keeps a target's health on the target):
 * what the last delivery did, the last error and when, consecutive failures, totals by outcome, rows
 * rejected by reason, and when the served data was last confirmed current. Status, readiness and
 * the Prometheus exporter read it; only the ingester writes it. Nothing here is specific to polling:
 * a poll, a push-stream event or a store follower's update is one delivery.
 */
import type { Snapshot } from '../snapshot/snapshot.js';
import { ROW_REJECT_REASONS, emptyRejectCounts, type BodyFormat, type RowRejectCounts } from './parse-outcome.js';

/** How a delivery ended: a new snapshot, the current one confirmed (a `304`), or a failure. */
export const INGEST_OUTCOMES = ['ok', 'not_modified', 'failed'] as const;

/** One of INGEST_OUTCOMES. */
export type IngestOutcome = (typeof INGEST_OUTCOMES)[number];

/** What one delivery did. */
export interface IngestRecord {
  readonly outcome: IngestOutcome;
  /** Unix ms at which the source started this delivery (a poll: the fetch). */
  readonly startedAtMs: number;
  /** From that start to the swap, the confirmation or the failure. */
  readonly durationMs: number;
  /** Body bytes received (0 for a `304` or a failure before the body). */
  readonly bytes: number;
  readonly error?: string;
  /** Version of the snapshot published (ok only). */
  readonly version?: number;
  readonly switches?: number;
  readonly rejected?: RowRejectCounts;
  /** How the body was encoded, when there was one (with `ingestion.format` auto, the answer decides). */
  readonly format?: BodyFormat;
}

/** Told of every record, after it is counted. */
export type IngestListener = (record: IngestRecord) => void;

/** The running totals and the latest of everything. */
export class IngestionHealth {
  lastRecord: IngestRecord | undefined;
  /** Unix ms of the end of the last delivery that succeeded (new snapshot or confirmation). */
  lastSuccessAtMs: number | undefined;
  lastError: { readonly message: string; readonly atMs: number } | undefined;
  consecutiveFailures = 0;
  readonly outcomes: Record<IngestOutcome, number> = { ok: 0, not_modified: 0, failed: 0 };
  /** Cumulative since start. */
  readonly rowsRejected: RowRejectCounts = emptyRejectCounts();
  private readonly listeners = new Set<IngestListener>();

  record(record: IngestRecord): void {
    this.lastRecord = record;
    this.outcomes[record.outcome] += 1;
    if (record.outcome === 'failed') {
      this.consecutiveFailures += 1;
      this.lastError = { message: record.error ?? 'unknown error', atMs: record.startedAtMs };
    } else {
      this.consecutiveFailures = 0;
      this.lastSuccessAtMs = record.startedAtMs + record.durationMs;
    }
    if (record.rejected !== undefined) {
      for (const reason of ROW_REJECT_REASONS) this.rowsRejected[reason] += record.rejected[reason];
    }
    for (const listener of this.listeners) listener(record);
  }

  /** Subscribes to records; returns the unsubscribe function. */
  onRecord(listener: IngestListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/**
 * When the served data was last confirmed current, in Unix ms: the later of its own ingestion and
 * the end of the last successful delivery (a new snapshot, or a `304` saying the data has not
 * changed). Readiness and the stale alert are about this, not the data's own age: a generator that
 * ticks every 10 s polled every second answers 304 nine times in ten, and the data is current.
 */
export function confirmedCurrentAtMs(snapshot: Snapshot, health: IngestionHealth): number {
  return Math.max(snapshot.ingestedAtMs, health.lastSuccessAtMs ?? Number.NEGATIVE_INFINITY);
}
