/**
 * `GET /counters/stream`: the ticks as Server-Sent Events (SPEC "Streams"). Event ids are
 * `<run>:<tick>`, `run` a random token per generator start. A client gets one `full` event on connect,
 * then one event per tick: `full`, or with `?delta=1` a `delta` (the CSV header plus the lines that
 * changed). A client resuming with `Last-Event-ID` of this run, from a tick still in the replay ring,
 * gets exactly the ticks it missed, in order; otherwise one `full`.
 *
 * Every event is framed once per tick (lazily, on its first client) and the same bytes go to every
 * client; the delta lines themselves come from the feed, computed once per tick.
 */
import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { SseClients, type SseDropReason } from '../../common/sse-clients.js';
import { encodeSseEvent } from '../../common/sse.js';
import type { CountersBody, CountersProvider } from './feed.js';

/** What a stream client asked for. */
export interface CounterStreamWants {
  readonly delta: boolean;
}

/** Limits and sizes of the stream (config `stream.*`). */
export interface CounterStreamOptions {
  /** Ticks kept for `Last-Event-ID` resumption. */
  readonly replayTicks: number;
  /** Full CSVs in the ring may use at most this many bytes; older ticks keep only their delta. */
  readonly replayMaxBytes: number;
  readonly maxClients: number;
  /** Undefined: twice the current full CSV (at least MIN_BUFFERED_BYTES). */
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
}

/** The generator's event stream: replay ring, clients and per-tick fan-out. */
export class CounterStream {
  readonly run: string;
  private readonly ring: RingEntry[] = [];
  private fullBytesHeld = 0;
  private readonly clients: SseClients<CounterStreamWants>;
  private readonly unsubscribe: () => void;

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
        maxBufferedBytes: () => options.maxBufferedBytes ?? Math.max(MIN_BUFFERED_BYTES, 2 * this.feed.current().body.length),
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

  /** Opens a stream on `res`: the catch-up events for `lastEventId`, then one event per tick. */
  connect(res: ServerResponse, wants: CounterStreamWants, lastEventId: string | undefined): void {
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
    if (resumeFrom === undefined) return [this.fullEvent(newest)];
    const missed = this.ring.filter((entry) => entry.tick > resumeFrom);
    // A full-mode client resuming past the ticks whose CSVs were let go gets the present state instead.
    if (!wants.delta && missed.some((entry) => entry.full === undefined)) return [this.fullEvent(newest)];
    return missed.map((entry) => (wants.delta ? this.deltaEvent(entry) : this.fullEvent(entry)));
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
    this.clients.broadcast((wants) => (wants.delta ? this.deltaEvent(entry) : this.fullEvent(entry)));
    // Only the newest full event is written live; a replay of an older one frames it again.
    if (previous !== undefined) previous.fullEvent = undefined;
  }

  private remember(counters: CountersBody): RingEntry {
    const entry: RingEntry = { tick: counters.tick, id: `${this.run}:${counters.tick}`, delta: counters.delta, full: counters.body };
    this.ring.push(entry);
    this.fullBytesHeld += counters.body.length;
    while (this.ring.length > this.options.replayTicks) this.forgetFull(this.ring.shift()!);
    // The newest tick keeps its full CSV whatever the budget: it is what every new client gets.
    for (let i = 0; i < this.ring.length - 1 && this.fullBytesHeld > this.options.replayMaxBytes; i++) this.forgetFull(this.ring[i]!);
    return entry;
  }

  private forgetFull(entry: RingEntry): void {
    if (entry.full === undefined) return;
    this.fullBytesHeld -= entry.full.length;
    entry.full = undefined;
    entry.fullEvent = undefined;
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
