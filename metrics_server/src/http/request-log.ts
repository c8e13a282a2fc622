/**
 * The request log: one line per request, written when the response has been handed to the socket
 * (the seed's Flask `before_request`/`after_request`), timed with a high-resolution clock from
 * arrival. Level follows status: INFO for 1xx-3xx, WARNING for 4xx, ERROR for 5xx. Text form:
 * `INFO /telemetry/ListMetrics 200 0.19ms` (after the logger's timestamp).
 *
 * Both ways a request is answered report here: the Fastify hooks below, and the read fast path
 * (fast-read-path.ts), so every request gets the same line and feeds the same observers (the
 * request-duration histogram).
 */
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

/** The seed's line after the level: `<url> <status> <ms>ms`. */
export function formatRequestLine(url: string, status: number, durationMs: number): string {
  return `${url} ${status} ${durationMs.toFixed(2)}ms`;
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
  record(url: string, route: string, method: string, status: number, receivedAt: number): void {
    const durationMs = performance.now() - receivedAt;
    const level = route === READINESS_PATH ? this.probeLevel(status) : levelForStatus(status);
    // Skip the formatting work entirely when the level is filtered out.
    if (this.logger.isEnabled(level)) this.logger.log(level, formatRequestLine(url, status, durationMs));
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
    recorder.record(request.url, request.routeOptions.url ?? 'unmatched', request.method, reply.statusCode, request.receivedAt);
    done();
  });
}
