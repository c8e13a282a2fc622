/**
 * The open event-stream clients of one endpoint, with the limits an operator needs: at most
 * `maxClients` at once, at most `maxBufferedBytes` of unsent data per client (a client that reads
 * too slowly is disconnected, never allowed to grow the server's memory), a keep-alive comment after
 * `keepAliveMs` of silence, and a way to end them all at shutdown.
 *
 * Writes are prepared bytes shared by every client (an event is framed once); the only per-client
 * work is the socket write itself.
 */
import type { ServerResponse } from 'node:http';
import { SSE_HEADERS, SSE_KEEP_ALIVE, SSE_PREAMBLE } from './sse.js';
import { ADLER32_EMPTY, ZLIB_HEADER, adler32Combine, deflateChunkSync, zlibTrailer, type DeflatedChunk } from './sse-deflate.js';

/** What is written to a client: plain bytes, or a deflated chunk for a client sent `Content-Encoding: deflate`. */
export type SseBytes = Uint8Array | DeflatedChunk;

/** The preamble and the keep-alive comment, deflated once (sse-deflate.ts). */
const DEFLATED_PREAMBLE = deflateChunkSync(SSE_PREAMBLE);
const DEFLATED_KEEP_ALIVE = deflateChunkSync(SSE_KEEP_ALIVE);

/** Bytes an SseBytes puts on the wire. */
export function wireLength(bytes: SseBytes): number {
  return bytes instanceof Uint8Array ? bytes.byteLength : bytes.bytes.byteLength;
}

/** Most clients written per turn of the event loop in a broadcast. */
export const BROADCAST_SLICE = 50;

/**
 * Most bytes written per turn of the event loop in a broadcast (the write that passes it is the
 * turn's last): a socket write copies into the kernel at about 1 GB/s here, so a turn costs a few
 * milliseconds whatever the event size. With 50 clients a turn, 50 whole-fabric events of 1 MB held
 * the loop for up to 64 ms at 10,000 switches.
 */
export const BROADCAST_SLICE_BYTES = 4 * 1024 * 1024;

/** How long an ended stream may take to flush at shutdown before its socket is destroyed. */
export const CLOSE_GRACE_MS = 500;

/** Limits of one endpoint's streams. */
export interface SseClientLimits {
  readonly maxClients: number;
  /** Unsent bytes past which a client is dropped; read on every write, so it may follow the data size. */
  readonly maxBufferedBytes: () => number;
  readonly keepAliveMs: number;
}

/** One open stream and what it asked for. */
export interface SseClient<T> {
  readonly res: ServerResponse;
  readonly wants: T;
  /** `performance.now()` of the last write, for keep-alives. */
  lastWriteAt: number;
  dropped: boolean;
  /**
   * Extra unsent bytes allowed on top of the limit: the catch-up a client asked for on connect (a
   * resume of 60 ticks is one burst), so a fast client is not dropped for its own replay.
   */
  allowance: number;
  /**
   * Events held back while the client's catch-up is still being made (`accept` with `hold`), in
   * order; written after it by `release`. Undefined once released (or when never held).
   */
  held?: SseBytes[];
  /** Bytes in `held`, judged against the same limit as unsent bytes. */
  heldBytes?: number;
  /** Set for a client sent `Content-Encoding: deflate`: the Adler-32 of all it was sent, for the trailer. */
  deflate?: { adler: number };
}

/** Why a client went away. */
export type SseDropReason = 'slow' | 'closed';

/** The open streams of one endpoint. */
export class SseClients<T> {
  /** Open streams by response (in the order they opened): `end(res)` finds its client without a scan. */
  private readonly open = new Map<ServerResponse, SseClient<T>>();
  private readonly timer: NodeJS.Timeout;
  private closing = false;
  /** Broadcasts not yet written to all their clients, oldest first. */
  private readonly pending: { readonly clients: SseClient<T>[]; readonly pick: (wants: T) => SseBytes | undefined; next: number }[] = [];
  /** Clients disconnected for passing their buffer limit, since start. */
  droppedSlow = 0;

  constructor(
    private readonly limits: SseClientLimits,
    private readonly onDrop?: (reason: SseDropReason) => void,
  ) {
    // One timer for all clients, checking three times per period: silence lasts at most 4/3 of it.
    this.timer = setInterval(() => this.keepAlive(), Math.max(10, limits.keepAliveMs / 3));
    this.timer.unref();
  }

  /** Clients open now. */
  get size(): number {
    return this.open.size;
  }

  /** Calls `visit` with what each open client asked for. */
  forEachWants(visit: (wants: T) => void): void {
    for (const client of this.open.values()) visit(client.wants);
  }

  /** True when some open client asked for what `test` accepts. */
  some(test: (wants: T) => boolean): boolean {
    for (const client of this.open.values()) if (test(client.wants)) return true;
    return false;
  }

  /** False when one more client would pass the limit, or the endpoint is closing. */
  hasRoom(): boolean {
    return !this.closing && this.open.size < this.limits.maxClients;
  }

  /**
   * Starts an event stream on `res` (headers, then `retry: 1000`) and tracks it until it closes.
   * The caller checked `hasRoom()` and answered 503 otherwise.
   */
  accept(res: ServerResponse, wants: T, options: { readonly hold?: boolean; readonly deflate?: boolean; readonly headers?: Readonly<Record<string, string>> } = {}): SseClient<T> {
    const client: SseClient<T> = { res, wants, lastWriteAt: performance.now(), dropped: false, allowance: 0, ...(options.deflate === true ? { deflate: { adler: ADLER32_EMPTY } } : {}) };
    this.open.set(res, client);
    res.once('close', () => {
      if (this.open.get(res) === client) this.open.delete(res);
      if (!client.dropped) this.onDrop?.('closed');
    });
    res.writeHead(200, { ...SSE_HEADERS, ...options.headers, ...(client.deflate !== undefined ? { 'content-encoding': 'deflate' } : {}) });
    // Headers and the preamble leave at once: a client knows it is subscribed before the first event.
    res.flushHeaders();
    if (client.deflate !== undefined) res.write(ZLIB_HEADER);
    this.write(client, client.deflate !== undefined ? DEFLATED_PREAMBLE : SSE_PREAMBLE);
    // Held from here: the preamble went out, every later write waits for `release`.
    if (options.hold === true) {
      client.held = [];
      client.heldBytes = 0;
    }
    return client;
  }

  /**
   * Writes a held client's catch-up, then what was held back meanwhile, in order, and from then
   * on writes to it directly. For a catch-up that is made asynchronously (off the main thread)
   * while broadcasts go on.
   */
  release(client: SseClient<T>, catchUp: readonly SseBytes[]): void {
    const held = client.held ?? [];
    client.held = undefined;
    client.heldBytes = undefined;
    this.writeCatchUp(client, [...catchUp, ...held]);
  }

  /**
   * Writes prepared bytes to one client; drops the client if its unsent data passes the limit. A
   * deflate client takes deflated chunks (plain bytes given to it are deflated here, on this thread:
   * a fallback for small events); a plain client takes plain bytes only.
   */
  write(client: SseClient<T>, bytes: SseBytes): void {
    if (client.dropped || client.res.destroyed) return;
    if (client.held !== undefined) {
      client.held.push(bytes);
      client.heldBytes = (client.heldBytes ?? 0) + wireLength(bytes);
      if (client.heldBytes > this.limits.maxBufferedBytes()) this.dropSlow(client);
      return;
    }
    if (client.deflate !== undefined) {
      const chunk = bytes instanceof Uint8Array ? deflateChunkSync(bytes) : bytes;
      client.deflate.adler = adler32Combine(client.deflate.adler, chunk.adler, chunk.rawLength);
      client.res.write(chunk.bytes);
    } else {
      if (!(bytes instanceof Uint8Array)) throw new Error('a deflated chunk for a client that did not ask for deflate');
      client.res.write(bytes);
    }
    client.lastWriteAt = performance.now();
    if (client.res.writableLength > this.limits.maxBufferedBytes() + client.allowance) this.dropSlow(client);
  }

  /** Writes a connecting client's catch-up burst, which its limit makes room for. */
  writeCatchUp(client: SseClient<T>, events: readonly SseBytes[]): void {
    client.allowance = events.reduce((sum, e) => sum + wireLength(e), 0);
    for (const event of events) this.write(client, event);
  }

  private dropSlow(client: SseClient<T>): void {
    client.dropped = true;
    client.held = undefined;
    this.droppedSlow++;
    this.open.delete(client.res);
    client.res.destroy();
    this.onDrop?.('slow');
  }

  /**
   * Writes to every client open now the bytes `pick` chooses for what it asked for (undefined:
   * nothing). Each socket write copies into the kernel, so 1,000 clients of a 1 MB event are 1 GB of
   * copying: the clients are written in slices (BROADCAST_SLICE clients or BROADCAST_SLICE_BYTES), one slice per turn of the event
   * loop, so requests keep being answered in between. Broadcasts go out in order; the recipients are
   * fixed when the broadcast is made, so a client that connects later gets its own catch-up instead.
   */
  broadcast(pick: (wants: T) => SseBytes | undefined): void {
    this.pending.push({ clients: [...this.open.values()], pick, next: 0 });
    if (this.pending.length === 1) this.drainBroadcasts();
  }

  private drainBroadcasts(): void {
    const job = this.pending[0];
    if (job === undefined) return;
    const end = Math.min(job.clients.length, job.next + BROADCAST_SLICE);
    let written = 0;
    for (; job.next < end && written < BROADCAST_SLICE_BYTES; job.next++) {
      const client = job.clients[job.next]!;
      if (client.dropped) continue;
      const bytes = job.pick(client.wants);
      if (bytes === undefined) continue;
      this.write(client, bytes);
      written += wireLength(bytes);
    }
    if (job.next >= job.clients.length) this.pending.shift();
    if (this.pending.length === 0) return;
    // The first slice goes out at once; later ones yield to I/O first.
    setImmediate(() => this.drainBroadcasts());
  }

  /** Ends every stream and refuses new ones (shutdown). */
  closeAll(): void {
    this.closing = true;
    this.pending.length = 0;
    clearInterval(this.timer);
    for (const client of this.open.values()) this.finish(client);
    this.open.clear();
  }

  /** Ends the stream on `res` now, as a shutdown would (the app ends its open responses first). */
  end(res: ServerResponse): void {
    const client = this.open.get(res);
    if (client === undefined) {
      res.end();
      return;
    }
    this.open.delete(res);
    this.finish(client);
  }

  private finish(client: SseClient<T>): void {
    client.dropped = true;
    // A deflate stream ends with its final block and checksum, so a client can tell it is whole.
    if (client.deflate !== undefined && client.held === undefined) client.res.end(zlibTrailer(client.deflate.adler));
    else client.res.end();
    // A client that reads nothing never lets the end go out; a stop must not wait for it.
    const res = client.res;
    setTimeout(() => res.destroy(), CLOSE_GRACE_MS).unref();
  }

  private keepAlive(): void {
    const due = performance.now() - this.limits.keepAliveMs;
    for (const client of [...this.open.values()]) if (client.lastWriteAt <= due) this.write(client, client.deflate !== undefined ? DEFLATED_KEEP_ALIVE : SSE_KEEP_ALIVE);
  }
}
