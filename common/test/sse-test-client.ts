/**
 * An event-stream client for tests over real sockets: node:http for the transport and the
 * `eventsource-parser` library for the wire format, so the services' framing is checked by someone
 * else's reading of the SSE specification, not by their own code. A `Content-Encoding: deflate`
 * answer is decoded by Node's zlib as it arrives, as a browser does.
 */
import http from 'node:http';
import { StringDecoder } from 'node:string_decoder';
import { createInflate } from 'node:zlib';
import { createParser, type EventSourceMessage } from 'eventsource-parser';

/** An open test stream and what arrived on it. */
export interface SseTestClient {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  /** The body when the answer was not a stream (an error). */
  body(): string;
  /** A `Content-Encoding: deflate` answer's bytes as they came off the wire, still deflated (empty otherwise). */
  wire(): Buffer;
  readonly events: EventSourceMessage[];
  readonly comments: string[];
  readonly retries: number[];
  /** True once the server closed the connection. */
  ended(): boolean;
  /** Resolves once `count` events arrived (rejects after `timeoutMs`). */
  waitForEvents(count: number, timeoutMs?: number): Promise<void>;
  /** Resolves once the server closed the connection. */
  waitForEnd(timeoutMs?: number): Promise<void>;
  close(): void;
}

/** Opens `url` (127.0.0.1 only in these tests) and parses what comes back as an event stream. */
export function openSse(url: string, headers: Record<string, string> = {}): Promise<SseTestClient> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { accept: 'text/event-stream', ...headers } }, (res) => {
      const events: EventSourceMessage[] = [];
      const comments: string[] = [];
      const retries: number[] = [];
      let raw = '';
      let isEnded = false;
      const parser = createParser({
        onEvent: (event) => events.push(event),
        onComment: (comment) => comments.push(comment),
        onRetry: (retry) => retries.push(retry),
      });
      const decoder = new StringDecoder('utf8');
      const wire: Buffer[] = [];
      const take = (chunk: Buffer): void => {
        const text = decoder.write(chunk);
        if (res.statusCode === 200) parser.feed(text);
        else raw += text;
      };
      if (res.headers['content-encoding'] === 'deflate') {
        const inflate = createInflate();
        inflate.on('data', take);
        inflate.on('error', () => undefined);
        res.on('data', (chunk: Buffer) => {
          wire.push(chunk);
          inflate.write(chunk);
        });
      } else {
        res.on('data', take);
      }
      const markEnded = (): void => {
        isEnded = true;
      };
      res.on('end', markEnded);
      res.on('close', markEnded);
      res.on('error', markEnded);
      const poll = (done: () => boolean, what: string, timeoutMs: number): Promise<void> =>
        new Promise((ok, fail) => {
          const deadline = Date.now() + timeoutMs;
          const check = (): void => {
            if (done()) ok();
            else if (Date.now() > deadline) fail(new Error(`timed out waiting for ${what} (${events.length} events so far)`));
            else setTimeout(check, 5);
          };
          check();
        });
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        body: () => raw,
        wire: () => Buffer.concat(wire),
        events,
        comments,
        retries,
        ended: () => isEnded,
        waitForEvents: (count, timeoutMs = 5000) => poll(() => events.length >= count, `${count} events`, timeoutMs),
        waitForEnd: (timeoutMs = 5000) => poll(() => isEnded, 'the end of the stream', timeoutMs),
        close: () => {
          req.destroy();
          res.destroy();
        },
      });
    });
    req.on('error', reject);
  });
}
