/**
 * The generator's HTTP surface, built without listening so tests can `inject` into it.
 * `GET /counters` (and HEAD) serve the current tick's prepared bytes; everything else is a JSON
 * error. Fastify's own logger stays off: request logging, if any, goes through common/logger.ts.
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { METRICS_PATH, registerMetricsRoute } from '../../common/metrics-endpoint.js';
import { ARROW_STREAM_TYPE, prefersArrow } from '../../common/arrow-media.js';
import { etagListMatches } from '../../common/http-etag.js';
import { SSE_HEADERS } from '../../common/sse.js';
import { EVENT_DATA_TYPES, type CounterStream, type CounterStreamFormat } from './counter-stream.js';
import type { CountersBody, CountersProvider } from './feed.js';
import type { GeneratorMetrics } from './generator-metrics.js';

/** The seed's path of the CSV. */
export const COUNTERS_PATH = '/counters';
/** The ticks as Server-Sent Events. */
export const COUNTERS_STREAM_PATH = '/counters/stream';
/** The methods `/counters` answers. */
export const COUNTERS_ALLOW = 'GET, HEAD';
const CSV_CONTENT_TYPE = 'text/csv; charset=utf-8';
const CSV_MEDIA_TYPE = 'text/csv';
const MAX_ECHOED_PATH = 200;

/** What the generator's app serves from. */
export interface GeneratorAppOptions {
  readonly feed: CountersProvider;
  /** When given, `GET /metrics` serves the generator's own metrics. */
  readonly metrics?: GeneratorMetrics;
  /** When given, `GET /counters/stream` serves it; it is ended when the app closes. */
  readonly stream?: CounterStream;
}

/** The generator's Fastify app, ready to `listen` (or to `inject` into). */
export function buildGeneratorApp(options: GeneratorAppOptions): FastifyInstance {
  const app = Fastify({ logger: false });
  const { feed } = options;

  // exposeHeadRoutes (on by default) adds HEAD with the same headers and no body.
  // CSV unless `Accept` names the Arrow stream (SPEC, "Binary transport"); each representation has its
  // own ETag, and `Vary: Accept` tells caches that the answer depends on that header.
  app.get(COUNTERS_PATH, async (request, reply) => {
    const arrow = feed.currentArrow !== undefined && prefersArrow(request.headers.accept, CSV_MEDIA_TYPE);
    const counters = arrow ? await feed.currentArrow!() : feed.current();
    reply.header('etag', counters.etag).header('last-modified', counters.lastModified).header('cache-control', 'no-cache').header('vary', 'Accept');
    if (isNotModified(request, counters)) return reply.code(304).send();
    return reply.header('content-type', arrow ? ARROW_STREAM_TYPE : CSV_CONTENT_TYPE).send(counters.body);
  });

  const stream = options.stream;
  if (stream !== undefined) {
    // `?format=arrow`: the events carry Arrow IPC (base64) instead of CSV lines. A query parameter
    // rather than `Accept`, because a browser's EventSource cannot set headers; the answer's
    // `X-Event-Data-Type` says which one a client got (a generator without Arrow ignores the parameter
    // and sends no such header).
    app.get(COUNTERS_STREAM_PATH, async (request, reply) => {
      const query = request.query as Record<string, unknown>;
      const delta = query['delta'] === '1' || query['delta'] === 'true';
      const format = streamFormat(query['format']);
      if (format === undefined) return sendError(reply, 400, 'format must be csv or arrow');
      if (format === 'arrow' && !stream.servesArrow) return sendError(reply, 406, 'this generator\'s stream serves CSV only');
      const header = request.headers['last-event-id'];
      const fromQuery = query['last_event_id'];
      const lastEventId = typeof header === 'string' ? header : typeof fromQuery === 'string' ? fromQuery : undefined;
      if (request.method === 'HEAD') return reply.headers(SSE_HEADERS).header('x-event-data-type', EVENT_DATA_TYPES[format]).code(200).send();
      if (!stream.hasRoom()) return sendError(reply, 503, `too many stream clients (at most ${stream.maxClients}); try again later`);
      // The first Arrow client loads the writer; checked for room again, since others may have come meanwhile.
      if (format === 'arrow') await stream.prepareArrow();
      if (!stream.hasRoom()) return sendError(reply, 503, `too many stream clients (at most ${stream.maxClients}); try again later`);
      // From here the response is the stream's: Fastify neither sends nor times it.
      reply.hijack();
      reply.raw.setHeader('x-event-data-type', EVENT_DATA_TYPES[format]);
      stream.connect(reply.raw, { delta, format }, lastEventId);
      return reply;
    });
    // The streams never end by themselves: end them first, or close would wait for them forever.
    app.addHook('preClose', (done) => {
      stream.close();
      done();
    });
  }

  if (options.metrics !== undefined) registerMetricsRoute(app, options.metrics.registries);
  const knownPaths = [COUNTERS_PATH, ...(stream !== undefined ? [COUNTERS_STREAM_PATH] : []), ...(options.metrics !== undefined ? [METRICS_PATH] : [])];

  // Routes match on method and path, so a POST to /counters lands here too: tell 405 from 404.
  app.setNotFoundHandler((request, reply) => {
    const path = pathOf(request.url);
    if (knownPaths.includes(path)) {
      return sendError(reply.header('allow', COUNTERS_ALLOW), 405, `method ${request.method} not allowed on ${path}; use GET or HEAD`);
    }
    // The path is echoed for the caller's benefit, but bounded: a URL can be many kilobytes.
    const shown = path.length > MAX_ECHOED_PATH ? `${path.slice(0, MAX_ECHOED_PATH)}...` : path;
    return sendError(reply, 404, `no such path: ${shown}; the generator serves GET ${COUNTERS_PATH}`);
  });

  // Whatever goes wrong, the client sees a status and a short message, never a stack trace.
  app.setErrorHandler((error: { statusCode?: number; message?: string }, _request, reply) => {
    const status = typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 500;
    return sendError(reply, status, status < 500 && error.message ? error.message : 'internal error');
  });

  return app;
}

function sendError(reply: FastifyReply, status: number, message: string): FastifyReply {
  return reply.code(status).header('content-type', 'application/json; charset=utf-8').send(JSON.stringify({ error: message }));
}

function streamFormat(value: unknown): CounterStreamFormat | undefined {
  if (value === undefined || value === 'csv') return 'csv';
  return value === 'arrow' ? 'arrow' : undefined;
}

function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

/**
 * RFC 9110 section 13.1: If-None-Match (weak comparison, `*` matches) wins over If-Modified-Since;
 * the latter is only consulted when the former is absent.
 */
export function isNotModified(request: FastifyRequest, counters: CountersBody): boolean {
  const ifNoneMatch = request.headers['if-none-match'];
  if (ifNoneMatch !== undefined) return etagListMatches(ifNoneMatch, counters.etag);
  const ifModifiedSince = request.headers['if-modified-since'];
  if (ifModifiedSince === undefined) return false;
  const since = Date.parse(ifModifiedSince);
  return Number.isFinite(since) && counters.lastModifiedSeconds <= Math.floor(since / 1000);
}
