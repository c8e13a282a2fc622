/**
 * The poller's health as data, not log lines: what the last poll did, the last error and when,
 * consecutive failures, totals by outcome and rows rejected by reason. The Status endpoint, readiness
 * and the Prometheus exporter read it; only the poller writes it.
 */
import { ROW_REJECT_REASONS, emptyRejectCounts, type RowRejectCounts } from './csv-parser.js';

export const POLL_OUTCOMES = ['ok', 'not_modified', 'failed'] as const;
export type PollOutcome = (typeof POLL_OUTCOMES)[number];

export interface PollRecord {
  readonly outcome: PollOutcome;
  readonly startedAtMs: number;
  readonly durationMs: number;
  readonly bytes: number;
  readonly error?: string;
  /** Version of the snapshot published by this poll (ok only). */
  readonly version?: number;
  readonly switches?: number;
  readonly rejected?: RowRejectCounts;
}

export type PollListener = (record: PollRecord) => void;

export class IngestionHealth {
  lastPoll: PollRecord | undefined;
  lastSuccessAtMs: number | undefined;
  lastError: { readonly message: string; readonly atMs: number } | undefined;
  consecutiveFailures = 0;
  readonly polls: Record<PollOutcome, number> = { ok: 0, not_modified: 0, failed: 0 };
  /** Cumulative since start. */
  readonly rowsRejected: RowRejectCounts = emptyRejectCounts();
  private readonly listeners = new Set<PollListener>();

  record(poll: PollRecord): void {
    this.lastPoll = poll;
    this.polls[poll.outcome] += 1;
    if (poll.outcome === 'failed') {
      this.consecutiveFailures += 1;
      this.lastError = { message: poll.error ?? 'unknown error', atMs: poll.startedAtMs };
    } else {
      this.consecutiveFailures = 0;
      this.lastSuccessAtMs = poll.startedAtMs + poll.durationMs;
    }
    if (poll.rejected !== undefined) {
      for (const reason of ROW_REJECT_REASONS) this.rowsRejected[reason] += poll.rejected[reason];
    }
    for (const listener of this.listeners) listener(poll);
  }

  onPoll(listener: PollListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
