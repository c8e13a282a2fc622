/**
 * `GET /counters/stream`: the ticks as Server-Sent Events (SPEC "Streams"). Event ids are
 * `<run>:<tick>`, `run` a random token per generator start. A client gets one `full` event on connect,
 * then one event per tick: `full`, or with `?delta=1` a `delta` (the CSV header plus the lines that
 * changed). A client resuming with `Last-Event-ID` of this run, from a tick still in the replay ring,
 * gets exactly the ticks it missed, in order; otherwise one `full`.
 *
 * Every event is framed once per tick (lazily, on its first client) and the same bytes go to every
 * client; the delta lines themselves come from the feed, computed once per tick.
 *
 * With `?format=arrow` the same events carry the tick as an Arrow IPC stream (SPEC, "Binary
 * transport"), base64 in one `data:` line, since an event stream is text: the full event every switch,
 * the delta the changed ones. Same ids, ring and limits. The Arrow bodies are rendered by the feed
 * once per tick for all Arrow clients, and only while Arrow is wanted: while an Arrow client is
 * connected, and for `replayTicks` ticks after the last one left, so that it can still resume from
 * the ring. A resume that needs a tick rendered before that gets one `full`, as outside the ring.
 */
import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { SseClients, type SseDropReason } from '../../common/sse-clients.js';
import { encodeSseEvent } from '../../common/sse.js';
import { ARROW_STREAM_TYPE } from '../../common/arrow-media.js';
import type { ArrowTickBodies, CountersBody, CountersProvider } from './feed.js';

/** How a stream's events carry the tick: CSV lines, or an Arrow IPC stream in base64. */
export type CounterStreamFormat = 'csv' | 'arrow';

/** The value of the response header `X-Event-Data-Type` for each format: what one event's data decodes to. */
export const EVENT_DATA_TYPES: Readonly<Record<CounterStreamFormat, string>> = {
  csv: 'text/csv',
  arrow: `${ARROW_STREAM_TYPE}; encoding=base64`,
};

/** What a stream client asked for. */
export interface CounterStreamWants {
  readonly delta: boolean;
  /** `csv` when absent. */
  readonly format?: CounterStreamFormat;
}

/** Limits and sizes of the stream (config `stream.*`). */
export interface CounterStreamOptions {
  /** Ticks kept for `Last-Event-ID` resumption. */
  readonly replayTicks: number;
  /** Full CSVs in the ring may use at most this many bytes; older ticks keep only their delta. */
  readonly replayMaxBytes: number;
  readonly maxClients: number;
  /** Undefined: twice the current full event, CSV or Arrow, whichever is larger (at least MIN_BUFFERED_BYTES). */
  readonly maxBufferedBytes: number | undefined;
  readonly keepAliveMs: number;
  /** The run token; random when absent. */
  readonly run?: string;
  /** Told of every client dropped for reading too slowly. */
  readonly onSlowClientDropped?: () => void;
}

/**
 * The floor of the default buffer limit: a 4-switch CSV is 200 bytes, and a client resuming 60 ticks
 * must not be dropped for the burst its own replay is.
 */
export const MIN_BUFFERED_BYTES = 64 * 1024;

/** One tick in the replay ring, with its events framed on first use. */
interface RingEntry {
  readonly tick: number;
  readonly id: string;
  readonly delta: Buffer;
  /** Dropped for old ticks when the ring's full CSVs pass their byte budget. */
  full: Buffer | undefined;
  deltaEvent?: Buffer;
  fullEvent?: Buffer;
  /** The tick as Arrow, when it was rendered (Arrow wanted then); its full is dropped with the CSV's. */
  arrow?: { full: Buffer | undefined; readonly delta: Buffer };
  arrowDeltaEvent?: Buffer;
  arrowFullEvent?: Buffer;
}

/** The generator's event stream: replay ring, clients and per-tick fan-out. */
export class CounterStream {
  readonly run: string;
  private readonly ring: RingEntry[] = [];
  private fullBytesHeld = 0;
  private readonly clients: SseClients<CounterStreamWants>;
  private readonly unsubscribe: () => void;
  /** Arrow clients connected now, and the newest tick one was connected at: Arrow is rendered while wanted. */
  private arrowClients = 0;
  private lastArrowTick = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly feed: CountersProvider,
    private readonly options: CounterStreamOptions,
  ) {
    // base64url has no ':', so `<run>:<tick>` splits unambiguously.
    this.run = options.run ?? randomBytes(6).toString('base64url');
    this.clients = new SseClients<CounterStreamWants>(
      {
        maxClients: options.maxClients,
        keepAliveMs: options.keepAliveMs,
        maxBufferedBytes: () => options.maxBufferedBytes ?? Math.max(MIN_BUFFERED_BYTES, 2 * this.largestFullEventBytes()),
      },
      (reason: SseDropReason) => {
        if (reason === 'slow') options.onSlowClientDropped?.();
      },
    );
    this.remember(feed.current());
    this.unsubscribe = feed.onTick?.((counters) => this.publish(counters)) ?? (() => undefined);
  }

  /** The most clients at once. */
  get maxClients(): number {
    return this.options.maxClients;
  }

  /** Clients connected now. */
  get clientCount(): number {
    return this.clients.size;
  }

  /** Clients disconnected for passing their buffer limit, since start. */
  get droppedSlowClients(): number {
    return this.clients.droppedSlow;
  }

  /** False when a new client must be refused (limit reached, or shutting down). */
  hasRoom(): boolean {
    return this.clients.hasRoom();
  }

  /** Whether `?format=arrow` can be served: the feed renders Arrow. */
  get servesArrow(): boolean {
    return this.feed.loadArrow !== undefined && this.feed.currentArrowBodies !== undefined;
  }

  /** Loads the Arrow writer; an Arrow client is connected only once it has (the first one pays for it). */
  async prepareArrow(): Promise<void> {
    if (!this.servesArrow) throw new Error('this feed does not render Arrow');
    await this.feed.loadArrow!();
  }

  /**
   * Opens a stream on `res`: the catch-up events for `lastEventId`, then one event per tick. An Arrow
   * client must have awaited `prepareArrow()` first.
   */
  connect(res: ServerResponse, wants: CounterStreamWants, lastEventId: string | undefined): void {
    if (wants.format === 'arrow') {
      // The newest tick is the feed's current one, so its Arrow can still be rendered now.
      this.withArrow(this.ring[this.ring.length - 1]!);
      this.arrowClients++;
      this.lastArrowTick = this.ring[this.ring.length - 1]!.tick;
      res.once('close', () => {
        this.arrowClients--;
        this.lastArrowTick = Math.max(this.lastArrowTick, this.ring[this.ring.length - 1]!.tick);
      });
    }
    const client = this.clients.accept(res, wants);
    this.clients.writeCatchUp(client, this.catchUp(wants, lastEventId));
  }

  /** Ends every stream (shutdown) and stops listening to the feed. */
  close(): void {
    this.unsubscribe();
    this.clients.closeAll();
  }

  /** The events a connecting client gets before the next tick. */
  catchUp(wants: CounterStreamWants, lastEventId: string | undefined): Buffer[] {
    const newest = this.ring[this.ring.length - 1]!;
    const resumeFrom = this.resumableTick(lastEventId);
    if (resumeFrom === undefined) return [this.eventFor(wants, newest, 'full')];
    const missed = this.ring.filter((entry) => entry.tick > resumeFrom);
    // A client resuming past the ticks whose bodies were let go (or, in Arrow, never rendered) gets the present state instead.
    if (missed.some((entry) => !this.holds(entry, wants))) return [this.eventFor(wants, newest, 'full')];
    return missed.map((entry) => this.eventFor(wants, entry, wants.delta ? 'delta' : 'full'));
  }

  /** Whether `entry` still has what a client with `wants` would be sent from it. */
  private holds(entry: RingEntry, wants: CounterStreamWants): boolean {
    if (wants.format === 'arrow') return entry.arrow !== undefined && (wants.delta || entry.arrow.full !== undefined);
    return wants.delta || entry.full !== undefined;
  }

  /** The framed event of `entry` in the client's format. */
  private eventFor(wants: CounterStreamWants, entry: RingEntry, kind: 'full' | 'delta'): Buffer {
    if (wants.format === 'arrow') return kind === 'full' ? this.arrowFullEvent(entry) : this.arrowDeltaEvent(entry);
    return kind === 'full' ? this.fullEvent(entry) : this.deltaEvent(entry);
  }

  /** The tick after which a client with `lastEventId` can resume from the ring, if it can. */
  private resumableTick(lastEventId: string | undefined): number | undefined {
    if (lastEventId === undefined) return undefined;
    const match = /^([A-Za-z0-9_-]+):(\d{1,15})$/.exec(lastEventId.trim());
    if (match === null || match[1] !== this.run) return undefined;
    const tick = Number(match[2]);
    const oldest = this.ring[0]!.tick;
    const newest = this.ring[this.ring.length - 1]!.tick;
    // Resuming after tick t needs the deltas of t+1 … newest, all in the ring.
    return tick >= oldest - 1 && tick <= newest ? tick : undefined;
  }

  private publish(counters: CountersBody): void {
    const previous = this.ring[this.ring.length - 1];
    const entry = this.remember(counters);
    this.clients.broadcast((wants) => this.eventFor(wants, entry, wants.delta ? 'delta' : 'full'));
    // Only the newest full event is written live; a replay of an older one frames it again.
    if (previous !== undefined) previous.fullEvent = previous.arrowFullEvent = undefined;
  }

  private remember(counters: CountersBody): RingEntry {
    const entry: RingEntry = { tick: counters.tick, id: `${this.run}:${counters.tick}`, delta: counters.delta, full: counters.body };
    this.ring.push(entry);
    this.fullBytesHeld += counters.body.length;
    // Rendered now or never: by the next tick the simulator holds another state.
    if (this.arrowClients > 0 || counters.tick - this.lastArrowTick <= this.options.replayTicks) this.withArrow(entry);
    while (this.ring.length > this.options.replayTicks) this.forgetFull(this.ring.shift()!);
    // The newest tick keeps its full CSV whatever the budget: it is what every new client gets.
    for (let i = 0; i < this.ring.length - 1 && this.fullBytesHeld > this.options.replayMaxBytes; i++) this.forgetFull(this.ring[i]!);
    return entry;
  }

  private forgetFull(entry: RingEntry): void {
    if (entry.full !== undefined) this.fullBytesHeld -= entry.full.length;
    if (entry.arrow?.full !== undefined) this.fullBytesHeld -= entry.arrow.full.length;
    entry.full = undefined;
    entry.fullEvent = undefined;
    if (entry.arrow !== undefined) entry.arrow.full = undefined;
    entry.arrowFullEvent = undefined;
  }

  /**
   * Gives the newest entry (the feed's current tick) its Arrow bodies, once; they count against the
   * ring's byte budget with the CSVs.
   */
  private withArrow(entry: RingEntry): void {
    if (entry.arrow !== undefined) return;
    const bodies: ArrowTickBodies | undefined = this.feed.currentArrowBodies?.();
    if (bodies === undefined || bodies.tick !== entry.tick) throw new Error(`Arrow of tick ${entry.tick} asked for while the feed holds another (or none)`);
    entry.arrow = { full: bodies.full, delta: bodies.delta };
    this.fullBytesHeld += bodies.full.length;
  }

  /** The largest full event a client may be sent now: the buffer limit's default is twice it. */
  private largestFullEventBytes(): number {
    const newest = this.ring[this.ring.length - 1];
    const csv = this.feed.current().body.length;
    const arrow = newest?.arrow?.full;
    return arrow === undefined ? csv : Math.max(csv, base64Length(arrow.length));
  }

  private arrowFullEvent(entry: RingEntry): Buffer {
    entry.arrowFullEvent ??= encodeSseEvent({ id: entry.id, event: 'full', data: base64Of(entry.arrow!.full!) });
    return entry.arrowFullEvent;
  }

  private arrowDeltaEvent(entry: RingEntry): Buffer {
    entry.arrowDeltaEvent ??= encodeSseEvent({ id: entry.id, event: 'delta', data: base64Of(entry.arrow!.delta) });
    return entry.arrowDeltaEvent;
  }

  private fullEvent(entry: RingEntry): Buffer {
    entry.fullEvent ??= encodeSseEvent({ id: entry.id, event: 'full', data: entry.full! });
    return entry.fullEvent;
  }

  private deltaEvent(entry: RingEntry): Buffer {
    entry.deltaEvent ??= encodeSseEvent({ id: entry.id, event: 'delta', data: entry.delta });
    return entry.deltaEvent;
  }
}

/** Arrow bytes as base64 text (no line breaks, so one `data:` line). */
function base64Of(bytes: Buffer): Buffer {
  return Buffer.from(bytes.toString('base64'), 'latin1');
}

function base64Length(bytes: number): number {
  return 4 * Math.ceil(bytes / 3);
}
