/**
 * The history endpoints (SPEC "History"): `GetHistory` (one series, raw or in buckets), `Aggregate`
 * (one fn over one switch or the fabric) and `Top` (the k switches ranked by a fn). Parameters are read
 * strictly (history-params.ts) on the main thread; the rest of each answer (ids only the history knows,
 * the samples, the JSON body) comes from the history service (answers.ts), which in production runs in
 * the history worker, so that no query holds the main thread's event loop.
 *
 * Headers: `X-Snapshot-Age-Seconds` of the current snapshot, and `Cache-Control: no-store` without an
 * ETag: a window relative to `now` moves every second without a new snapshot, so the snapshot's ETag
 * would claim a sameness the body does not have (as for Status).
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Logger } from '../../../common/logger.js';
import { AGGREGATE_FNS, type AggregateFn } from '../history/aggregate-fns.js';
import type { HistoryAnswer, HistoryQuery, KnownIds } from '../history/answers.js';
import type { HistoryQueries } from '../history/history-service.js';
import type { SnapshotReader } from '../store/reader.js';
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
  readonly history: HistoryQueries | undefined;
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
  const ready = (reply: FastifyReply): HistoryQueries => {
    const history = ctx.history;
    if (history === undefined) throw notFound('history is turned off (config history.enabled)');
    const snapshot = ctx.reader.current();
    if (snapshot === undefined && history.stats().snapshots === 0) throw noSnapshotYet();
    if (snapshot !== undefined) void reply.header(SNAPSHOT_AGE_HEADER, ageHeaderValue(snapshot));
    void reply.header('cache-control', 'no-store').type(JSON_TYPE);
    return history;
  };
  /** Which ids the current snapshot has (the history is asked only about the others). */
  const known = (switchId: string | undefined, metric: string): KnownIds => {
    const snapshot = ctx.reader.current();
    return { switch: switchId === undefined || snapshot?.hasSwitch(switchId) === true, metric: snapshot?.hasMetric(metric) === true };
  };
  /** Asks the history; a failure inside is an internal error, logged, never a half answer. */
  const ask = async (what: string, history: HistoryQueries, query: HistoryQuery, reply: FastifyReply): Promise<FastifyReply> => {
    let answer: HistoryAnswer;
    try {
      answer = await history.answer(query);
    } catch (err) {
      ctx.logger.error(`${what} failed: ${err instanceof Error ? err.message : String(err)}`);
      throw new HttpError(500, 'internal server error');
    }
    if (!answer.ok) throw answer.status === 404 ? notFound(answer.message) : badRequest(answer.message);
    return reply.send(answer.body);
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
    const buckets = step === undefined ? 0 : bucketCount(since, until, step);
    const tooManyBuckets = step !== undefined && buckets > MAX_HISTORY_POINTS ? `step=${step}s makes ${buckets} buckets, more than ${MAX_HISTORY_POINTS}; use step=${suggestStep(since, until, MAX_HISTORY_POINTS, step)} or larger` : null;
    const suggestedStep = step === undefined ? suggestStep(since, until, MAX_HISTORY_POINTS) : '';
    return ask('GetHistory', history, { kind: 'getHistory', switch: switchId, metric, since, until, step: step ?? null, maxPoints: MAX_HISTORY_POINTS, suggestedStep, tooManyBuckets, known: known(switchId, metric) }, reply);
  });

  app.get(HISTORY_PATHS.aggregate, async (request, reply) => {
    const query = request.query as Query;
    const metric = metricParam(query);
    const fn = choiceParam<AggregateFn>(query, 'fn', AGGREGATE_FNS);
    const window = durationParam(query, 'window', fallbackWindow);
    const switchId = optionalParam(query, 'switch') === undefined ? undefined : switchParam(query);
    checkWithinRetention(window.seconds, ctx.retentionSeconds, 'the window');
    const history = ready(reply);
    const to = nowSeconds();
    const from = to - window.seconds;
    return ask('Aggregate', history, { kind: 'aggregate', metric, fn, window: window.text, switch: switchId ?? null, from, to, known: known(switchId, metric) }, reply);
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
    const to = nowSeconds();
    return ask('Top', history, { kind: 'top', metric, fn, window: window.text, k, order, from: to - window.seconds, to, known: known(undefined, metric) }, reply);
  });
}
