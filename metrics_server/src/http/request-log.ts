/**
 * The request log: one line per request, written from the framework's request hooks (the seed's
 * Flask `before_request`/`after_request`), timed with a high-resolution clock from arrival to the end
 * of the response. Level follows status: INFO for 1xx-3xx, WARNING for 4xx, ERROR for 5xx. Text form:
 * `INFO /telemetry/ListMetrics 200 0.19ms` (after the logger's timestamp).
 */
import type { FastifyInstance } from 'fastify';
import type { Logger, LogLevel } from '../../../common/logger.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** performance.now() when the request arrived. */
    receivedAt: number;
  }
}

export function levelForStatus(status: number): LogLevel {
  if (status >= 500) return 'ERROR';
  if (status >= 400) return 'WARNING';
  return 'INFO';
}

export function formatRequestLine(url: string, status: number, durationMs: number): string {
  return `${url} ${status} ${durationMs.toFixed(2)}ms`;
}

export function registerRequestLog(app: FastifyInstance, logger: Logger): void {
  app.decorateRequest('receivedAt', 0);
  app.addHook('onRequest', (request, _reply, done) => {
    request.receivedAt = performance.now();
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    const status = reply.statusCode;
    const level = levelForStatus(status);
    // Skip the formatting work entirely when the level is filtered out.
    if (logger.isEnabled(level)) logger.log(level, formatRequestLine(request.url, status, performance.now() - request.receivedAt));
    done();
  });
}
