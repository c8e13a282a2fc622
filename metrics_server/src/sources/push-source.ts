/**
 * The push source (`ingestion.mode: push`): subscribes to the generator's `/counters/stream` and hands
 * each event to the same ingester as a poll: a `full` event is a body, a `delta` is applied to the
 * current snapshot (ingest/apply-delta.ts). So parsing, validation, rejection accounting, versioning,
 * health and outage logging are the poll's own.
 *
 * When the stream breaks (connection refused or cut, HTTP error, idle past the limit, garbage, an
 * event past `max_body_bytes`, an event the ingester refuses) the last good snapshot stays, the
 * reason goes through the ingester (logged once per outage, then a summary a minute), and the source
 * reconnects with backoff (1 s doubling to 30 s, with jitter) and `Last-Event-ID`. While it is down
 * for longer than one poll interval, the poll source stands in; it is stopped as soon as the stream
 * is back, before the first event is applied, so the two never publish concurrently.
 *
 * `format` (config `ingestion.format`) applies to the stream too: `arrow` adds `format=arrow` to the
 * stream URL; `csv` and `auto` ask for CSV events, because on the stream Arrow did not pay (README,
 * "Binary transport": at 100,000 switches push freshness p50 850 ms with Arrow events against 330 ms
 * with CSV ones, base64 costing 1.6x the bytes and the worker's delta parse more). The answer's `X-Event-Data-Type` says
 * what the events carry (SPEC, "Binary transport"): an Arrow IPC stream in base64, decoded and parsed
 * in the ingestion worker by the Arrow poll's own decoder, or CSV (a generator without Arrow ignores
 * the parameter and sends no such header). `arrow` refuses a stream of CSV events, as its polls refuse
 * a CSV body; `auto` takes either. A malformed Arrow event (not base64, a truncated or bombed IPC
 * stream, a wrong schema) is refused like a malformed CSV event: reason logged, snapshot kept, and a
 * full event asked for.
 *
 * A delta is only applied on top of the state it was computed from: same run, the next tick, and the
 * snapshot this source published last still current. Anything else (a new generator run, a gap in
 * ticks, a poll that published in between, a delta the ingester refuses) drops `Last-Event-ID` and
 * reconnects at once for a full event: a half-applied state is never served.
 */
import http from 'node:http';
import https from 'node:https';
import type { Logger } from '../../../common/logger.js';
import type { IngestRecord } from '../ingest/ingestion-health.js';
import type { Delivery, Ingester } from '../ingest/ingester.js';
import type { BodyFormat } from '../ingest/parse-outcome.js';
import type { SnapshotReader } from '../store/reader.js';
import { bodyFormat, type IngestionFormat } from './poll-source.js';
import { SseDecodeError, SseDecoder, type SseMessage } from './sse-decoder.js';
import type { TelemetrySource } from './source.js';

/** First reconnect delay; it doubles per failed attempt. */
export const RECONNECT_INITIAL_MS = 1000;
/** Longest reconnect delay. */
export const RECONNECT_MAX_MS = 30_000;
/** No byte (event or keep-alive comment) for this long means the connection is dead: 3 keep-alives. */
export const STREAM_IDLE_TIMEOUT_MS = 45_000;

/** The generator's response header naming what each event's data decodes to. */
export const EVENT_DATA_TYPE_HEADER = 'x-event-data-type';

/** Where to subscribe and the limits. */
export interface PushSourceOptions {
  readonly streamUrl: URL;
  /** What the events should carry (config `ingestion.format`); `csv` when absent. */
  readonly format?: IngestionFormat;
  /** How long the stream may be down before polling stands in. */
  readonly pollIntervalMs: number;
  /** Connect and response-headers deadline. */
  readonly connectTimeoutMs: number;
  /** Largest event accepted (`ingestion.max_body_bytes`). */
  readonly maxEventBytes: number;
  readonly reconnectInitialMs?: number;
  readonly reconnectMaxMs?: number;
  readonly idleTimeoutMs?: number;
}

/** What the push source hands to and reads from. */
export interface PushSourceDeps {
  readonly ingester: Ingester;
  readonly reader: SnapshotReader;
  readonly logger: Logger;
  /** The poll source that stands in while the stream is down. */
  readonly standIn: TelemetrySource;
  readonly now?: () => number;
  readonly random?: () => number;
}

/** The stream's state for Status (SPEC: `ingestion.stream`). */
export interface PushStreamStatus {
  readonly connected: boolean;
  readonly url: string;
  readonly last_event_id: string | null;
  readonly events: number;
  readonly reconnects: number;
  /** Unix seconds since the stream has been in its current state (connected, or down). */
  readonly since: number;
  readonly polling_standing_in: boolean;
  /** What the events of the current (or last) connection carry; null before the first. */
  readonly format: BodyFormat | null;
}

/** One attempt at the stream; a newer one makes an older one's events moot. */
interface Connection {
  readonly request: http.ClientRequest;
  closed: boolean;
  /** What its events carry, from the answer's headers. */
  payload: BodyFormat;
}

/** Subscribes to the generator's event stream; polls while it is down. */
export class PushSource implements TelemetrySource {
  readonly kind = 'push';
  private stopped = true;
  private connection: Connection | undefined;
  private connected = false;
  private sinceMs: number;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private standInTimer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private standingIn = false;
  private attempt = 0;
  private everConnected = false;
  /** Events are applied one at a time, in order; this is the tail of that queue. */
  private applying: Promise<void> = Promise.resolve();
  private queued = 0;
  private events = 0;
  private reconnects = 0;
  /** What the last applied event was: its id, run and tick, and the version it became. */
  private lastEventId: string | undefined;
  private run: string | undefined;
  private tick = -1;
  private appliedVersion: number | undefined;
  private payload: BodyFormat | undefined;
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(
    private readonly options: PushSourceOptions,
    private readonly deps: PushSourceDeps,
  ) {
    this.now = deps.now ?? Date.now;
    this.random = deps.random ?? Math.random;
    this.sinceMs = this.now();
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.sinceMs = this.now();
    this.armStandIn();
    this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of [this.reconnectTimer, this.standInTimer, this.idleTimer]) if (timer !== undefined) clearTimeout(timer);
    this.reconnectTimer = this.standInTimer = this.idleTimer = undefined;
    this.closeConnection();
    await Promise.all([this.applying, this.deps.standIn.stop()]);
  }

  /** Status's `ingestion.stream`. */
  status(): PushStreamStatus {
    return {
      connected: this.connected,
      url: this.options.streamUrl.href,
      last_event_id: this.lastEventId ?? null,
      events: this.events,
      reconnects: this.reconnects,
      since: Math.floor(this.sinceMs / 1000),
      polling_standing_in: this.standingIn,
      format: this.payload ?? null,
    };
  }

  private get label(): string {
    return `push stream of ${this.options.streamUrl.href}`;
  }

  private delivery(): Delivery {
    return { label: this.label, origin: this.options.streamUrl.href, logger: this.deps.logger, startedAtMs: this.now(), startedAt: performance.now() };
  }

  /** The stream URL with `format` as `ingestion.format` asks: `format=arrow` for arrow, none for csv and auto. */
  get requestUrl(): URL {
    const url = new URL(this.options.streamUrl);
    if (this.options.format === 'arrow') url.searchParams.set('format', 'arrow');
    else url.searchParams.delete('format');
    return url;
  }

  private connect(): void {
    if (this.stopped) return;
    const url = this.requestUrl;
    const headers: Record<string, string> = { accept: 'text/event-stream', 'cache-control': 'no-cache' };
    // Resume only on top of what this source published last; after a poll stood in, start over.
    const resumable = this.lastEventId !== undefined && this.appliedVersion !== undefined && this.deps.reader.current()?.version === this.appliedVersion;
    if (resumable) headers['last-event-id'] = this.lastEventId!;
    const request = (url.protocol === 'https:' ? https : http).get(url, { headers, timeout: this.options.connectTimeoutMs });
    const connection: Connection = { request, closed: false, payload: 'csv' };
    this.connection = connection;
    request.on('timeout', () => this.broken(connection, `no answer within ${this.options.connectTimeoutMs} ms`));
    request.on('error', (err: NodeJS.ErrnoException) => this.broken(connection, describeError(err)));
    request.on('response', (res) => {
      const type = String(res.headers['content-type'] ?? '');
      if (res.statusCode !== 200 || !type.startsWith('text/event-stream')) {
        res.resume();
        this.broken(connection, res.statusCode !== 200 ? `HTTP ${res.statusCode}` : `not an event stream (content-type ${type || 'none'})`);
        return;
      }
      const dataType = res.headers[EVENT_DATA_TYPE_HEADER];
      const payload = bodyFormat(this.options.format ?? 'csv', typeof dataType === 'string' ? dataType : undefined);
      if (payload === undefined) {
        res.resume();
        this.broken(connection, `expected Arrow events (ingestion.format arrow), got X-Event-Data-Type ${JSON.stringify(typeof dataType === 'string' ? dataType.slice(0, 80) : '')}`);
        return;
      }
      connection.payload = payload;
      this.payload = payload;
      // The connect deadline is over; from here silence is measured by the idle timer.
      request.setTimeout(0);
      this.opened(connection);
      const decoder = new SseDecoder(this.options.maxEventBytes);
      res.on('data', (chunk: Buffer) => {
        if (connection.closed) return;
        this.touch(connection);
        let messages: SseMessage[];
        try {
          messages = decoder.push(chunk);
        } catch (err) {
          this.broken(connection, err instanceof SseDecodeError ? err.message : `undecodable stream: ${String(err)}`, true);
          return;
        }
        for (const message of messages) this.enqueue(connection, message, res);
      });
      res.on('end', () => this.broken(connection, 'the generator ended the stream'));
      res.on('error', (err: NodeJS.ErrnoException) => this.broken(connection, describeError(err)));
      res.on('close', () => this.broken(connection, 'connection closed'));
    });
  }

  private opened(connection: Connection): void {
    if (connection.closed) return;
    if (this.everConnected) this.reconnects++;
    this.everConnected = true;
    this.connected = true;
    this.sinceMs = this.now();
    if (this.standInTimer !== undefined) clearTimeout(this.standInTimer);
    this.standInTimer = undefined;
    this.touch(connection);
    // Polling stops before the first event is applied: the two never publish at once.
    this.applying = this.applying.then(async () => {
      if (!this.standingIn) return;
      await this.deps.standIn.stop();
      this.standingIn = false;
      this.deps.logger.info(`${this.label} is back; polling stopped`);
    });
  }

  private enqueue(connection: Connection, message: SseMessage, res: http.IncomingMessage): void {
    this.queued++;
    // Events arrive faster than they are prepared only in bursts (a resume); hold the socket meanwhile.
    if (this.queued > 2) res.pause();
    this.applying = this.applying
      .then(async () => {
        try {
          if (!connection.closed && !this.stopped) await this.apply(connection, message);
        } finally {
          this.queued--;
          if (this.queued <= 1 && !connection.closed) res.resume();
        }
      })
      .catch((err: unknown) => {
        // The ingester never rejects; this is a bug, and the queue must go on after it.
        this.deps.logger.error(`${this.label}: internal error applying an event`, { err: err instanceof Error ? err : new Error(String(err)) });
        this.broken(connection, 'internal error', true);
      });
  }

  private async apply(connection: Connection, message: SseMessage): Promise<void> {
    if (message.event !== 'full' && message.event !== 'delta') {
      // The generator sends nothing else: whatever answers here is not speaking its stream.
      const reason = `unexpected event type ${JSON.stringify(message.event.slice(0, 40))}`;
      this.deps.ingester.failed(reason, this.delivery(), message.data.length);
      this.broken(connection, reason, true, false);
      return;
    }
    const id = /^([A-Za-z0-9_-]+):(\d{1,15})$/.exec(message.id ?? '');
    if (id === null) {
      this.deps.ingester.failed(`event without a valid id (${JSON.stringify((message.id ?? '').slice(0, 40))})`, this.delivery(), message.data.length);
      this.broken(connection, 'event without a valid id', true, false);
      return;
    }
    const [, run, tickText] = id;
    const tick = Number(tickText);
    let record: IngestRecord;
    // Arrow events carry the IPC stream in base64: decoded with the parse, in the ingestion worker.
    const format = connection.payload;
    const encoding = format === 'arrow' ? 'base64' : 'raw';
    if (message.event === 'full') {
      record = await this.deps.ingester.ingestBody(message.data, this.delivery(), format, encoding);
    } else {
      const gap =
        run !== this.run ? 'a new generator run' : tick !== this.tick + 1 ? `a gap in ticks (${this.tick} then ${tick})` : this.deps.reader.current()?.version !== this.appliedVersion ? 'another snapshot was published since the last event' : undefined;
      if (gap !== undefined) {
        this.deps.logger.info(`${this.label}: delta ${message.id} follows ${gap}; asking for a full event`);
        this.broken(connection, gap, true, false, true);
        return;
      }
      record = await this.deps.ingester.ingestDelta(message.data, this.delivery(), format, encoding);
    }
    if (record.outcome !== 'ok') {
      // The ingester logged and recorded why; the stream's next event cannot build on this one.
      this.broken(connection, record.error ?? 'event not ingested', true, false);
      return;
    }
    this.run = run;
    this.tick = tick;
    this.appliedVersion = record.version;
    this.lastEventId = message.id;
    this.events++;
    this.attempt = 0;
  }

  /**
   * Ends `connection` (once) and schedules the next attempt. `needFull` drops Last-Event-ID;
   * `record` sends the reason through the ingester (health, outage log); `soon` skips the backoff
   * (a resync is no failure of the generator's).
   */
  private broken(connection: Connection, reason: string, needFull = false, record = true, soon = false): void {
    if (connection.closed) return;
    connection.closed = true;
    if (needFull) this.lastEventId = undefined;
    connection.request.destroy();
    if (this.connection === connection) this.connection = undefined;
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    if (this.stopped) return;
    if (record) this.deps.ingester.failed(reason, this.delivery());
    if (this.connected) {
      this.connected = false;
      this.sinceMs = this.now();
      this.armStandIn();
    }
    const delayMs = soon ? 0 : this.backoffMs();
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.connect();
    }, delayMs);
  }

  private backoffMs(): number {
    const initial = this.options.reconnectInitialMs ?? RECONNECT_INITIAL_MS;
    const max = this.options.reconnectMaxMs ?? RECONNECT_MAX_MS;
    const base = Math.min(max, initial * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    // ±20 % jitter: servers restarted together do not reconnect to one generator in lockstep.
    return Math.min(max, base * (0.8 + 0.4 * this.random()));
  }

  /** After one poll interval without the stream, polling stands in. */
  private armStandIn(): void {
    if (this.standInTimer !== undefined || this.standingIn || this.stopped) return;
    this.standInTimer = setTimeout(() => {
      this.standInTimer = undefined;
      if (this.connected || this.stopped) return;
      this.standingIn = true;
      this.deps.logger.warning(`${this.label} down for more than one poll interval; polling stands in until it is back`);
      this.deps.standIn.start();
    }, this.options.pollIntervalMs);
  }

  private touch(connection: Connection): void {
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    const idleMs = this.options.idleTimeoutMs ?? STREAM_IDLE_TIMEOUT_MS;
    this.idleTimer = setTimeout(() => this.broken(connection, `no data or keep-alive for ${idleMs / 1000} s`), idleMs);
  }

  private closeConnection(): void {
    const connection = this.connection;
    if (connection === undefined) return;
    connection.closed = true;
    connection.request.destroy();
    this.connection = undefined;
    this.connected = false;
  }
}

function describeError(err: NodeJS.ErrnoException): string {
  if (err.code === 'ECONNREFUSED') return 'connection refused';
  if (err.code === 'ECONNRESET') return 'connection reset';
  return err.code !== undefined ? `${err.code}: ${err.message}` : err.message;
}
