/**
 * A byte-level Server-Sent Events decoder (WHATWG HTML, "Interpreting an event stream") for the push
 * source. It works on bytes, not strings: a full event at 100,000 switches is 3-4 MB of CSV, and its
 * data lines are handed to the ingester as one buffer, never decoded to text and back.
 *
 * Lines end in CRLF, LF or CR; `data:` lines are joined with LF; `event:` and `id:` are kept; comments
 * and `retry:` are read and dropped (the source has its own backoff). An event whose data passes
 * `maxEventBytes` is an error: the caller drops the connection, as a poll fails past `max_body_bytes`.
 */

/** One dispatched event. */
export interface SseMessage {
  /** The `event:` field, `message` when absent. */
  readonly event: string;
  /** The last event id as of this event (the stream's, per the specification), or undefined. */
  readonly id: string | undefined;
  /** The data lines joined with LF, without a final LF. */
  readonly data: Buffer;
}

/** The stream broke a limit; the connection is unusable. */
export class SseDecodeError extends Error {}

const LF = 0x0a;
const CR = 0x0d;
const COLON = 0x3a;
const SPACE = 0x20;

/** Feeds chunks in, takes whole events out. */
export class SseDecoder {
  private pending: Buffer = Buffer.alloc(0);
  private skipLf = false;
  /**
   * The data lines of the event being read, joined with LF, copied straight into one growing buffer:
   * a full event at 100,000 switches is 100,000 lines, and an object per line cost more than the copy.
   */
  private data: Buffer = Buffer.allocUnsafe(1 << 16);
  private dataBytes = 0;
  private hasData = false;
  private eventType = '';
  private lastEventId: string | undefined;

  constructor(private readonly maxEventBytes: number) {}

  /** The events completed by `chunk`, in order. Throws SseDecodeError past the size limit. */
  push(chunk: Buffer): SseMessage[] {
    const bytes = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const events: SseMessage[] = [];
    let start = 0;
    if (this.skipLf && bytes.length > 0) {
      if (bytes[0] === LF) start = 1;
      this.skipLf = false;
    }
    // Lines are handled as (start, end) offsets into `bytes`, never as Buffer views: a full event at
    // 100,000 switches is 100,000 lines, and a view per line (plus Buffer#copy's own) cost more than
    // the bytes (npm run bench:sse).
    if (bytes.indexOf(CR, start) === -1) {
      // No CR in the chunk (the usual case: both our services end lines in LF): lines are found by
      // native memchr instead of a byte loop.
      for (let i = bytes.indexOf(LF, start); i !== -1; i = bytes.indexOf(LF, start)) {
        const event = this.line(bytes, start, i);
        if (event !== undefined) events.push(event);
        start = i + 1;
      }
    } else {
      for (let i = start; i < bytes.length; i++) {
        const b = bytes[i];
        if (b !== LF && b !== CR) continue;
        const event = this.line(bytes, start, i);
        if (event !== undefined) events.push(event);
        if (b === CR) {
          if (i + 1 < bytes.length) {
            if (bytes[i + 1] === LF) i++;
          } else this.skipLf = true;
        }
        start = i + 1;
      }
    }
    this.pending = bytes.subarray(start);
    if (this.dataBytes + this.pending.length > this.maxEventBytes) {
      throw new SseDecodeError(`event larger than ${this.maxEventBytes} bytes (max_body_bytes)`);
    }
    // A copy, so the (possibly large) chunk the pending tail sits in is not kept alive by it.
    if (this.pending.length > 0 && this.pending.length < bytes.length / 2) this.pending = Buffer.from(this.pending);
    return events;
  }

  /** One line, `bytes[start, end)` without its line break. */
  private line(bytes: Buffer, start: number, end: number): SseMessage | undefined {
    if (end === start) return this.dispatch();
    if (bytes[start] === COLON) return undefined; // a comment, e.g. `: keep-alive`
    // `data:` lines are nearly all of the bytes: recognised without making a string of the name.
    if (end - start >= 5 && bytes[start] === 0x64 && bytes[start + 1] === 0x61 && bytes[start + 2] === 0x74 && bytes[start + 3] === 0x61 && bytes[start + 4] === COLON) {
      this.appendData(bytes, end - start > 5 && bytes[start + 5] === SPACE ? start + 6 : start + 5, end);
      return undefined;
    }
    const line = bytes.subarray(start, end);
    const colon = line.indexOf(COLON);
    const name = (colon === -1 ? line : line.subarray(0, colon)).toString('latin1');
    let value = colon === -1 ? Buffer.alloc(0) : line.subarray(colon + 1);
    if (value.length > 0 && value[0] === SPACE) value = value.subarray(1);
    if (name === 'data') {
      this.appendData(value, 0, value.length);
    } else if (name === 'event') {
      this.eventType = value.toString('utf8');
    } else if (name === 'id') {
      if (!value.includes(0)) this.lastEventId = value.toString('utf8');
    }
    return undefined;
  }

  /** Appends `bytes[from, end)` as a data line (after an LF when the event has data already). */
  private appendData(bytes: Buffer, from: number, end: number): void {
    const length = end - from + (this.hasData ? 1 : 0);
    if (this.dataBytes + length > this.maxEventBytes) throw new SseDecodeError(`event larger than ${this.maxEventBytes} bytes (max_body_bytes)`);
    if (this.dataBytes + length > this.data.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.data.length * 2, this.dataBytes + length));
      this.data.copy(bigger, 0, 0, this.dataBytes);
      this.data = bigger;
    }
    const data = this.data;
    let at = this.dataBytes;
    if (this.hasData) data[at++] = LF;
    // A byte loop: lines are short (a CSV row), where a native copy's call costs more than the copy.
    for (let k = from; k < end; k++) data[at++] = bytes[k]!;
    this.dataBytes = at;
    this.hasData = true;
  }

  private dispatch(): SseMessage | undefined {
    const event = this.eventType === '' ? 'message' : this.eventType;
    const had = this.hasData;
    // The event's own copy, exactly its size (it goes to the ingestion worker as a transfer).
    const data = had ? Buffer.from(this.data.subarray(0, this.dataBytes)) : undefined;
    this.dataBytes = 0;
    this.hasData = false;
    this.eventType = '';
    if (data === undefined) return undefined;
    return { event, id: this.lastEventId, data };
  }
}
