/**
 * Where new data comes from. First choice: the server's event stream
 * (`/telemetry/stream?changes=1`: one `snapshot` event, then `changes` events holding only what
 * changed). Fallback: polling Status and, when its version moved, ListMetrics. The fallback runs
 * while the stream is unavailable (a server without streams answers 404), and while a stream that
 * was up is lost (the browser reconnects it by itself; polling stands in meanwhile and stops when it
 * is back). Health (Status and `/readyz`) is polled in every mode, for the summary and the banners.
 */
import { HttpStatusError, fetchListMetricsText, getJson, parseStatus, type StatusView } from './api.js';
import type { ChangeColumns, ParseResult, TextKind, WholeColumns } from './event-columns.js';
import { EventParser, type ParsePlace } from './event-parser.js';

/** How the page is receiving data. */
export type LiveMode = 'connecting' | 'stream' | 'polling';

/** What the feed tells the page. */
export interface LiveHandlers {
  /** A whole snapshot (ListMetrics on first load or while polling, or a stream `snapshot` event), parsed. */
  snapshot(whole: WholeColumns): void;
  /**
   * A stream `changes` event, parsed. `receivedAt`: `performance.now()` when the event arrived,
   * before it was parsed; `parseMs`: the parse's own time (in the worker, usually).
   */
  changes(changes: ChangeColumns, receivedAt: number, parseMs: number): void;
  /** The model's ids in row order (a parser taking over from a failed worker starts from them). */
  layout(): readonly string[];
  status(status: StatusView): void;
  /** Readiness: undefined when ready, else why not (the server's reason, or that it cannot be reached). */
  health(problem: string | undefined): void;
  /** The mode, and a problem with the stream worth a banner (undefined when none). */
  mode(mode: LiveMode, streamProblem: string | undefined): void;
}

/** The path of the server's event stream (SPEC.md, Streams). */
export const STREAM_PATH = '/telemetry/stream?changes=1';
/** Health and fallback polling run at the server's poll interval, within these bounds (ms). */
const MIN_TICK_MS = 1000;
const MAX_TICK_MS = 5000;
/** A stream the server refused (404, 503) is tried again after this long. */
const STREAM_RETRY_MS = 30_000;
/** A stream that was up and is gone for good (closed) is tried again sooner. */
const LOST_STREAM_RETRY_MS = 5000;

/** The stream with its polling fallback, and the health poll. */
export class LiveFeed {
  private source: EventSource | undefined;
  private streamUp = false;
  private everConnected = false;
  private tickMs = MAX_TICK_MS;
  private knownVersion: number | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private fetching = false;
  private readonly parser: EventParser;

  /** `parseInWorker`: parse in a worker (the default), else on the main thread. */
  constructor(
    private readonly on: LiveHandlers,
    parseInWorker = true,
  ) {
    this.parser = new EventParser((result) => this.parsed(result), () => on.layout(), parseInWorker);
  }

  /** Where ListMetrics bodies and stream events are parsed. */
  get parsePlace(): ParsePlace {
    return this.parser.place;
  }

  /** Starts: opens the stream and the health poll (whose first tick loads data if the stream cannot). */
  start(): void {
    this.openStream();
    // First data as soon as possible: ListMetrics at once, beside the stream and the first health
    // round (on a server with a stream its first event replaces this; it is the same snapshot or newer).
    void this.firstLoad();
    void this.tick();
  }

  private async firstLoad(): Promise<void> {
    try {
      const list = await fetchListMetricsText();
      if (this.knownVersion === undefined || (list.version !== undefined && list.version > this.knownVersion)) this.submit('list', list.text, list.version);
    } catch {
      // No snapshot yet (503) or no server: the health round reports it, and polling loads it later.
    }
  }

  private openStream(): void {
    if (typeof EventSource === 'undefined') {
      this.on.mode('polling', undefined);
      return;
    }
    this.on.mode(this.everConnected ? 'polling' : 'connecting', this.everConnected ? 'Live stream lost: reconnecting, polling meanwhile' : undefined);
    const source = new EventSource(STREAM_PATH);
    this.source = source;
    source.addEventListener('open', () => {
      this.streamUp = true;
      this.everConnected = true;
      this.on.mode('stream', undefined);
    });
    source.addEventListener('snapshot', (e) => this.event(e, 'snapshot'));
    source.addEventListener('changes', (e) => this.event(e, 'changes'));
    source.addEventListener('error', () => {
      const wasUp = this.streamUp;
      this.streamUp = false;
      if (source.readyState === EventSource.CLOSED) {
        // Refused outright (404 on a server without streams, 503, a wrong content type): the browser
        // gives up, so do we for a while, polling instead.
        this.giveUpStream(source);
      } else if (wasUp) {
        // The browser reconnects by itself (with Last-Event-ID); poll until it is back.
        this.on.mode('polling', 'Live stream lost: reconnecting, polling meanwhile');
      }
    });
  }

  /**
   * Ends the stream as a dead connection would (the tests' way of killing it: a browser cannot be
   * made to drop one connection otherwise); the page falls back to polling and retries later.
   */
  dropStream(): void {
    if (this.source !== undefined) this.giveUpStream(this.source);
  }

  private giveUpStream(source: EventSource): void {
    this.streamUp = false;
    this.source = undefined;
    source.close();
    this.on.mode('polling', this.everConnected ? 'Live stream lost: polling instead' : undefined);
    setTimeout(() => this.openStream(), this.everConnected ? LOST_STREAM_RETRY_MS : STREAM_RETRY_MS);
    void this.tick();
  }

  private event(e: MessageEvent<unknown>, kind: 'snapshot' | 'changes'): void {
    // Event ids are snapshot versions (SPEC.md); the event's own `version` field wins when present.
    this.submit(kind, String(e.data), /^\d+$/.test(e.lastEventId) ? Number(e.lastEventId) : undefined);
  }

  /**
   * Hands a text to the parser. Results are applied in the order of these calls, so the version
   * checks against `knownVersion` happen here, when the order is decided, not when a result lands.
   */
  private submit(kind: TextKind, text: string, version: number | undefined): void {
    this.knownVersion = version;
    this.parser.parse({ kind, text, version, receivedAt: performance.now() });
  }

  private parsed({ parsed, receivedAt, parseMs }: ParseResult): void {
    if (parsed === undefined) return;
    if (parsed.kind === 'whole') this.on.snapshot(parsed);
    else this.on.changes(parsed, receivedAt, parseMs);
  }

  /** One health round (Status, readiness) and, unless the stream delivers, a data poll. */
  private async tick(): Promise<void> {
    clearTimeout(this.timer);
    if (this.fetching) return;
    this.fetching = true;
    try {
      const [status, ready] = await Promise.all([getJson('/telemetry/Status'), readiness()]);
      const view = parseStatus(status.body);
      this.on.status(view);
      this.on.health(ready);
      if (view.pollIntervalSeconds !== undefined) this.tickMs = Math.min(MAX_TICK_MS, Math.max(MIN_TICK_MS, view.pollIntervalSeconds * 1000));
      if (!this.streamUp && view.version !== undefined && view.version !== this.knownVersion) {
        const list = await fetchListMetricsText();
        // The stream may have delivered while this was in flight: never step back.
        if (!this.streamUp && (this.knownVersion === undefined || list.version === undefined || list.version > this.knownVersion)) this.submit('list', list.text, list.version);
      }
    } catch (err) {
      this.on.health(err instanceof HttpStatusError ? `the metrics server answered ${err.message}` : `cannot reach the metrics server (${err instanceof Error ? err.message : String(err)})`);
    } finally {
      this.fetching = false;
      this.timer = setTimeout(() => void this.tick(), this.tickMs);
    }
  }
}

/** `/readyz`: undefined when ready, else the server's reason. */
async function readiness(): Promise<string | undefined> {
  try {
    await getJson('/readyz');
    return undefined;
  } catch (err) {
    if (err instanceof HttpStatusError) return err.serverMessage === '' ? `readiness check answered ${err.status}` : err.serverMessage;
    throw err;
  }
}
