/**
 * `GET /telemetry/stream` (SPEC "Streams"): Server-Sent Events for dashboards and scripts. Event ids
 * are snapshot versions. On connect a `snapshot` event; then one event per new snapshot: `snapshot`,
 * or with `?changes=1` a `changes` event. Filters `switch=` (at most 1,000 ids) and `metric=`; unknown
 * ids 404, no snapshot yet 503, past `stream.max_clients` 503. `Last-Event-ID` of a version still held
 * (the last 16) resumes with what changed since; otherwise a full `snapshot` first.
 *
 * An event is made once per snapshot and filter set: the first client that needs it renders and
 * frames it, every other client with the same filters gets the same bytes. A client whose
 * `Accept-Encoding` takes `deflate` gets the stream deflated (`stream.compression`), each event
 * deflated once for all such clients (common/sse-deflate.ts). Slow clients are dropped past
 * `stream.max_buffered_bytes` (common/sse-clients.ts); a stop ends every stream.
 */
import type { FastifyInstance } from 'fastify';
import { isValidMetricName, isValidSwitchId } from '../../../common/telemetry-schema.js';
import { acceptedQuality } from '../../../common/http-encoding.js';
import { SseClients, type SseBytes, type SseClient } from '../../../common/sse-clients.js';
import { deflateChunk, deflateChunkSync, type DeflatedChunk } from '../../../common/sse-deflate.js';
import { SSE_HEADERS, encodeSseEvent } from '../../../common/sse.js';
import type { Snapshot } from '../snapshot/snapshot.js';
import type { SnapshotReader } from '../store/reader.js';
import type { ViewRegistry } from '../views/registry.js';
import { changesEventJson, snapshotEventJson, type StreamFilter } from '../views/stream-events.js';
import type { HttpEdges, RoutePlugin } from './app.js';
import { HttpError, badRequest, notFound } from './errors.js';
import type { Query } from './query-params.js';
import { LIST_METRICS_VIEW, commaList, currentOrUnavailable } from './telemetry-routes.js';

/** The stream's path. */
export const TELEMETRY_STREAM_PATH = '/telemetry/stream';
/** Versions kept for Last-Event-ID. */
export const HELD_VERSIONS = 16;
/** The filter key of a client that wants every switch and every metric. */
const WHOLE_FABRIC = '*|*';
/** The render worker's view of the unfiltered `changes` event. */
const STREAM_CHANGES_VIEW = 'stream-changes.json';
/** Most switch ids in one `switch=` filter. */
export const MAX_FILTER_SWITCHES = 1000;
/** Floor of the default per-client buffer limit. */
export const MIN_STREAM_BUFFERED_BYTES = 1024 * 1024;

/** Config `stream.*` of the server. */
export interface TelemetryStreamLimits {
  readonly maxClients: number;
  /** Undefined: twice the last unfiltered snapshot event, at least 1 MiB. */
  readonly maxBufferedBytes: number | undefined;
  readonly keepAliveMs: number;
  /** `deflate`: a client that accepts it gets the stream deflated; `off`: never. */
  readonly compression: StreamCompression;
}

/** The `stream.compression` choices. */
export const STREAM_COMPRESSIONS = ['deflate', 'off'] as const;
/** How `/telemetry/stream` may be compressed. */
export type StreamCompression = (typeof STREAM_COMPRESSIONS)[number];

/** What one client asked for. */
interface StreamWants {
  readonly changes: boolean;
  readonly filter: StreamFilter;
  /** Clients with equal keys share event bytes. */
  readonly key: string;
  /** Where its live event is cached: its kind (`c` changes, `s` snapshot) and `key` (made once, read per broadcast). */
  readonly liveKey: string;
  /** Sent `Content-Encoding: deflate`: gets deflated chunks. */
  readonly deflate: boolean;
}

/** What a client asked for, with its cache keys. */
function streamWants(changes: boolean, filter: StreamFilter, deflate: boolean): StreamWants {
  const key = `${filter.switchIds?.join(',') ?? '*'}|${filter.metrics?.join(',') ?? '*'}`;
  return { changes, filter, key, liveKey: `${changes ? 'c' : 's'}|${key}`, deflate };
}

/** The open streams, the held snapshots and the events of the current one. */
export class TelemetryStreamHub {
  private readonly clients: SseClients<StreamWants>;
  private readonly held: Snapshot[] = [];
  /** Framed events of the newest snapshot, by kind and filter key. */
  private events = new Map<string, Buffer>();
  /** Events deflated once, whichever clients take them (live and catch-up alike); they go with their event. */
  private readonly deflatedEvents = new WeakMap<Buffer, Promise<DeflatedChunk>>();
  private largestFullEvent = 0;
  /** The delivery of the newest published snapshot, after those before it. */
  private delivering: Promise<void> = Promise.resolve();
  private closed = false;
  /** Events serialized and framed since start: one per snapshot and filter set, not per client. */
  eventsMade = 0;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly reader: SnapshotReader,
    private readonly views: ViewRegistry | undefined,
    private readonly limits: TelemetryStreamLimits,
  ) {
    this.clients = new SseClients<StreamWants>({
      maxClients: limits.maxClients,
      keepAliveMs: limits.keepAliveMs,
      maxBufferedBytes: () => limits.maxBufferedBytes ?? Math.max(MIN_STREAM_BUFFERED_BYTES, 2 * this.largestFullEvent),
    });
    const current = reader.current();
    if (current !== undefined) this.held.push(current);
    this.unsubscribe = reader.onPublish((snapshot) => this.published(snapshot));
  }

  /**
   * Resolves once every snapshot published so far has been delivered (its events prepared and its
   * broadcast queued). A client that connects meanwhile catches up from the last delivered one and
   * gets the rest as live events, in order.
   */
  whenDelivered(): Promise<void> {
    return this.delivering;
  }

  /** Clients connected now. */
  get clientCount(): number {
    return this.clients.size;
  }

  /** Clients dropped for reading too slowly, since start. */
  get droppedSlowClients(): number {
    return this.clients.droppedSlow;
  }

  /** The most clients at once. */
  get maxClients(): number {
    return this.limits.maxClients;
  }

  /** False when a new client must be refused. */
  hasRoom(): boolean {
    return this.clients.hasRoom();
  }

  /**
   * Opens a stream: the catch-up event for `lastEventId`, then one event per snapshot. A catch-up
   * that is as large as the fabric and not made yet is made in the render worker (building it here
   * would hold the event loop, about 100 ms at 100,000 switches); the client's live events wait
   * behind it, in order.
   */
  connect(res: import('node:http').ServerResponse, changes: boolean, filter: StreamFilter, lastEventId: string | undefined, acceptEncoding?: string): SseClient<StreamWants> {
    const deflate = this.limits.compression === 'deflate' && acceptedQuality(acceptEncoding, 'deflate') > 0;
    const wants = streamWants(changes, filter, deflate);
    const headers: Record<string, string> = this.limits.compression === 'deflate' ? { vary: 'accept-encoding' } : {};
    const current = this.held[this.held.length - 1];
    const id = lastEventId?.trim();
    const from: Snapshot | undefined = id === undefined || !/^\d{1,15}$/.test(id) ? undefined : this.held.find((s) => s.version === Number(id));
    // Up to date, or nothing to catch up with yet.
    if (current === undefined || from === current) return this.clients.accept(res, wants, { deflate, headers });
    const catchUp = this.catchUp(current, from, wants);
    if (Buffer.isBuffer(catchUp) && !deflate) {
      const client = this.clients.accept(res, wants, { headers });
      this.clients.writeCatchUp(client, [catchUp]);
      return client;
    }
    // Made off this thread (the render worker, the deflate in libuv's pool): live events wait behind it.
    const client = this.clients.accept(res, wants, { hold: true, deflate, headers });
    void Promise.resolve(catchUp)
      .then((event): Promise<SseBytes> | SseBytes => (deflate ? this.deflateOnce(event).catch(() => event) : event))
      .then((event) => this.clients.release(client, [event]));
    return client;
  }

  /** The event that brings a client at `from` (undefined: nothing) up to `current`. */
  private catchUp(current: Snapshot, from: Snapshot | undefined, wants: StreamWants): Buffer | Promise<Buffer> {
    if (from === undefined || !wants.changes) return this.snapshotCatchUp(current, wants);
    const fromPrevious = from === this.held[this.held.length - 2];
    const cached = fromPrevious ? this.events.get(`c|${wants.key}`) : undefined;
    if (cached !== undefined) return cached;
    const views = this.views;
    if (wants.key === WHOLE_FABRIC && views !== undefined) {
      return views.renderOnce(STREAM_CHANGES_VIEW, current, { previousBlock: from.block }).then(
        (data) => {
          // Empty: the switches or metrics differ, so a `changes` event cannot say it.
          if (data.length === 0) return this.snapshotCatchUp(current, wants);
          const event = this.frame(current, 'changes', data);
          if (fromPrevious && this.held[this.held.length - 1] === current) this.events.set(`c|${WHOLE_FABRIC}`, event);
          return event;
        },
        () => this.changesHere(current, from, wants),
      );
    }
    return this.changesHere(current, from, wants);
  }

  /** A `changes` catch-up made on this thread (filtered events are small), else a `snapshot`. */
  private changesHere(current: Snapshot, from: Snapshot, wants: StreamWants): Buffer | Promise<Buffer> {
    if (from === this.held[this.held.length - 2]) return this.event(current, wants);
    // From an older version: made for this client alone (resumes are rare and their bases differ).
    const data = changesEventJson(from, current, wants.filter);
    return data === undefined ? this.snapshotCatchUp(current, wants) : this.frame(current, 'changes', data);
  }

  /** A `snapshot` catch-up; the whole fabric's from the render worker's ListMetrics body when it is not at hand. */
  private snapshotCatchUp(current: Snapshot, wants: StreamWants): Buffer | Promise<Buffer> {
    const views = this.views;
    const newest = this.held[this.held.length - 1] === current;
    if (wants.key !== WHOLE_FABRIC || views?.has(LIST_METRICS_VIEW) !== true || (newest && this.events.has(`s|${WHOLE_FABRIC}`)) || views.ready(LIST_METRICS_VIEW, current) !== undefined) {
      return this.snapshotEvent(current, wants);
    }
    return views.body(LIST_METRICS_VIEW, current).then(
      (body) => {
        const event = this.snapshotFrame(current, wants, body);
        if (this.held[this.held.length - 1] === current) this.events.set(`s|${WHOLE_FABRIC}`, event);
        return event;
      },
      // The worker failed: the old way, on this thread, rather than no catch-up.
      () => this.snapshotEvent(current, wants),
    );
  }

  /** Ends one client's stream now (at shutdown: a deflate stream gets its trailer). */
  end(res: import('node:http').ServerResponse): void {
    this.clients.end(res);
  }

  /** Ends every stream and stops following the store. */
  close(): void {
    this.closed = true;
    this.unsubscribe();
    this.clients.closeAll();
  }

  private published(snapshot: Snapshot): void {
    // One delivery at a time, in publish order: a snapshot's events may wait for the render worker.
    this.delivering = this.delivering.then(() => this.deliver(snapshot));
  }

  /**
   * Prepares `snapshot`'s whole-fabric events in the render worker (they are as large as a
   * ListMetrics body and took up to 470 ms to build on this thread at 100,000 switches), then makes
   * it the newest held snapshot and broadcasts. Filtered events are small and made on first need.
   */
  private async deliver(snapshot: Snapshot): Promise<void> {
    // A turn of the event loop first: deliveries that queued up behind a slow render would otherwise
    // go out back to back, with no chance for a socket to drain in between.
    await new Promise((resolve) => setImmediate(resolve));
    if (this.closed) return;
    const previous = this.held[this.held.length - 1];
    const prepared = new Map<string, Buffer>();
    // A failed render leaves the event to be made on this thread on first need (the old way), never unsent.
    try {
      const views = this.views;
      if (views !== undefined && previous !== undefined && this.clients.some((wants) => wants.changes && wants.key === WHOLE_FABRIC)) {
        const data = await views.renderOnce(STREAM_CHANGES_VIEW, snapshot, { previousBlock: previous.block });
        // Empty: the two snapshots differ in switches or metrics, so these clients get a `snapshot` event.
        if (data.length > 0) prepared.set(`c|${WHOLE_FABRIC}`, this.frame(snapshot, 'changes', data));
      }
      if (views?.has(LIST_METRICS_VIEW) === true && this.clients.some((wants) => wants.key === WHOLE_FABRIC && (!wants.changes || !prepared.has(`c|${WHOLE_FABRIC}`)))) {
        const body = await views.body(LIST_METRICS_VIEW, snapshot);
        prepared.set(`s|${WHOLE_FABRIC}`, this.snapshotFrame(snapshot, streamWants(false, {}, false), body));
      }
    } catch {
      prepared.clear();
    }
    // Deflate clients' events, once per kind and filter set, off this thread.
    const deflated = new Map<string, DeflatedChunk>();
    const deflateWants = new Map<string, StreamWants>();
    this.clients.forEachWants((wants) => {
      if (wants.deflate) deflateWants.set(wants.liveKey, wants);
    });
    for (const [liveKey, wants] of deflateWants) {
      if (this.closed) return;
      try {
        deflated.set(liveKey, await this.deflateOnce(this.liveEvent(prepared, snapshot, previous, wants)));
      } catch {
        // Left out: made on this thread at the broadcast instead (once).
      }
    }
    if (this.closed) return;
    this.held.push(snapshot);
    if (this.held.length > HELD_VERSIONS) this.held.shift();
    this.events = prepared;
    // The broadcast drains over several turns of the loop, maybe past the next delivery: it reads
    // this delivery's maps, never the hub's newest.
    this.clients.broadcast((wants) => {
      const event = this.liveEvent(prepared, snapshot, previous, wants);
      if (!wants.deflate) return event;
      let chunk = deflated.get(wants.liveKey);
      if (chunk === undefined) deflated.set(wants.liveKey, (chunk = deflateChunkSync(event)));
      return chunk;
    });
  }

  /** The live event of the newest snapshot for `wants` (a catch-up from the one before it). */
  private event(snapshot: Snapshot, wants: StreamWants): Buffer {
    return this.liveEvent(this.events, snapshot, this.held[this.held.length - 2], wants);
  }

  /**
   * The live event of `snapshot` for `wants` when `previous` was the one before it: from `events`
   * (that snapshot's cache), else made on this thread and kept there. A `changes` client whose
   * event cannot be a `changes` (the switches or metrics differ) shares the `snapshot` event.
   */
  private liveEvent(events: Map<string, Buffer>, snapshot: Snapshot, previous: Snapshot | undefined, wants: StreamWants): Buffer {
    let event = events.get(wants.liveKey);
    if (event !== undefined) return event;
    const data = wants.changes && previous !== undefined ? changesEventJson(previous, snapshot, wants.filter) : undefined;
    if (data !== undefined) event = this.frame(snapshot, 'changes', data);
    else {
      const snapshotKey = `s|${wants.key}`;
      event = events.get(snapshotKey) ?? this.snapshotFrame(snapshot, wants, this.views?.ready(LIST_METRICS_VIEW, snapshot));
      events.set(snapshotKey, event);
    }
    events.set(wants.liveKey, event);
    return event;
  }

  /** `event` deflated, once for every client that takes it (off this thread: libuv's pool). */
  private deflateOnce(event: Buffer): Promise<DeflatedChunk> {
    let chunk = this.deflatedEvents.get(event);
    if (chunk === undefined) this.deflatedEvents.set(event, (chunk = deflateChunk(event)));
    return chunk;
  }

  /** A `snapshot` event for `wants` (from the ListMetrics `body` when at hand), its size noted when unfiltered. */
  private snapshotFrame(snapshot: Snapshot, wants: StreamWants, body: Buffer | undefined): Buffer {
    const event = this.frame(snapshot, 'snapshot', snapshotEventJson(snapshot, wants.filter, body));
    return wants.key === WHOLE_FABRIC ? this.wholeFabricEvent(event) : event;
  }

  private frame(snapshot: Snapshot, event: 'snapshot' | 'changes', data: Buffer): Buffer {
    this.eventsMade++;
    return encodeSseEvent({ id: String(snapshot.version), event, data });
  }

  /** Notes the size of an unfiltered `snapshot` event: the default slow-client limit follows it. */
  private wholeFabricEvent(event: Buffer): Buffer {
    this.largestFullEvent = Math.max(this.largestFullEvent, event.length);
    return event;
  }

  private snapshotEvent(snapshot: Snapshot, wants: StreamWants): Buffer {
    const cacheKey = `s|${wants.key}`;
    const newest = this.held[this.held.length - 1] === snapshot;
    let event = newest ? this.events.get(cacheKey) : undefined;
    if (event === undefined) {
      event = this.snapshotFrame(snapshot, wants, this.views?.ready(LIST_METRICS_VIEW, snapshot));
      if (newest) this.events.set(cacheKey, event);
    }
    return event;
  }
}

/** The `switch=` and `metric=` filters, checked against `snapshot` (400 malformed, 404 unknown). */
export function streamFilter(query: Query, snapshot: Snapshot): StreamFilter {
  const has = (name: string): boolean => Object.prototype.hasOwnProperty.call(query, name);
  let switchIds: string[] | undefined;
  if (has('switch')) {
    const wanted = new Set(commaList(query, 'switch', isValidSwitchId, 'switch id (letters, digits and _ . : -, at most 64)'));
    if (wanted.size > MAX_FILTER_SWITCHES) throw badRequest(`query parameter 'switch' lists more than ${MAX_FILTER_SWITCHES} switches`);
    for (const id of wanted) if (!snapshot.hasSwitch(id)) throw notFound(`unknown switch '${id}'`);
    switchIds = [...wanted].sort((a, b) => snapshot.rowOf(a) - snapshot.rowOf(b));
  }
  let metrics: string[] | undefined;
  if (has('metric')) {
    const wanted = new Set(commaList(query, 'metric', isValidMetricName, 'metric name (letters, digits and _, at most 64)'));
    for (const name of wanted) if (!snapshot.hasMetric(name)) throw notFound(`unknown metric '${name}'`);
    metrics = snapshot.metrics.filter((name) => wanted.has(name));
  }
  return { ...(switchIds !== undefined ? { switchIds } : {}), ...(metrics !== undefined ? { metrics } : {}) };
}

/** The route, as a plugin of the app (its streams are long-lived responses, ended at close). */
export function telemetryStreamPlugin(hub: TelemetryStreamHub, reader: SnapshotReader): RoutePlugin {
  return {
    paths: [TELEMETRY_STREAM_PATH],
    register(app: FastifyInstance, edges: HttpEdges): void {
      app.get(TELEMETRY_STREAM_PATH, (request, reply) => {
        const snapshot = currentOrUnavailable(reader);
        const query = request.query as Query;
        const filter = streamFilter(query, snapshot);
        const changesParam = query['changes'];
        const changes = changesParam === '1' || changesParam === 'true';
        if (request.method === 'HEAD') return reply.headers(SSE_HEADERS).code(200).send();
        if (!hub.hasRoom()) throw new HttpError(503, `too many stream clients (at most ${hub.maxClients}); retry later`, { 'retry-after': '5' });
        const header = request.headers['last-event-id'];
        const lastEventId = typeof header === 'string' ? header : typeof query['last_event_id'] === 'string' ? query['last_event_id'] : undefined;
        reply.hijack();
        if (!edges.longLived.track(reply.raw, () => hub.end(reply.raw))) {
          reply.raw.writeHead(503, { 'content-type': 'application/json; charset=utf-8' }).end('{"error":"the server is shutting down"}');
          return reply;
        }
        hub.connect(reply.raw, changes, filter, lastEventId, request.headers['accept-encoding']);
        return reply;
      });
      app.addHook('preClose', (done) => {
        hub.close();
        done();
      });
    },
  };
}
