/**
 * The ingestion loop: every interval, fetch → prepare (worker) → assemble → publish, then record the
 * outcome. Like a Prometheus scrape loop, a failed cycle never throws out of the loop: it is recorded
 * and logged with its reason, the current snapshot stays, and the loop carries on. Polls never
 * overlap: the next one is scheduled only when the current one has finished, at the next tick of a
 * fixed-rate schedule (or at once if the cycle overran its interval).
 */
import type { Logger } from '../../../common/logger.js';
import { assembleSnapshot } from '../snapshot/assemble.js';
import type { SnapshotStore } from '../snapshot/snapshot-store.js';
import { FetchError, fetchCounters } from './fetch-counters.js';
import type { IngestionHealth, PollRecord } from './ingestion-health.js';
import type { SnapshotPreparer } from './snapshot-preparer.js';
import { ROW_REJECT_REASONS, type RowRejectCounts } from './csv-parser.js';

/** Retry delay while no snapshot exists yet. */
export const STARTUP_RETRY_MS = 1000;

export interface PollerOptions {
  readonly url: URL;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly maxBodyBytes: number;
}

export interface PollerDeps {
  readonly preparer: SnapshotPreparer;
  readonly store: SnapshotStore;
  readonly health: IngestionHealth;
  readonly logger: Logger;
  readonly now?: () => number;
  /** Whether to have the ListMetrics body rendered with the snapshot (views/list-metrics-view.ts); default yes. */
  readonly listMetricsWanted?: () => boolean;
}

export class Poller {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<PollRecord> | undefined;
  private stopped = true;
  private etag: string | undefined;
  private nextVersion: number;
  private readonly now: () => number;

  constructor(
    private readonly options: PollerOptions,
    private readonly deps: PollerDeps,
  ) {
    this.now = deps.now ?? Date.now;
    this.nextVersion = (deps.store.current()?.version ?? 0) + 1;
  }

  /** Starts the loop; the first poll happens at once. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(0);
  }

  /** Stops scheduling and waits for a poll in flight to finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** Runs one cycle now (tests; also what the loop calls). Never rejects. */
  pollOnce(): Promise<PollRecord> {
    if (this.running !== undefined) return this.running;
    const run = this.cycle().finally(() => {
      this.running = undefined;
    });
    this.running = run;
    return run;
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const startedAt = this.now();
      void this.pollOnce().then(() => {
        if (this.stopped) return;
        const elapsed = this.now() - startedAt;
        // Until the first snapshot exists every API answer is a 503, so retry sooner than the
        // interval (the generator is often still starting when the server comes up).
        const interval = this.deps.store.current() === undefined ? Math.min(this.options.intervalMs, STARTUP_RETRY_MS) : this.options.intervalMs;
        this.schedule(Math.max(0, interval - elapsed));
      });
    }, delayMs);
  }

  private async cycle(): Promise<PollRecord> {
    const { logger, health } = this.deps;
    const startedAtMs = this.now();
    const started = performance.now();
    let bytes = 0;
    let record: PollRecord;
    try {
      const fetched = await fetchCounters(this.options.url, {
        timeoutMs: this.options.timeoutMs,
        maxBodyBytes: this.options.maxBodyBytes,
        ifNoneMatch: this.deps.store.current() !== undefined ? this.etag : undefined,
      });
      if (fetched.kind === 'not_modified') {
        record = { outcome: 'not_modified', startedAtMs, durationMs: performance.now() - started, bytes: 0 };
        logger.debug('generator answered 304 Not Modified; snapshot kept', { url: this.options.url.href });
      } else {
        bytes = fetched.body.byteLength;
        const timestamp = Math.floor(startedAtMs / 1000);
        const prepared = await this.deps.preparer.prepare(fetched.body, timestamp, { listMetrics: this.deps.listMetricsWanted?.() ?? true });
        if (!prepared.ok) {
          throw new CycleError(`unusable CSV: ${prepared.reason}`, prepared.rejected);
        }
        const version = this.nextVersion++;
        const snapshot = assembleSnapshot(prepared.snapshot, version, startedAtMs, this.deps.store.current());
        this.deps.store.publish(snapshot);
        this.etag = fetched.etag;
        const rejected = prepared.snapshot.rejected;
        record = { outcome: 'ok', startedAtMs, durationMs: performance.now() - started, bytes, version, switches: snapshot.switchCount, rejected };
        const rejectedTotal = sumRejected(rejected);
        if (rejectedTotal > 0) {
          logger.warning(`ingested snapshot v${version} with ${snapshot.switchCount} switches; skipped ${rejectedTotal} bad rows`, {
            url: this.options.url.href,
            ...nonZero(rejected),
          });
        } else {
          logger.debug(`ingested snapshot v${version}`, { switches: snapshot.switchCount, bytes, duration_ms: round2(record.durationMs) });
        }
      }
    } catch (err) {
      const message = err instanceof FetchError || err instanceof CycleError ? err.message : `internal error: ${err instanceof Error ? err.message : String(err)}`;
      record = {
        outcome: 'failed',
        startedAtMs,
        durationMs: performance.now() - started,
        bytes,
        error: message,
        ...(err instanceof CycleError && err.rejected !== undefined ? { rejected: err.rejected } : {}),
      };
      const current = this.deps.store.current();
      logger.error(`poll of ${this.options.url.href} failed: ${message}; ${current === undefined ? 'no snapshot yet' : `keeping snapshot v${current.version}`}`, {
        consecutive_failures: health.consecutiveFailures + 1,
      });
    }
    health.record(record);
    return record;
  }
}

class CycleError extends Error {
  constructor(
    message: string,
    readonly rejected?: RowRejectCounts,
  ) {
    super(message);
  }
}

function sumRejected(counts: RowRejectCounts): number {
  return ROW_REJECT_REASONS.reduce((sum, reason) => sum + counts[reason], 0);
}

function nonZero(counts: RowRejectCounts): Record<string, number> {
  const out: Record<string, number> = {};
  for (const reason of ROW_REJECT_REASONS) if (counts[reason] > 0) out[reason] = counts[reason];
  return out;
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
