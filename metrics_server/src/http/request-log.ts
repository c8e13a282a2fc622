/**
 * The request log: one line per request, written when the response has been handed to the socket
 * (the seed's Flask `before_request`/`after_request`), timed with a high-resolution clock from
 * arrival. Level follows status: INFO for 1xx-3xx, WARNING for 4xx, ERROR for 5xx. Text form:
 * `INFO /telemetry/ListMetrics 200 0.19ms` (after the logger's timestamp). In JSON form the line
 * also carries fields for log shippers: method, path, status, duration_ms, remote_address and
 * request_id (the client's `X-Request-Id` when it is a plain token, else one made here).
 *
 * Every way a request is answered reports here: the Fastify hooks below, the read fast path
 * (fast-read-path.ts), and requests Node refuses before they are complete (408, 431, malformed:
 * app.ts), so every request gets one line and feeds the same observers (the request-duration
 * histogram). What the client sent is escaped in the line: the URL is logged as received, with any
 * byte outside printable ASCII, and `"` and `\`, percent-encoded.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { Logger, LogLevel } from '../../../common/logger.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** performance.now() when the request arrived. */
    receivedAt: number;
  }
}

/** Told of every answered request: the route pattern (never the raw URL), method, status, duration. */
export type ResponseObserver = (route: string, method: string, status: number, durationMs: number) => void;

/** INFO for 1xx-3xx, WARNING for 4xx, ERROR for 5xx. */
export function levelForStatus(status: number): LogLevel {
  if (status >= 500) return 'ERROR';
  if (status >= 400) return 'WARNING';
  return 'INFO';
}

/** The seed's line after the level: `<url> <status> <ms>ms` (the URL escaped). */
export function formatRequestLine(url: string, status: number, durationMs: number): string {
  return `${escapeForLog(url)} ${status} ${durationMs.toFixed(2)}ms`;
}

/**
 * `text` with every character outside printable ASCII (0x21-0x7e), and `"` and `\`, written as `%XX`
 * (its char code; request targets are read as latin1, so every char is one byte), so a hostile
 * request target cannot forge a line, a field or a terminal escape. Ordinary URLs pass unchanged.
 */
export function escapeForLog(text: string): string {
  let i = 0;
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x21 || c > 0x7e || c === 0x22 || c === 0x5c) break;
  }
  if (i === text.length) return text;
  let out = text.slice(0, i);
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    out += c < 0x21 || c > 0x7e || c === 0x22 || c === 0x5c ? `%${(c & 0xff).toString(16).toUpperCase().padStart(2, '0')}` : text[i]!;
  }
  return out;
}

/** Who sent a request, as far as is known (an IncomingMessage is one): for the JSON line's fields. */
export interface RequestPeer {
  readonly socket?: { readonly remoteAddress?: string | undefined } | null;
  readonly headers?: IncomingHttpHeaders | undefined;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;
let nextRequestId = 0;
const REQUEST_ID_PREFIX = `${process.pid.toString(36)}-${Date.now().toString(36)}-`;

/** The client's `X-Request-Id` when it is a plain token (letters, digits, `._:-`, ≤ 64), else a new one. */
export function requestIdOf(headers: IncomingHttpHeaders | undefined): string {
  const given = headers?.['x-request-id'];
  if (typeof given === 'string' && REQUEST_ID.test(given)) return given;
  nextRequestId += 1;
  return REQUEST_ID_PREFIX + nextRequestId.toString(36);
}

/** Writes each answered request's line and tells the observers; shared by both request paths. */
export class RequestRecorder {
  /** performance.now() of the last not-ready probe line written at WARNING. */
  private notReadyWarnedAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly logger: Logger,
    private readonly observers: readonly ResponseObserver[],
  ) {}

  /** One answered request; `receivedAt` is its performance.now() on arrival. */
  record(url: string, route: string, method: string, status: number, receivedAt: number, peer?: RequestPeer): void {
    const durationMs = performance.now() - receivedAt;
    const level = route === READINESS_PATH ? this.probeLevel(status) : levelForStatus(status);
    // Skip the formatting work entirely when the level is filtered out.
    if (this.logger.isEnabled(level)) {
      const line = formatRequestLine(url, status, durationMs);
      if (this.logger.format === 'json') {
        this.logger.log(level, line, {
          method,
          path: escapeForLog(url),
          status,
          duration_ms: Math.round(durationMs * 100) / 100,
          remote_address: peer?.socket?.remoteAddress ?? null,
          request_id: requestIdOf(peer?.headers),
        });
      } else this.logger.log(level, line);
    }
    for (const observe of this.observers) observe(route, method, status, durationMs);
  }

  /**
   * A load balancer probes `/readyz` every few seconds; a 503 there says "not ready", not "the server
   * failed". So a not-ready answer is a WARNING when readiness is lost and then at most once a
   * minute, and DEBUG in between (an operator saw an ERROR line per probe, forever); once the server
   * is ready again, the next loss warns at once.
   */
  private probeLevel(status: number): LogLevel {
    if (status !== 503) {
      if (status < 400) this.notReadyWarnedAt = Number.NEGATIVE_INFINITY;
      return levelForStatus(status);
    }
    const now = performance.now();
    if (now - this.notReadyWarnedAt < NOT_READY_LOG_INTERVAL_MS) return 'DEBUG';
    this.notReadyWarnedAt = now;
    return 'WARNING';
  }
}

/** The readiness probe's path: its answers are logged by `RequestRecorder.probeLevel`. */
export const READINESS_PATH = '/readyz';

/** A not-ready probe answer is logged at WARNING at most this often while readiness stays lost. */
export const NOT_READY_LOG_INTERVAL_MS = 60_000;

/**
 * The Fastify side: one `onResponse` hook. The arrival time is stamped by the app's single
 * `onRequest` guard (one hook, not two, on the hot path).
 */
export function registerRequestLog(app: FastifyInstance, recorder: RequestRecorder): void {
  app.decorateRequest('receivedAt', 0);
  app.addHook('onResponse', (request, reply, done) => {
    recorder.record(request.url, request.routeOptions.url ?? 'unmatched', request.method, reply.statusCode, request.receivedAt, request.raw);
    done();
  });
}
