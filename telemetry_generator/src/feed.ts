/**
 * The ticker: steps the simulator once per interval and renders the CSV once per tick, keeping the
 * bytes with their validators (ETag, Last-Modified). Requests only read `current`, so serving
 * `/counters` never does simulation or formatting work.
 *
 * The Arrow representation (SPEC, "Binary transport") is rendered at most once per tick too: with
 * the tick when Arrow was asked for since the previous tick (a server polling in Arrow never waits
 * for it), else on its first request in the tick. A generator nobody asks for Arrow never renders it,
 * nor loads the apache-arrow library: the writer is imported on the first Arrow request, so start-up
 * (and with it the moment the stop signals are handled) is as quick as without Arrow.
 * Each representation has its own ETag (the CSV's with `.arrow` before the closing quote), so a
 * cache holding one is never told it holds the other.
 *
 * The event stream's Arrow events (`/counters/stream?format=arrow`) are the same renders: the full
 * event is the `/counters` Arrow body of the tick, the delta the same writer over the tick's changed
 * rows; each is rendered at most once per tick, when the stream asks for it (it does while Arrow
 * clients are connected), between ticks, while the simulator still holds that tick's state.
 */
import { createHash } from 'node:crypto';
import type { Logger } from '../../common/logger.js';
import type { MetricName } from '../../common/telemetry-schema.js';
import type { SimulationConfig } from './config.js';
import { ChangeTracker } from './change-tracker.js';
import { renderCsvWithDelta } from './csv-writer.js';
import { Simulator } from './simulator.js';

/** What `/counters` serves for one tick. Immutable once published. */
export interface CountersBody {
  readonly tick: number;
  readonly body: Buffer;
  /**
   * The CSV header plus the lines of the switches whose values changed since the previous tick (the
   * whole CSV for the first tick, which has no previous one): a stream's `delta` event.
   */
  readonly delta: Buffer;
  /** Lines in `delta` after the header. */
  readonly changedSwitches: number;
  /** Strong and quoted, e.g. `"12345-3f9a1c0b-42"`: seed, settings fingerprint, tick. */
  readonly etag: string;
  /** HTTP-date of the moment the tick was rendered. */
  readonly lastModified: string;
  /** The same moment in whole seconds, for If-Modified-Since comparisons. */
  readonly lastModifiedSeconds: number;
  /** Switches whose link is down in this tick. */
  readonly linksDown: number;
}

/** What one tick cost, for the generator's own metrics. */
export interface TickReport {
  readonly tick: number;
  readonly durationMs: number;
  readonly bytes: number;
}

/** One tick as Arrow IPC streams, for the event stream's Arrow events. */
export interface ArrowTickBodies {
  readonly tick: number;
  /** Every switch: the `/counters` Arrow body of the tick. */
  readonly full: Buffer;
  /** Only the switches whose values changed since the previous tick (every switch on the first tick). */
  readonly delta: Buffer;
}

/** The read side, which is all the HTTP app needs. */
export interface CountersProvider {
  /** The current tick as CSV. */
  current(): CountersBody;
  /** The same tick as an Arrow IPC stream; a provider without it serves CSV only. */
  currentArrow?(): Promise<CountersBody>;
  /** Loads the Arrow writer (and the library), so that `currentArrowBodies` can answer. */
  loadArrow?(): Promise<void>;
  /**
   * The current tick's Arrow full and delta bodies, rendered on the first call in the tick; undefined
   * until `loadArrow` has completed. Synchronous, so a tick listener gets the tick it was called for.
   */
  currentArrowBodies?(): ArrowTickBodies | undefined;
  /** Calls `listener` with every new tick's body, after it became current; returns an unsubscribe. */
  onTick?(listener: (counters: CountersBody) => void): () => void;
}

/** How the feed ticks and what it renders. */
export interface FeedOptions {
  readonly switchCount: number;
  readonly metrics: readonly MetricName[];
  readonly simulation: SimulationConfig;
  readonly seed: number;
  readonly updateIntervalSeconds: number;
  readonly logger: Logger;
  /** Milliseconds since the epoch; injectable for tests. */
  readonly now?: () => number;
  /** Called after every tick (step + render). */
  readonly onTick?: (report: TickReport) => void;
}

/** Steps the simulator on a timer and keeps the latest tick rendered, with its ETag. */
export class TelemetryFeed implements CountersProvider {
  private readonly simulator: Simulator;
  private readonly fingerprint: string;
  private readonly now: () => number;
  private readonly changes: ChangeTracker;
  private readonly listeners = new Set<(counters: CountersBody) => void>();
  private published: CountersBody;
  /** The Arrow body of the published tick, once rendered. */
  private publishedArrow: CountersBody | undefined;
  /** The Arrow delta of the published tick, once rendered (only the stream asks for it). */
  private publishedArrowDelta: Buffer | undefined;
  /** The switches whose values changed in the published tick, ascending. */
  private publishedRows: Int32Array = new Int32Array(0);
  /** Whether Arrow was asked for since the last tick: then the next tick renders it at once. */
  private arrowWanted = false;
  /** The Arrow writer, once its module (and the library) is loaded. */
  private arrowWriter: typeof import('./arrow-writer.js').renderArrow | undefined;
  private timer: NodeJS.Timeout | undefined;
  private nextDueMs = 0;

  constructor(private readonly options: FeedOptions) {
    this.now = options.now ?? Date.now;
    this.simulator = new Simulator(options);
    this.fingerprint = settingsFingerprint(options);
    this.changes = new ChangeTracker(options.metrics);
    this.published = this.render();
  }

  current(): CountersBody {
    return this.published;
  }

  async currentArrow(): Promise<CountersBody> {
    this.arrowWanted = true;
    await this.loadArrow();
    this.publishedArrow ??= this.renderArrowOf(this.published);
    return this.publishedArrow;
  }

  async loadArrow(): Promise<void> {
    this.arrowWriter ??= (await import('./arrow-writer.js')).renderArrow;
  }

  currentArrowBodies(): ArrowTickBodies | undefined {
    const writer = this.arrowWriter;
    if (writer === undefined) return undefined;
    this.publishedArrow ??= this.renderArrowOf(this.published);
    this.publishedArrowDelta ??= writer(this.simulator.state, this.options.metrics, this.publishedRows);
    return { tick: this.published.tick, full: this.publishedArrow.body, delta: this.publishedArrowDelta };
  }

  onTick(listener: (counters: CountersBody) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Steps and renders one tick now. The timer calls this; tests may call it directly. */
  advance(): CountersBody {
    const started = performance.now();
    this.simulator.step();
    this.published = this.render();
    this.publishedArrow = this.arrowWanted && this.arrowWriter !== undefined ? this.renderArrowOf(this.published) : undefined;
    this.publishedArrowDelta = undefined;
    this.arrowWanted = false;
    const elapsedMs = performance.now() - started;
    for (const listener of this.listeners) listener(this.published);
    this.options.onTick?.({ tick: this.published.tick, durationMs: elapsedMs, bytes: this.published.body.length });
    const intervalMs = this.options.updateIntervalSeconds * 1000;
    if (elapsedMs > intervalMs) {
      this.options.logger.warning('tick took longer than the update interval', { tick: this.published.tick, tick_ms: round2(elapsedMs), interval_ms: intervalMs });
    } else if (this.options.logger.isEnabled('DEBUG')) {
      this.options.logger.debug('tick', { tick: this.published.tick, tick_ms: round2(elapsedMs), bytes: this.published.body.length });
    }
    return this.published;
  }

  /**
   * Ticks every interval until `stop()`. Each tick is scheduled against a fixed timeline (start +
   * k x interval), so timer lateness does not accumulate; if a tick overruns, the next one starts
   * at once instead of piling up.
   */
  start(): void {
    if (this.timer !== undefined) return;
    this.nextDueMs = performance.now();
    this.schedule();
  }

  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    const intervalMs = this.options.updateIntervalSeconds * 1000;
    this.nextDueMs += intervalMs;
    const nowMs = performance.now();
    if (this.nextDueMs < nowMs) this.nextDueMs = nowMs;
    this.timer = setTimeout(() => {
      this.advance();
      if (this.timer !== undefined) this.schedule();
    }, this.nextDueMs - nowMs);
  }

  private render(): CountersBody {
    const state = this.simulator.state;
    const nowMs = this.now();
    const changed = this.changes.changedRows(state);
    this.publishedRows = changed;
    const { body, delta } = renderCsvWithDelta(state, this.options.metrics, changed);
    return Object.freeze({
      tick: state.tick,
      body,
      delta,
      changedSwitches: changed.length,
      etag: `"${this.options.seed}-${this.fingerprint}-${state.tick}"`,
      lastModified: new Date(nowMs).toUTCString(),
      lastModifiedSeconds: Math.floor(nowMs / 1000),
      linksDown: countZeros(state.columns.link_status),
    });
  }

  /** The Arrow body of the tick `csv` was rendered from, with the same Last-Modified. */
  private renderArrowOf(csv: CountersBody): CountersBody {
    const body = this.arrowWriter!(this.simulator.state, this.options.metrics);
    return Object.freeze({ ...csv, body, etag: `${csv.etag.slice(0, -1)}.arrow"` });
  }
}

/**
 * A short hash of everything besides seed and tick that shapes the body. With it in the ETag, a
 * generator restarted with the same seed but other settings never answers 304 to a stale copy.
 */
export function settingsFingerprint(options: Pick<FeedOptions, 'switchCount' | 'metrics' | 'simulation'>): string {
  const canonical = JSON.stringify([options.switchCount, options.metrics, options.simulation]);
  return createHash('sha256').update(canonical).digest('hex').slice(0, 8);
}

function countZeros(column: Uint8Array): number {
  let zeros = 0;
  for (let i = 0; i < column.length; i++) if (column[i] === 0) zeros++;
  return zeros;
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
