/**
 * The poll source: every interval, a conditional fetch of the generator's counters, handed to the
 * ingester. `format` (config `ingestion.format`) says what to ask for: `csv`, `arrow` (an Arrow IPC
 * stream; an answer in anything else fails the poll, so a generator that cannot serve Arrow is seen
 * at once rather than silently parsed as CSV), or `auto` (ask for Arrow, take CSV too; the answer's
 * `Content-Type` says which parser reads it). Polls never overlap: the next one is scheduled only when the current one has been
 * ingested, at the next tick of a fixed-rate schedule (or at once if the cycle overran its interval).
 * Until the first snapshot exists a failed poll is retried after at most 1 s (the generator is often
 * still starting when the server comes up).
 */
import { ARROW_STREAM_TYPE } from '../../../common/arrow-media.js';
import type { Logger } from '../../../common/logger.js';
import type { IngestRecord } from '../ingest/ingestion-health.js';
import type { Delivery, Ingester } from '../ingest/ingester.js';
import type { BodyFormat } from '../ingest/parse-outcome.js';
import type { SnapshotReader } from '../store/reader.js';
import { FetchError, fetchCounters } from './fetch-counters.js';
import type { TelemetrySource } from './source.js';

/** Retry delay while no snapshot exists yet. */
export const STARTUP_RETRY_MS = 1000;

/** What a poll asks the generator for (SPEC, `ingestion.format`). */
export type IngestionFormat = 'csv' | 'arrow' | 'auto';

/** Every IngestionFormat, for config validation. */
export const INGESTION_FORMATS: readonly IngestionFormat[] = ['csv', 'arrow', 'auto'];

/** The `Accept` header of each format. */
const ACCEPT: Readonly<Record<IngestionFormat, string>> = {
  csv: 'text/csv',
  arrow: ARROW_STREAM_TYPE,
  auto: `${ARROW_STREAM_TYPE}, text/csv;q=0.5`,
};

/** Where and how often to poll. */
export interface PollSourceOptions {
  readonly url: URL;
  /** What to ask for; `csv` when absent. */
  readonly format?: IngestionFormat;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly maxBodyBytes: number;
}

/** What the poll source hands to and reads from. */
export interface PollSourceDeps {
  readonly ingester: Ingester;
  /** Whether a snapshot exists (conditional requests and the start-up retry depend on it). */
  readonly reader: SnapshotReader;
  readonly logger: Logger;
  readonly now?: () => number;
}

/** Polls the generator's `/counters` on a fixed-rate schedule. */
export class PollSource implements TelemetrySource {
  readonly kind = 'poll';
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<IngestRecord> | undefined;
  private stopped = true;
  /** The ETag of the body behind the current snapshot, sent as If-None-Match. */
  private etag: string | undefined;
  private readonly now: () => number;

  constructor(
    private readonly options: PollSourceOptions,
    private readonly deps: PollSourceDeps,
  ) {
    this.now = deps.now ?? Date.now;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** Runs one poll now (tests; also what the loop calls), or joins the one in flight. Never rejects. */
  pollOnce(): Promise<IngestRecord> {
    if (this.running !== undefined) return this.running;
    const run = this.poll().finally(() => {
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
        // Until the first snapshot exists every API answer is a 503, so retry sooner than the interval.
        const interval = this.deps.reader.current() === undefined ? Math.min(this.options.intervalMs, STARTUP_RETRY_MS) : this.options.intervalMs;
        this.schedule(Math.max(0, interval - elapsed));
      });
    }, delayMs);
  }

  private async poll(): Promise<IngestRecord> {
    const { ingester, reader, logger } = this.deps;
    const url = this.options.url;
    const delivery: Delivery = { label: `poll of ${url.href}`, origin: url.href, logger, startedAtMs: this.now(), startedAt: performance.now() };
    let fetched;
    try {
      fetched = await fetchCounters(url, {
        timeoutMs: this.options.timeoutMs,
        maxBodyBytes: this.options.maxBodyBytes,
        ifNoneMatch: reader.current() !== undefined ? this.etag : undefined,
        accept: ACCEPT[this.options.format ?? 'csv'],
      });
    } catch (err) {
      return ingester.failed(err instanceof FetchError ? err.message : `internal error: ${err instanceof Error ? err.message : String(err)}`, delivery);
    }
    if (fetched.kind === 'not_modified') {
      logger.debug('generator answered 304 Not Modified; snapshot kept', { url: url.href });
      return ingester.confirmCurrent(delivery);
    }
    const format = bodyFormat(this.options.format ?? 'csv', fetched.contentType);
    if (format === undefined) {
      return ingester.failed(`expected an Arrow IPC stream (ingestion.format arrow), got Content-Type ${JSON.stringify(fetched.contentType ?? '')}`, delivery, fetched.body.byteLength);
    }
    const record = await ingester.ingestBody(fetched.body, delivery, format);
    // Only a body that became the current snapshot may be named in the next If-None-Match.
    if (record.outcome === 'ok') this.etag = fetched.etag;
    return record;
  }
}

/**
 * Which parser reads an answer: Arrow when its `Content-Type` is the Arrow stream type; else CSV, except
 * that `arrow` mode takes nothing else (undefined). In `csv` mode the body is CSV whatever its label, as
 * before Arrow existed.
 */
export function bodyFormat(format: IngestionFormat, contentType: string | undefined): BodyFormat | undefined {
  if (format === 'csv') return 'csv';
  const isArrow = contentType !== undefined && contentType.split(';')[0]!.trim().toLowerCase() === ARROW_STREAM_TYPE;
  if (isArrow) return 'arrow';
  return format === 'auto' ? 'csv' : undefined;
}
