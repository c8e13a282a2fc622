/**
 * Builds the metrics server's HTTP app without listening, so tests can `inject` requests and the
 * composition root owns `listen`. All error answers funnel through here: one error handler, one
 * not-found handler, one 405 route per known path, JSON bodies only, no internals.
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerFactory } from 'fastify';
import type { Logger } from '../../../common/logger.js';
import type { ViewRegistry } from '../views/registry.js';
import { CLIENT_ERROR_STATUS, HttpError, errorJson, methodNotAllowed } from './errors.js';
import { FastReadPath } from './fast-read-path.js';
import { LongLivedResponses } from './long-lived.js';
import { RequestRecorder, registerRequestLog, type ResponseObserver } from './request-log.js';
import { registerStatusRoutes, type StatusContext } from './status-routes.js';
import { JSON_TYPE, registerTelemetryRoutes } from './telemetry-routes.js';

/** The HTTP limits of config `http.*`. */
export interface HttpLimits {
  readonly maxQueryBytes: number;
  readonly maxHeaderBytes: number;
  readonly requestTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  /** Answer plain GetMetric/ListMetrics successes before the framework (see fast-read-path.ts). */
  readonly fastReadPath: boolean;
}

/** What the app is built from. */
export interface AppOptions extends StatusContext {
  readonly logger: Logger;
  readonly limits: HttpLimits;
  /** The rendered views of the current snapshot (the ListMetrics body comes from here). */
  readonly views: ViewRegistry;
  /** Extra GET routes (e.g. `/metrics`), registered with the same error handling and 405s. */
  readonly plugins?: readonly RoutePlugin[];
}

/** What the app offers a plugin besides Fastify itself. */
export interface HttpEdges {
  /** Register open-ended responses (event streams) here: they are ended when the app closes. */
  readonly longLived: LongLivedResponses;
}

/** A set of extra routes (`/metrics`; a stream or a dashboard next). */
export interface RoutePlugin {
  /** The GET paths the plugin registers; other methods on them answer 405. */
  readonly paths: readonly string[];
  /** Path prefixes the plugin serves everything under (e.g. `/assets/`); other methods answer 405 there too. */
  readonly prefixes?: readonly string[];
  register(app: FastifyInstance, edges: HttpEdges): void;
  /** Told of every answered request, however it was answered (e.g. a request-duration histogram). */
  readonly onResponse?: ResponseObserver;
}

/** Paths the app serves with GET/HEAD; any other method on them is a 405. */
const GET_PATHS = ['/telemetry/GetMetric', '/telemetry/ListMetrics', '/telemetry/Status', '/healthz', '/readyz'];
const ALLOW = 'GET, HEAD';

/** The metrics server's Fastify app, ready to `listen` (or to `inject` into). */
export function buildApp(options: AppOptions): FastifyInstance {
  const { logger, limits, views } = options;
  const plugins = options.plugins ?? [];
  const recorder = new RequestRecorder(
    logger,
    plugins.flatMap((p) => (p.onResponse === undefined ? [] : [p.onResponse])),
  );
  const longLived = new LongLivedResponses();
  const fastPath = limits.fastReadPath ? new FastReadPath({ reader: options.reader, views, recorder, maxQueryBytes: limits.maxQueryBytes }) : undefined;
  const app = Fastify({
    logger: false,
    serverFactory: limitedServerFactory(limits, recorder, fastPath),
    // Fastify's own defaults are generous; a query API needs no request bodies at all.
    bodyLimit: 1024,
    return503OnClosing: true,
    routerOptions: { ignoreTrailingSlash: false, ignoreDuplicateSlashes: false, maxParamLength: 100 },
    frameworkErrors: (error, request, reply) => {
      // Raised while routing, before any hook: no onResponse will log this request, so it is logged
      // here (found by a malformed-URL probe: a 400 went out with no log line).
      const receivedAt = performance.now();
      const plain: FastifyReply = reply;
      void plain.code(400).type(JSON_TYPE).send(errorJson(error.code === 'FST_ERR_BAD_URL' ? 'malformed URL' : 'bad request'));
      recorder.record(request.url, 'unmatched', request.method, 400, receivedAt);
    },
  });

  registerRequestLog(app, recorder);
  // From the start of close, Fastify answers 503 (return503OnClosing) and the fast path steps aside;
  // open-ended responses are ended now, or the drain that follows would wait for them forever.
  app.addHook('preClose', (done) => {
    fastPath?.markClosing();
    longLived.endAll();
    done();
  });

  app.setErrorHandler((error, request, reply) => {
    if (error instanceof HttpError) {
      void reply.code(error.statusCode).headers(error.headers).type(JSON_TYPE).send(errorJson(error.message));
      return;
    }
    const status = typeof error === 'object' && error !== null && 'statusCode' in error && typeof error.statusCode === 'number' ? error.statusCode : 500;
    if (status >= 400 && status < 500) {
      // Framework 4xx (bad content type, body too large, ...): their messages describe the request.
      const message = error instanceof Error ? error.message : 'bad request';
      void reply.code(status).type(JSON_TYPE).send(errorJson(message));
      return;
    }
    logger.error(`internal error on ${request.method} ${request.url}`, { err: error instanceof Error ? error : new Error(String(error)) });
    void reply.code(500).type(JSON_TYPE).send(errorJson('internal server error'));
  });

  // Fastify routes only the methods it knows (GET, POST, ... QUERY); a request with another method
  // Node accepts (PROPFIND, PURGE, LINK, ...) lands here even on a known path. The spec wants 405 for
  // any method other than GET/HEAD on a known path; the request-abuse suite found these answered 404.
  const knownPaths = new Set([...GET_PATHS, ...plugins.flatMap((p) => p.paths)]);
  const knownPrefixes = plugins.flatMap((p) => p.prefixes ?? []);
  const isKnown = (path: string): boolean => knownPaths.has(path) || knownPrefixes.some((prefix) => path.startsWith(prefix));
  const unroutable = (request: FastifyRequest): HttpError => {
    const q = request.url.indexOf('?');
    return isKnown(q === -1 ? request.url : request.url.slice(0, q)) ? methodNotAllowed(request.method, ALLOW) : new HttpError(404, 'no such endpoint');
  };
  // One guard for every request, before any body is parsed (one hook, not three: it runs on the
  // hot path). Unroutable requests are answered here: otherwise a QUERY or a POST with a malformed
  // JSON body to an unknown path got a 400 from the body parser instead of the 404.
  app.addHook('onRequest', (request, reply, done) => {
    request.receivedAt = performance.now();
    if (request.raw.httpVersion === '1.1' && request.headers.host === undefined) {
      void reply.code(400).header('connection', 'close').type(JSON_TYPE).send(errorJson('missing Host header'));
      return;
    }
    const q = request.url.indexOf('?');
    if (q !== -1 && request.url.length - q - 1 > limits.maxQueryBytes) {
      void reply.code(414).type(JSON_TYPE).send(errorJson(`query string longer than ${limits.maxQueryBytes} bytes`));
      return;
    }
    done(request.is404 ? unroutable(request) : undefined);
  });
  app.setNotFoundHandler((request) => {
    throw unroutable(request);
  });

  registerTelemetryRoutes(app, options.reader, views, logger);
  registerStatusRoutes(app, options);
  for (const plugin of plugins) plugin.register(app, { longLived });

  const otherMethods = app.supportedMethods.filter((m) => m !== 'GET' && m !== 'HEAD');
  for (const url of [...GET_PATHS, ...plugins.flatMap((p) => p.paths), ...knownPrefixes.map((prefix) => `${prefix}*`)]) {
    app.route({
      method: otherMethods,
      url,
      // Refuse before the body is parsed: otherwise QUERY without a Content-Type got a 400 and a
      // large POST a 413 instead of the 405 the spec asks for (found by the request-abuse suite).
      onRequest: (request, _reply, done) => done(methodNotAllowed(request.method, ALLOW)),
      handler: (request) => {
        throw methodNotAllowed(request.method, ALLOW);
      },
    });
  }
  return app;
}

/**
 * The method and request target of what a client sent before Node refused it, read from the raw
 * bytes' first line (`-` for what is not there); the request log escapes them.
 */
function requestTarget(rawPacket: unknown): { method: string; url: string } {
  if (!Buffer.isBuffer(rawPacket)) return { method: '-', url: '-' };
  const firstLine = rawPacket.subarray(0, Math.min(rawPacket.length, 4096)).toString('latin1').split('\r\n', 1)[0] ?? '';
  const [method = '', url = ''] = firstLine.split(' ');
  // The method becomes a metric label: only the methods Node knows, never whatever a client wrote.
  return { method: http.METHODS.includes(method) ? method : 'OTHER', url: url === '' ? '-' : url.slice(0, 2048) };
}

/**
 * A node:http server with our limits: header size (431), whole-request timeout against slow-loris
 * clients (408), keep-alive timeout, and JSON bodies for errors Node raises before Fastify sees a
 * request. The read fast path, when on, sees each request first.
 */
function limitedServerFactory(limits: HttpLimits, recorder: RequestRecorder, fastPath: FastReadPath | undefined): FastifyServerFactory {
  return (fastifyHandler) => {
    const handler: http.RequestListener =
      fastPath === undefined
        ? fastifyHandler
        : (req, res) => {
            if (!fastPath.handle(req, res)) fastifyHandler(req, res);
          };
    const server = http.createServer(
      {
        maxHeaderSize: limits.maxHeaderBytes,
        requestTimeout: limits.requestTimeoutMs,
        headersTimeout: Math.min(limits.requestTimeoutMs, 60_000),
        keepAliveTimeout: limits.keepAliveTimeoutMs,
        // How often Node checks the two timeouts above; the default (30 s) would let a slow client
        // hold a socket far past its limit.
        connectionsCheckingInterval: Math.min(1000, limits.requestTimeoutMs),
        // Node's own answer to an HTTP/1.1 request without Host is a bare 400 with an empty body;
        // the onRequest hook in buildApp answers it instead, with a JSON error like every other.
        requireHostHeader: false,
      },
      handler,
    );
    // When each connection opened: the only start time a request Node refuses before it is complete has.
    const connectedAt = new WeakMap<Socket, number>();
    server.on('connection', (socket: Socket) => connectedAt.set(socket, performance.now()));
    server.on('clientError', (err: NodeJS.ErrnoException & { rawPacket?: unknown }, socket: Socket) => {
      const known = CLIENT_ERROR_STATUS[err.code ?? ''];
      const status = known?.status ?? 400;
      // A reset before any byte is no request: nothing to answer, nothing to log.
      if (err.code !== 'ECONNRESET' || Buffer.isBuffer(err.rawPacket)) {
        const target = requestTarget(err.rawPacket);
        recorder.record(target.url, 'unmatched', target.method, status, connectedAt.get(socket) ?? performance.now(), { socket });
      }
      if (!socket.writable || err.code === 'ECONNRESET') {
        socket.destroy();
        return;
      }
      const body = errorJson(known?.message ?? 'bad request');
      socket.end(
        `HTTP/1.1 ${status} ${known?.text ?? 'Bad Request'}\r\nContent-Type: ${JSON_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    });
    return server;
  };
}
