/**
 * Event-loop delay of the server's main thread, for `/telemetry/Status` (`event_loop`): how long a
 * ready callback had to wait, which is what a request feels when the loop is blocked. Measured with
 * `perf_hooks.monitorEventLoopDelay` at 1 ms resolution. That histogram records the whole interval
 * between its timer's runs, so the resolution is subtracted: a blocked loop shows its blocked time,
 * an idle one about 0.
 *
 * Windows of fixed length: Status shows the last complete window and the one in progress, so a
 * reader polling Status (the benchmark, an operator) can bound the delay over any period without the
 * server keeping history. One monitor per process, started on first use; its timers never keep the
 * process alive.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/** The monitor's sampling resolution, subtracted from every delay it reports. */
export const EVENT_LOOP_RESOLUTION_MS = 1;
/** Length of one reporting window. */
export const EVENT_LOOP_WINDOW_MS = 2000;

/** Event-loop delay over one window, as Status shows it. */
export interface EventLoopWindow {
  /** Unix milliseconds. */
  readonly started_at_ms: number;
  readonly ended_at_ms: number;
  readonly delay_ms: { readonly p50: number; readonly p99: number; readonly max: number; readonly mean: number };
  readonly samples: number;
}

class EventLoopDelayMonitor {
  private histogram: IntervalHistogram | undefined;
  private windowStart = 0;
  private last: EventLoopWindow | undefined;

  start(): void {
    if (this.histogram !== undefined) return;
    this.histogram = monitorEventLoopDelay({ resolution: EVENT_LOOP_RESOLUTION_MS });
    this.histogram.enable();
    this.windowStart = Date.now();
    setInterval(() => this.roll(), EVENT_LOOP_WINDOW_MS).unref();
  }

  /** The last complete window and the current one (null before the monitor has data). */
  report(): { resolution_ms: number; window_seconds: number; last_window: EventLoopWindow | null; current_window: EventLoopWindow | null } {
    this.start();
    return {
      resolution_ms: EVENT_LOOP_RESOLUTION_MS,
      window_seconds: EVENT_LOOP_WINDOW_MS / 1000,
      last_window: this.last ?? null,
      current_window: this.summary(Date.now()),
    };
  }

  private roll(): void {
    const now = Date.now();
    this.last = this.summary(now) ?? undefined;
    this.histogram!.reset();
    this.windowStart = now;
  }

  private summary(now: number): EventLoopWindow | null {
    const h = this.histogram!;
    if (h.count === 0) return null;
    const delay = (ns: number): number => Math.round(Math.max(0, ns / 1e6 - EVENT_LOOP_RESOLUTION_MS) * 100) / 100;
    return {
      started_at_ms: this.windowStart,
      ended_at_ms: now,
      delay_ms: { p50: delay(h.percentile(50)), p99: delay(h.percentile(99)), max: delay(h.max), mean: delay(h.mean) },
      samples: h.count,
    };
  }
}

/** The process's one monitor. */
export const eventLoopDelay = new EventLoopDelayMonitor();
