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
    for (let i = start; i < bytes.length; i++) {
      const b = bytes[i];
      if (b !== LF && b !== CR) continue;
      const event = this.line(bytes.subarray(start, i));
      if (event !== undefined) events.push(event);
      if (b === CR) {
        if (i + 1 < bytes.length) {
          if (bytes[i + 1] === LF) i++;
        } else this.skipLf = true;
      }
      start = i + 1;
    }
    this.pending = bytes.subarray(start);
    if (this.dataBytes + this.pending.length > this.maxEventBytes) {
      throw new SseDecodeError(`event larger than ${this.maxEventBytes} bytes (max_body_bytes)`);
    }
    // A copy, so the (possibly large) chunk the pending tail sits in is not kept alive by it.
    if (this.pending.length > 0 && this.pending.length < bytes.length / 2) this.pending = Buffer.from(this.pending);
    return events;
  }

  private line(line: Buffer): SseMessage | undefined {
    if (line.length === 0) return this.dispatch();
    if (line[0] === COLON) return undefined; // a comment, e.g. `: keep-alive`
    // `data:` lines are nearly all of the bytes: recognised without making a string of the name.
    if (line.length >= 5 && line[0] === 0x64 && line[1] === 0x61 && line[2] === 0x74 && line[3] === 0x61 && line[4] === COLON) {
      this.appendData(line, line.length > 5 && line[5] === SPACE ? 6 : 5);
      return undefined;
    }
    const colon = line.indexOf(COLON);
    const name = (colon === -1 ? line : line.subarray(0, colon)).toString('latin1');
    let value = colon === -1 ? Buffer.alloc(0) : line.subarray(colon + 1);
    if (value.length > 0 && value[0] === SPACE) value = value.subarray(1);
    if (name === 'data') {
      this.appendData(value, 0);
    } else if (name === 'event') {
      this.eventType = value.toString('utf8');
    } else if (name === 'id') {
      if (!value.includes(0)) this.lastEventId = value.toString('utf8');
    }
    return undefined;
  }

  private appendData(line: Buffer, from: number): void {
    const length = line.length - from + (this.hasData ? 1 : 0);
    if (this.dataBytes + length > this.maxEventBytes) throw new SseDecodeError(`event larger than ${this.maxEventBytes} bytes (max_body_bytes)`);
    if (this.dataBytes + length > this.data.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.data.length * 2, this.dataBytes + length));
      this.data.copy(bigger, 0, 0, this.dataBytes);
      this.data = bigger;
    }
    if (this.hasData) this.data[this.dataBytes++] = LF;
    this.dataBytes += line.copy(this.data, this.dataBytes, from);
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
