/**
 * The composition root: wires config → store → ingester (with its preparer) → source → views → HTTP
 * app, and owns start and stop. Tests start a whole server through this on port 0.
 *
 * ```
 * PollSource ──body──▶ Ingester ──block──▶ MemoryStore ──current()/onPublish──▶ ViewRegistry ──▶ HTTP
 *  (fetch, ETag)       (ingestion worker:   (numbers and                       (render worker:
 *                       parse → block)       swaps snapshots)  ─onPublish──▶    ListMetrics, fabric text)
 *                                                             HistoryThread ──▶ HTTP (GetHistory, Aggregate, Top)
 *                                                             (history worker: appends, queries,
 *                                                              checkpoint file; stats cached here)
 * ```
 */
import type { FastifyInstance } from 'fastify';
import { createLogger, type Logger } from '../../common/logger.js';
import { boundUrl, type RunningService } from '../../common/service-runner.js';
import type { MetricsServerConfig } from './config.js';
import type { HistoryService } from './history/history-service.js';
import { HistoryThread } from './history/history-thread.js';
import type { HistorySettings } from './history/local-history.js';
import { buildApp, type RoutePlugin } from './http/app.js';
import { dashboardPlugin } from './http/dashboard-routes.js';
import { TelemetryStreamHub, telemetryStreamPlugin } from './http/telemetry-stream.js';
import { historyRoutes } from './http/history-routes.js';
import { Ingester } from './ingest/ingester.js';
import { IngestionHealth } from './ingest/ingestion-health.js';
import { WorkerPreparer, type SnapshotPreparer } from './ingest/worker/preparer.js';
import { FABRIC_METRICS_OM_VIEW, FABRIC_METRICS_VIEW, ServerMetrics } from './metrics/server-metrics.js';
import type { Snapshot } from './snapshot/snapshot.js';
import { injectLeak, installHeapProbe, type LeakSpec } from './soak-hooks.js';
import { PollSource } from './sources/poll-source.js';
import { PushSource } from './sources/push-source.js';
import type { TelemetrySource } from './sources/source.js';
import { MemoryStore } from './store/memory-store.js';
import type { SnapshotPublisher } from './store/publisher.js';
import type { SnapshotReader } from './store/reader.js';
import type { RedisStore } from './store/redis-store.js';
import { isElectedStore, type DescribedStore } from './store/store-status.js';
import { CounterTotals } from './views/counter-totals.js';
import { ViewRegistry, type ViewDefinition } from './views/registry.js';
import type { RenderExtras } from './views/view-kinds.js';
import { WorkerRenderer, type ViewRenderer } from './views/render/renderer.js';

/**
 * ListMetrics is rendered with each new snapshot while it was read during one of the last this-many
 * snapshots (a dashboard reading every poll never waits for a render); otherwise on first read.
 */
export const LIST_METRICS_EAGER_SNAPSHOTS = 2;

/** Parts a caller (a test) may supply instead of the defaults. */
export interface MetricsServerDeps {
  readonly logger?: Logger;
  readonly preparer?: SnapshotPreparer;
  readonly renderer?: ViewRenderer;
  /** Where the history runs (default: a HistoryThread, the history worker), when config `history.enabled`. */
  readonly history?: (settings: HistorySettings, logger: Logger) => HistoryService;
  /** Publisher and reader of one store (default: by config `store.kind`, a new MemoryStore or RedisStore). */
  readonly store?: ServerStore;
  readonly plugins?: readonly RoutePlugin[];
  /** A deliberate leak for the soak's negative control (soak-hooks.ts); absent in production. */
  readonly leak?: LeakSpec;
}

/** What the server needs of a store: both sides, and an account of itself. */
export type ServerStore = SnapshotPublisher & SnapshotReader & DescribedStore;

/**
 * How long start-up waits for Redis before listening without a snapshot (it keeps trying after):
 * long enough for a warm start, short enough that a dead Redis does not look like a hung process.
 */
export const REDIS_START_WAIT_MS = 3000;

/** A running metrics server and its parts. */
export interface StartedMetricsServer extends RunningService {
  readonly app: FastifyInstance;
  readonly store: ServerStore;
  readonly health: IngestionHealth;
  /** The poll source: the source in poll mode, the stand-in in push mode. */
  readonly source: PollSource;
  /** The push source, in push mode. */
  readonly push: PushSource | undefined;
  readonly views: ViewRegistry;
  /** `/telemetry/stream`'s clients. */
  readonly streams: TelemetryStreamHub;
  readonly metrics: ServerMetrics;
  /** The history (in its worker, by default), or undefined when config `history.enabled` is false. */
  readonly history: HistoryService | undefined;
  /** `http://host:port` actually bound. */
  readonly url: string;
}

/** The views this server renders, by config; `counters` adds the fabric text's running totals. */
export function viewDefinitions(config: MetricsServerConfig, counters?: CounterTotals): ViewDefinition[] {
  // Each coding of ListMetrics is its own view, eager while it is itself being read: a browser
  // dashboard (brotli) never costs a curl user (identity) a render, nor the other way round.
  const views: ViewDefinition[] = (['list-metrics.json', 'list-metrics.json.br', 'list-metrics.json.gz', 'list-metrics.arrow'] as const).map((name) => ({ name, eagerWithinSnapshots: LIST_METRICS_EAGER_SNAPSHOTS }));
  // Prometheus scrapes far less often than snapshots arrive: the fabric text is rendered on a snapshot's first scrape only.
  if (config.prometheus.fabricSeries) {
    const extras = (snapshot: Snapshot): RenderExtras => {
      const column = counters?.columnFor(snapshot);
      return column === undefined ? {} : { counters: [column] };
    };
    for (const name of [FABRIC_METRICS_VIEW, FABRIC_METRICS_OM_VIEW] as const) views.push({ name, eagerWithinSnapshots: 0, extras });
  }
  return views;
}

/** Starts a metrics server: listening first, then ingesting. */
export async function startMetricsServer(config: MetricsServerConfig, deps: MetricsServerDeps = {}): Promise<StartedMetricsServer> {
  const logger = deps.logger ?? createLogger(config.logging);
  const storeConfig = config.store ?? { kind: 'memory' };
  // node-redis is loaded only when configured: a memory-store server starts as fast as before.
  let redisStore: RedisStore | undefined;
  if (deps.store === undefined && storeConfig.kind === 'redis') {
    const { RedisStore } = await import('./store/redis-store.js');
    redisStore = new RedisStore({ url: storeConfig.redis.url, keyPrefix: storeConfig.redis.keyPrefix, leaseMs: storeConfig.leaseMs, logger: logger.child('store') });
  }
  const store: ServerStore = deps.store ?? redisStore ?? new MemoryStore();
  const preparer = deps.preparer ?? new WorkerPreparer();
  const renderer = deps.renderer ?? new WorkerRenderer();
  const health = new IngestionHealth();
  const ingester = new Ingester({ preparer, publisher: store, reader: store, health });
  const packetErrorTotals = config.prometheus.fabricSeries ? new CounterTotals(store, 'packet_errors') : undefined;
  const views = new ViewRegistry(store, renderer, viewDefinitions(config, packetErrorTotals), logger.child('views'));
  const streams = new TelemetryStreamHub(store, views, config.stream);
  const historyConfig = config.history;
  const historyLogger = logger.child('history');
  const historySettings: HistorySettings = {
    retentionSeconds: historyConfig.retentionSeconds,
    maxMemoryBytes: historyConfig.maxMemoryBytes,
    checkpointPath: historyConfig.checkpointPath,
    checkpointIntervalMs: historyConfig.checkpointIntervalMs,
  };
  const history = historyConfig.enabled ? (deps.history ?? ((settings, log) => new HistoryThread(settings, log)))(historySettings, historyLogger) : undefined;
  // Before the first snapshot can arrive: a restarted server serves the history it had (the checkpoint is loaded).
  await history?.start();
  const stopFollowing = history?.follow(store);
  const metrics = new ServerMetrics({ reader: store, health, views, streams, store, ...(history !== undefined ? { history } : {}) });
  const source = new PollSource(
    {
      url: config.ingestion.generatorUrl,
      intervalMs: config.ingestion.pollIntervalMs,
      timeoutMs: config.ingestion.fetchTimeoutMs,
      maxBodyBytes: config.ingestion.maxBodyBytes,
      format: config.ingestion.format,
    },
    { ingester, reader: store, logger: logger.child('poller') },
  );
  const push =
    config.ingestion.mode === 'push'
      ? new PushSource(
          {
            streamUrl: config.ingestion.streamUrl,
            format: config.ingestion.format,
            pollIntervalMs: config.ingestion.pollIntervalMs,
            connectTimeoutMs: config.ingestion.fetchTimeoutMs,
            maxEventBytes: config.ingestion.maxBodyBytes,
          },
          { ingester, reader: store, logger: logger.child('push'), standIn: source },
        )
      : undefined;
  const running: TelemetrySource = push ?? source;
  const app = buildApp({
    logger,
    reader: store,
    health,
    generatorUrl: config.ingestion.generatorUrl.href,
    pollIntervalMs: config.ingestion.pollIntervalMs,
    ingestionMode: config.ingestion.mode,
    ...(push !== undefined ? { streamStatus: () => push.status() } : {}),
    readinessMaxAgeMs: config.readiness.maxAgeMs,
    store,
    limits: config.http,
    views,
    streamClients: () => ({ clients: streams.clientCount, slow_clients_dropped: streams.droppedSlowClients }),
    plugins: [
      metrics.plugin(),
      telemetryStreamPlugin(streams, store),
      dashboardPlugin(),
      historyRoutes({ history, reader: store, retentionSeconds: historyConfig.retentionSeconds, logger: historyLogger }),
      ...(deps.plugins ?? []),
    ],
    ...(history !== undefined
      ? { history: { store: history, retentionSeconds: historyConfig.retentionSeconds, maxMemoryBytes: historyConfig.maxMemoryBytes, extra: () => ({ checkpoint: history.checkpointStatus() }) } }
      : {}),
  });

  const release = async (): Promise<void> => {
    await closeStore();
    await Promise.all([preparer.close(), renderer.close()]);
    views.close();
    packetErrorTotals?.close();
    stopFollowing?.();
    // Already stopped on a graceful stop (then this returns at once); here for a start that failed.
    await history?.stop();
    metrics.close();
  };
  // Elected stores (Redis) decide whether this instance polls: only the lease holder does, and a
  // 304 it sees is passed on so followers' readiness knows the data is still current.
  const elected = isElectedStore(store) ? store : undefined;
  const stopConfirming = redisStore === undefined ? undefined : health.onRecord((record) => {
    if (record.outcome === 'not_modified') void redisStore.confirm(record.startedAtMs);
  });
  const closeStore = async (): Promise<void> => {
    stopConfirming?.();
    await redisStore?.close();
  };
  let stopped = false;
  let polling: Promise<void> = Promise.resolve();
  const followRole = (leader: boolean): void => {
    // Role changes are serialized: a stop waits for the poll in flight before a later start.
    polling = polling.then(async () => {
      if (stopped) return;
      if (leader) running.start();
      else await running.stop();
    });
  };
  try {
    // Warm start: the latest published snapshot is loaded before listening, so /readyz is ready at once.
    if (redisStore !== undefined) await redisStore.start(REDIS_START_WAIT_MS);
    await app.listen({ host: config.host, port: config.port });
  } catch (err) {
    await release();
    throw err;
  }
  const url = boundUrl(app.server);
  logger.child('server').info(`listening on ${url}`, {
    generator: config.ingestion.generatorUrl.href,
    poll_interval_s: config.ingestion.pollIntervalMs / 1000,
    mode: config.ingestion.mode,
    ...(push !== undefined ? { stream: config.ingestion.streamUrl.href } : {}),
    log_level: config.logging.level,
    store: storeConfig.kind,
    ...(redisStore !== undefined ? { role: redisStore.isLeader() ? 'leader' : 'follower', version: redisStore.current()?.version ?? null } : {}),
  });
  const stopLeak = deps.leak === undefined ? undefined : injectLeak(deps.leak, store, app.server, logger.child('soak'));
  const removeHeapProbe = installHeapProbe(logger.child('soak'));
  if (elected === undefined) running.start();
  else {
    // Any instance may be elected at any moment: its ingestion worker is started now, not at failover.
    preparer.warm?.();
    elected.onRoleChange(followRole);
    if (elected.isLeader()) followRole(true);
  }

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      logger.child('server').info('shutting down: draining requests');
      stopLeak?.();
      removeHeapProbe();
      stopped = true;
      await polling;
      await running.stop();
      // The last snapshot taken, then written (in the history worker): the next start serves the same history.
      stopFollowing?.();
      await history?.stop();
      // Fastify's close ends long-lived responses, stops accepting connections and waits for requests in flight.
      await app.close();
      await release();
      logger.child('server').info('stopped');
      logger.flush();
    })();
    return stopping;
  };
  return { app, store, health, source, push, views, streams, metrics, history, url, stop };
}
