/**
 * The Server-Sent Events wire format (WHATWG HTML, "Server-sent events"), as both services write it:
 * response headers, event framing and the keep-alive comment. Pure: bytes in, bytes out.
 *
 * An event is framed once and the same bytes are written to every client that wants it, so the
 * framing copies the payload once per event, never once per client.
 */

/** Headers of every event stream. `X-Accel-Buffering: no` keeps nginx from holding events back. */
export const SSE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  'x-accel-buffering': 'no',
});

/** The first bytes of every stream: a client reconnects after 1 s (the SPEC's `retry: 1000`). */
export const SSE_PREAMBLE = Buffer.from('retry: 1000\n\n');

/** Written after a stretch of silence, so proxies and clients see the connection is alive. */
export const SSE_KEEP_ALIVE = Buffer.from(': keep-alive\n\n');

/** One event to frame. */
export interface SseEventFields {
  /** The `id:` field (no line breaks). */
  readonly id?: string;
  /** The `event:` field (no line breaks). */
  readonly event?: string;
  /**
   * The payload; each line becomes a `data:` line. A final line break ends the last line rather than
   * starting an empty one, so a CSV body (which ends in `\n`) is framed line for line.
   */
  readonly data: Uint8Array | string;
}

const LF = 0x0a;
const CR = 0x0d;
const DATA_PREFIX = Buffer.from('data: ');
const DATA_PREFIX_LENGTH = DATA_PREFIX.length;

/** Frames one event: `id:`, `event:`, one `data:` line per payload line, then a blank line. */
export function encodeSseEvent(fields: SseEventFields): Buffer {
  const data = typeof fields.data === 'string' ? Buffer.from(fields.data) : fields.data;
  let head = '';
  if (fields.id !== undefined) head += `id: ${fields.id}\n`;
  if (fields.event !== undefined) head += `event: ${fields.event}\n`;
  const headBytes = Buffer.from(head);

  // Line boundaries first (native memchr), so the output is allocated once at its exact size.
  let lines = 0;
  for (let i = data.indexOf(LF); i !== -1; i = data.indexOf(LF, i + 1)) lines++;
  if (data.length > 0 && data[data.length - 1] !== LF) lines++;
  if (lines === 0) lines = 1;
  const out = Buffer.allocUnsafe(headBytes.length + data.length + lines * (DATA_PREFIX.length + 1) + 1);
  let pos = headBytes.copy(out, 0);
  // One pass of byte copies: a native copy per line (a CSV row of ~30 bytes) costs more in its call
  // and the view it makes than the bytes (npm run bench:sse).
  const n = data.length;
  let lineStart = true;
  for (let i = 0; i < n; i++) {
    if (lineStart) {
      for (let k = 0; k < DATA_PREFIX_LENGTH; k++) out[pos++] = DATA_PREFIX[k]!;
      lineStart = false;
    }
    const b = data[i]!;
    if (b === LF) {
      // A CR before the LF would end the line early in a client and leave an empty one: drop it.
      if (i > 0 && data[i - 1] === CR) pos--;
      out[pos++] = LF;
      lineStart = true;
    } else {
      out[pos++] = b;
    }
  }
  if (n === 0) {
    // An empty payload is one empty data line.
    for (let k = 0; k < DATA_PREFIX_LENGTH; k++) out[pos++] = DATA_PREFIX[k]!;
    out[pos++] = LF;
  } else if (!lineStart) {
    out[pos++] = LF; // the last line's end (a final LF in the payload already ended it)
  }
  out[pos++] = LF;
  return out.subarray(0, pos);
}
