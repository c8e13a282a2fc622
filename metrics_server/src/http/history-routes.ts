/**
 * The history endpoints (SPEC "History"): `GetHistory` (one series, raw or in buckets), `Aggregate`
 * (one fn over one switch or the fabric) and `Top` (the k switches ranked by a fn). Parameters are read
 * strictly (history-params.ts); the answers come from the history store, the heavy ones as sliced
 * jobs so that no request holds the event loop for long.
 *
 * Headers: `X-Snapshot-Age-Seconds` of the current snapshot, and `Cache-Control: no-store` without an
 * ETag: a window relative to `now` moves every second without a new snapshot, so the snapshot's ETag
 * would claim a sameness the body does not have (as for Status).
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Logger } from '../../../common/logger.js';
import { AGGREGATE_FNS, type AggregateFn } from '../history/aggregate-fns.js';
import type { HistoryStore } from '../history/history-store.js';
import { aggregateJob, seriesBuckets, seriesSampleCount, seriesSamples, topJob } from '../history/queries.js';
import { runSliced } from '../history/slices.js';
import type { SnapshotReader } from '../store/reader.js';
import { jsonNumber } from '../views/list-metrics-json.js';
import type { RoutePlugin } from './app.js';
import { HttpError, badRequest, noSnapshotYet, notFound } from './errors.js';
import { bucketCount, checkWithinRetention, choiceParam, durationParam, integerParam, optionalParam, suggestStep, timeParam } from './history-params.js';
import { metricParam, switchParam, type Query } from './query-params.js';
import { JSON_TYPE, SNAPSHOT_AGE_HEADER, ageHeaderValue } from './telemetry-routes.js';

/** The three paths. */
export const HISTORY_PATHS = { getHistory: '/telemetry/GetHistory', aggregate: '/telemetry/Aggregate', top: '/telemetry/Top' } as const;
/** Most samples or buckets one GetHistory answer holds. */
export const MAX_HISTORY_POINTS = 11_000;
/** Top's `k` range and default. */
export const TOP_K_MAX = 1000;
/** Top's `k` when absent. */
export const TOP_K_DEFAULT = 10;
/** The window of Aggregate and Top, and GetHistory's `since`, when absent (or the retention, when shorter). */
export const DEFAULT_WINDOW = '1h';

/** DEFAULT_WINDOW, or the whole retention when that is shorter: a request without a window never gets a 400. */
function defaultWindow(retentionSeconds: number): string {
  return retentionSeconds >= 3600 ? DEFAULT_WINDOW : `${retentionSeconds}s`;
}

/** What the history routes read. */
export interface HistoryRouteContext {
  /** The history, or undefined when config `history.enabled` is false. */
  readonly history: HistoryStore | undefined;
  readonly reader: SnapshotReader;
  readonly retentionSeconds: number;
  readonly logger: Logger;
  /** Unix seconds now (tests fix it). */
  readonly now?: () => number;
}

const ORDERS = ['desc', 'asc'] as const;

/** The routes as a plugin of the app (GET/HEAD; other methods 405). */
export function historyRoutes(ctx: HistoryRouteContext): RoutePlugin {
  return { paths: Object.values(HISTORY_PATHS), register: (app) => registerHistoryRoutes(app, ctx) };
}

function registerHistoryRoutes(app: FastifyInstance, ctx: HistoryRouteContext): void {
  const nowSeconds = ctx.now ?? (() => Math.floor(Date.now() / 1000));
  const fallbackWindow = defaultWindow(ctx.retentionSeconds);

  /** The history, with a snapshot or samples to answer from (503 before either, 404 when turned off). */
  const ready = (reply: FastifyReply): HistoryStore => {
    const history = ctx.history;
    if (history === undefined) throw notFound('history is turned off (config history.enabled)');
    const snapshot = ctx.reader.current();
    if (snapshot === undefined && history.stats().snapshots === 0) throw noSnapshotYet();
    if (snapshot !== undefined) void reply.header(SNAPSHOT_AGE_HEADER, ageHeaderValue(snapshot));
    void reply.header('cache-control', 'no-store').type(JSON_TYPE);
    return history;
  };
  const knownSwitch = (history: HistoryStore, id: string): void => {
    if (ctx.reader.current()?.hasSwitch(id) !== true && !history.hasSwitch(id)) throw notFound(`unknown switch '${id}'`);
  };
  const knownMetric = (history: HistoryStore, name: string): void => {
    if (ctx.reader.current()?.hasMetric(name) !== true && !history.hasMetric(name)) throw notFound(`unknown metric '${name}'`);
  };
  /** Runs a sliced job; a failure inside is an internal error, logged, never a half answer. */
  const run = async <T>(what: string, job: Generator<void, T, void>): Promise<T> => {
    try {
      return await runSliced(job);
    } catch (err) {
      ctx.logger.error(`${what} failed: ${err instanceof Error ? err.message : String(err)}`);
      throw new HttpError(500, 'internal server error');
    }
  };

  app.get(HISTORY_PATHS.getHistory, async (request, reply) => {
    const query = request.query as Query;
    const switchId = switchParam(query);
    const metric = metricParam(query);
    const now = nowSeconds();
    const since = timeParam(query, 'since', now, `-${fallbackWindow}`);
    const until = timeParam(query, 'until', now, 'now');
    const step = optionalParam(query, 'step') === undefined ? undefined : durationParam(query, 'step').seconds;
    if (since > until) throw badRequest(`'since' (${since}) is after 'until' (${until})`);
    checkWithinRetention(until - since, ctx.retentionSeconds, 'the window');
    const history = ready(reply);
    knownSwitch(history, switchId);
    knownMetric(history, metric);
    const chunks = history.view();
    const head = `{"switch":"${switchId}","metric":"${metric}","since":${since},"until":${until},"step":${step ?? 'null'},"samples":[`;
    if (step === undefined) {
      const count = seriesSampleCount(chunks, switchId, metric, since, until);
      if (count > MAX_HISTORY_POINTS) throw badRequest(`the window holds ${count} samples, more than ${MAX_HISTORY_POINTS}; ask for buckets with step=${suggestStep(since, until, MAX_HISTORY_POINTS)} or larger`);
      const samples = seriesSamples(chunks, switchId, metric, since, until);
      return reply.send(`${head}${samples.map((s) => `{"timestamp":${s.timestamp},"value":${jsonNumber(s.value)}}`).join(',')}]}`);
    }
    const buckets = bucketCount(since, until, step);
    if (buckets > MAX_HISTORY_POINTS) throw badRequest(`step=${step}s makes ${buckets} buckets, more than ${MAX_HISTORY_POINTS}; use step=${suggestStep(since, until, MAX_HISTORY_POINTS, step)} or larger`);
    const rows = seriesBuckets(chunks, switchId, metric, since, until, step);
    return reply.send(`${head}${rows.map((b) => `{"timestamp":${b.timestamp},"min":${jsonNumber(b.min)},"max":${jsonNumber(b.max)},"avg":${jsonNumber(b.avg)},"count":${b.count}}`).join(',')}]}`);
  });

  app.get(HISTORY_PATHS.aggregate, async (request, reply) => {
    const query = request.query as Query;
    const metric = metricParam(query);
    const fn = choiceParam<AggregateFn>(query, 'fn', AGGREGATE_FNS);
    const window = durationParam(query, 'window', fallbackWindow);
    const switchId = optionalParam(query, 'switch') === undefined ? undefined : switchParam(query);
    checkWithinRetention(window.seconds, ctx.retentionSeconds, 'the window');
    const history = ready(reply);
    if (switchId !== undefined) knownSwitch(history, switchId);
    knownMetric(history, metric);
    const to = nowSeconds();
    const from = to - window.seconds;
    const result = await run('Aggregate', aggregateJob(history.view(), metric, fn, from, to, switchId));
    const value = result.value === null ? 'null' : jsonNumber(result.value);
    return reply.send(`{"metric":"${metric}","fn":"${fn}","window":"${window.text}",${switchId === undefined ? '' : `"switch":"${switchId}",`}"from":${from},"to":${to},"samples":${result.samples},"value":${value}}`);
  });

  app.get(HISTORY_PATHS.top, async (request, reply) => {
    const query = request.query as Query;
    const metric = metricParam(query);
    const k = integerParam(query, 'k', 1, TOP_K_MAX, TOP_K_DEFAULT);
    const fn = choiceParam<AggregateFn>(query, 'fn', AGGREGATE_FNS, 'last');
    const window = durationParam(query, 'window', fallbackWindow);
    const order = choiceParam(query, 'order', ORDERS, 'desc');
    checkWithinRetention(window.seconds, ctx.retentionSeconds, 'the window');
    const history = ready(reply);
    knownMetric(history, metric);
    const to = nowSeconds();
    const ranked = await run('Top', topJob(history.view(), metric, fn, to - window.seconds, to, k, order));
    const entries = ranked.map((e) => `{"switch":"${e.switch}","value":${jsonNumber(e.value)}}`).join(',');
    return reply.send(`{"metric":"${metric}","fn":"${fn}","window":"${window.text}","k":${k},"order":"${order}","switches":[${entries}]}`);
  });
}
