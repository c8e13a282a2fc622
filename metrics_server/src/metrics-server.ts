/**
 * The composition root: wires config → store → preparer → poller → HTTP app, and owns start and
 * stop. Tests start a whole server through this on port 0.
 */
import type { FastifyInstance } from 'fastify';
import { createLogger, type Logger } from '../../common/logger.js';
import { boundUrl, type RunningService } from '../../common/service-runner.js';
import type { MetricsServerConfig } from './config.js';
import { buildApp, type RoutePlugin } from './http/app.js';
import { IngestionHealth } from './ingest/ingestion-health.js';
import { Poller } from './ingest/poller.js';
import { WorkerPreparer, type SnapshotPreparer } from './ingest/snapshot-preparer.js';
import { ServerMetrics } from './metrics/server-metrics.js';
import { EAGER_WINDOW_POLLS, ListMetricsView } from './views/list-metrics-view.js';
import { inlineViewRenderer, isViewRenderer } from './views/view-renderer.js';
import { MemorySnapshotStore, type SnapshotStore } from './snapshot/snapshot-store.js';

export interface MetricsServerDeps {
  readonly logger?: Logger;
  readonly preparer?: SnapshotPreparer;
  readonly store?: SnapshotStore;
  readonly plugins?: readonly RoutePlugin[];
}

export interface StartedMetricsServer extends RunningService {
  readonly app: FastifyInstance;
  readonly store: SnapshotStore;
  readonly health: IngestionHealth;
  readonly poller: Poller;
  readonly metrics: ServerMetrics;
  /** `http://host:port` actually bound. */
  readonly url: string;
}

export async function startMetricsServer(config: MetricsServerConfig, deps: MetricsServerDeps = {}): Promise<StartedMetricsServer> {
  const logger = deps.logger ?? createLogger(config.logging);
  const store = deps.store ?? new MemorySnapshotStore();
  const preparer = deps.preparer ?? new WorkerPreparer({ prometheusFabric: config.prometheus.fabricSeries });
  const health = new IngestionHealth();
  // Views rendered after the snapshot (fabric text, ListMetrics when not made with it) are rendered
  // by the worker that prepared the snapshot, on their first request.
  const viewRenderer = isViewRenderer(preparer) ? preparer : undefined;
  const listMetrics = new ListMetricsView(store, viewRenderer ?? inlineViewRenderer, EAGER_WINDOW_POLLS * config.ingestion.pollIntervalMs);
  const metrics = new ServerMetrics({ store, health, fabricSeries: config.prometheus.fabricSeries, ...(viewRenderer !== undefined ? { fabricRenderer: viewRenderer } : {}) });
  const poller = new Poller(
    {
      url: config.ingestion.generatorUrl,
      intervalMs: config.ingestion.pollIntervalMs,
      timeoutMs: config.ingestion.fetchTimeoutMs,
      maxBodyBytes: config.ingestion.maxBodyBytes,
    },
    { preparer, store, health, logger: logger.child('poller'), listMetricsWanted: () => listMetrics.wantedInPrepare() },
  );
  const app = buildApp({
    logger,
    store,
    health,
    generatorUrl: config.ingestion.generatorUrl.href,
    pollIntervalMs: config.ingestion.pollIntervalMs,
    readinessMaxAgeMs: config.readiness.maxAgeMs,
    limits: config.http,
    listMetrics,
    plugins: [metrics.plugin(), ...(deps.plugins ?? [])],
  });

  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (err) {
    await preparer.close();
    metrics.close();
    throw err;
  }
  const url = boundUrl(app.server);
  logger.child('server').info(`listening on ${url}`, {
    generator: config.ingestion.generatorUrl.href,
    poll_interval_s: config.ingestion.pollIntervalMs / 1000,
    log_level: config.logging.level,
  });
  poller.start();

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      logger.child('server').info('shutting down: draining requests');
      await poller.stop();
      // Fastify's close stops accepting connections and waits for requests in flight.
      await app.close();
      await preparer.close();
      metrics.close();
      listMetrics.close();
      logger.child('server').info('stopped');
      logger.flush();
    })();
    return stopping;
  };
  return { app, store, health, poller, metrics, url, stop };
}
