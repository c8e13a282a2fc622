/**
 * The read fast path: answers the plain success case of GetMetric and ListMetrics straight from
 * node:http, before Fastify builds its request and reply objects and runs its hook chain. Those are
 * the hot reads of an operator's dashboards and scrapers; the framework's per-request work was the
 * largest share of the gap to a bare node:http server (`npm run bench` keeps a "Fastify routes only"
 * row with this path off, so the difference stays measured).
 *
 * It only ever answers 200 with exactly what the Fastify route would send. Anything else falls
 * through to the Fastify app, which stays the one definition of every other answer: errors, 304,
 * HEAD, other methods, a missing Host header, an over-long query, no snapshot yet, a closing server,
 * a ListMetrics body still to be rendered.
 * Equivalence with the routes is a test (fast-read-path.test.ts). Every request it answers still gets
 * its log line and histogram observation through the shared RequestRecorder.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SnapshotReader } from '../store/reader.js';
import type { ViewRegistry } from '../views/registry.js';
import { scanGetMetricQuery, scannedGetMetric } from './query-params.js';
import type { RequestRecorder } from './request-log.js';
import { GET_METRIC_PATH, LIST_METRICS_PATH, LIST_METRICS_VARY, LIST_METRICS_VIEW, getMetricJson, snapshotHeaderList } from './telemetry-routes.js';

/** What the fast path reads and reports to. */
export interface FastReadPathOptions {
  readonly reader: SnapshotReader;
  readonly views: ViewRegistry;
  readonly recorder: RequestRecorder;
  /** The app's query-string limit: a longer one is the app's 414, not ours to answer. */
  readonly maxQueryBytes: number;
}

/** Answers plain GetMetric/ListMetrics successes before the framework, or hands the request on. */
export class FastReadPath {
  /** Set when the app starts closing: from then on its 503 answers every request. */
  private closing = false;

  constructor(private readonly options: FastReadPathOptions) {}

  /** From now on every request goes to the app (which answers 503 while it closes). */
  markClosing(): void {
    this.closing = true;
  }

  /** Answers the request and returns true, or returns false having touched nothing. */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const receivedAt = performance.now();
    const headers = req.headers;
    if (this.closing || req.method !== 'GET' || headers.host === undefined || headers['if-none-match'] !== undefined || headers['if-modified-since'] !== undefined) return false;
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    if (path === GET_METRIC_PATH) return this.getMetric(req, res, url, q, receivedAt);
    // ListMetrics: the plain whole JSON body only (filters, compressed and Arrow bodies are the route's to negotiate).
    if (path === LIST_METRICS_PATH && q === -1 && headers['accept-encoding'] === undefined && !mayWantArrow(headers.accept)) return this.listMetrics(req, res, url, receivedAt);
    return false;
  }

  private getMetric(req: IncomingMessage, res: ServerResponse, url: string, q: number, receivedAt: number): boolean {
    if (q === -1 || url.length - q - 1 > this.options.maxQueryBytes) return false;
    const snapshot = this.options.reader.current();
    if (snapshot === undefined) return false;
    if (!scanGetMetricQuery(url, q + 1)) return false;
    const { switchId, metric } = scannedGetMetric;
    const value = snapshot.value(switchId, metric);
    if (value === undefined) return false;
    const body = getMetricJson(switchId, metric, value, snapshot);
    // The body is ASCII (ids and names match the schema's patterns), so its length is its byte count.
    res.writeHead(200, snapshotHeaderList(snapshot, body.length));
    // A short body on a writable socket is written within end(): the line is logged right after it.
    res.end(body);
    this.options.recorder.record(url, GET_METRIC_PATH, 'GET', 200, receivedAt, req);
    return true;
  }

  private listMetrics(req: IncomingMessage, res: ServerResponse, url: string, receivedAt: number): boolean {
    const snapshot = this.options.reader.current();
    if (snapshot === undefined) return false;
    // Not rendered yet for this snapshot: the route waits for the render.
    const body = this.options.views.ready(LIST_METRICS_VIEW, snapshot);
    if (body === undefined) return false;
    const headers = snapshotHeaderList(snapshot, body.length);
    headers.push('vary', LIST_METRICS_VARY);
    res.writeHead(200, headers);
    // Large bodies leave end() still queued; the line waits for the socket to take all of it.
    res.once('finish', () => this.options.recorder.record(url, LIST_METRICS_PATH, 'GET', 200, receivedAt, req));
    res.end(body);
    return true;
  }
}

/** A cheap test that leaves every `Accept` that could name the Arrow stream type to the route. */
function mayWantArrow(accept: string | undefined): boolean {
  return accept !== undefined && /arrow/i.test(accept);
}
