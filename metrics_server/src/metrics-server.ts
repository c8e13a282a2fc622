/**
 * The composition root: wires config → store → ingester (with its preparer) → source → views → HTTP
 * app, and owns start and stop. Tests start a whole server through this on port 0.
 *
 * ```
 * PollSource ──body──▶ Ingester ──block──▶ MemoryStore ──current()/onPublish──▶ ViewRegistry ──▶ HTTP
 *  (fetch, ETag)       (ingestion worker:   (numbers and                       (render worker:
 *                       parse → block)       swaps snapshots)                   ListMetrics, fabric text)
 * ```
 */
import type { FastifyInstance } from 'fastify';
import { createLogger, type Logger } from '../../common/logger.js';
import { boundUrl, type RunningService } from '../../common/service-runner.js';
import type { MetricsServerConfig } from './config.js';
import { buildApp, type RoutePlugin } from './http/app.js';
import { dashboardPlugin } from './http/dashboard-routes.js';
import { Ingester } from './ingest/ingester.js';
import { IngestionHealth } from './ingest/ingestion-health.js';
import { WorkerPreparer, type SnapshotPreparer } from './ingest/worker/preparer.js';
import { FABRIC_METRICS_OM_VIEW, FABRIC_METRICS_VIEW, ServerMetrics } from './metrics/server-metrics.js';
import type { Snapshot } from './snapshot/snapshot.js';
import { injectLeak, installHeapProbe, type LeakSpec } from './soak-hooks.js';
import { PollSource } from './sources/poll-source.js';
import { MemoryStore } from './store/memory-store.js';
import type { SnapshotPublisher } from './store/publisher.js';
import type { SnapshotReader } from './store/reader.js';
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
  /** Publisher and reader of one store (default: a new MemoryStore). */
  readonly store?: SnapshotPublisher & SnapshotReader;
  readonly plugins?: readonly RoutePlugin[];
  /** A deliberate leak for the soak's negative control (soak-hooks.ts); absent in production. */
  readonly leak?: LeakSpec;
}

/** A running metrics server and its parts. */
export interface StartedMetricsServer extends RunningService {
  readonly app: FastifyInstance;
  readonly store: SnapshotPublisher & SnapshotReader;
  readonly health: IngestionHealth;
  readonly source: PollSource;
  readonly views: ViewRegistry;
  readonly metrics: ServerMetrics;
  /** `http://host:port` actually bound. */
  readonly url: string;
}

/** The views this server renders, by config; `counters` adds the fabric text's running totals. */
export function viewDefinitions(config: MetricsServerConfig, counters?: CounterTotals): ViewDefinition[] {
  // Each coding of ListMetrics is its own view, eager while it is itself being read: a browser
  // dashboard (brotli) never costs a curl user (identity) a render, nor the other way round.
  const views: ViewDefinition[] = (['list-metrics.json', 'list-metrics.json.br', 'list-metrics.json.gz'] as const).map((name) => ({ name, eagerWithinSnapshots: LIST_METRICS_EAGER_SNAPSHOTS }));
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
  const store = deps.store ?? new MemoryStore();
  const preparer = deps.preparer ?? new WorkerPreparer();
  const renderer = deps.renderer ?? new WorkerRenderer();
  const health = new IngestionHealth();
  const ingester = new Ingester({ preparer, publisher: store, reader: store, health });
  const packetErrorTotals = config.prometheus.fabricSeries ? new CounterTotals(store, 'packet_errors') : undefined;
  const views = new ViewRegistry(store, renderer, viewDefinitions(config, packetErrorTotals), logger.child('views'));
  const metrics = new ServerMetrics({ reader: store, health, views });
  const source = new PollSource(
    {
      url: config.ingestion.generatorUrl,
      intervalMs: config.ingestion.pollIntervalMs,
      timeoutMs: config.ingestion.fetchTimeoutMs,
      maxBodyBytes: config.ingestion.maxBodyBytes,
    },
    { ingester, reader: store, logger: logger.child('poller') },
  );
  const app = buildApp({
    logger,
    reader: store,
    health,
    generatorUrl: config.ingestion.generatorUrl.href,
    pollIntervalMs: config.ingestion.pollIntervalMs,
    readinessMaxAgeMs: config.readiness.maxAgeMs,
    limits: config.http,
    views,
    plugins: [metrics.plugin(), dashboardPlugin(), ...(deps.plugins ?? [])],
  });

  const release = async (): Promise<void> => {
    await Promise.all([preparer.close(), renderer.close()]);
    views.close();
    packetErrorTotals?.close();
    metrics.close();
  };
  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (err) {
    await release();
    throw err;
  }
  const url = boundUrl(app.server);
  logger.child('server').info(`listening on ${url}`, {
    generator: config.ingestion.generatorUrl.href,
    poll_interval_s: config.ingestion.pollIntervalMs / 1000,
    log_level: config.logging.level,
  });
  const stopLeak = deps.leak === undefined ? undefined : injectLeak(deps.leak, store, app.server, logger.child('soak'));
  const removeHeapProbe = installHeapProbe(logger.child('soak'));
  source.start();

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      logger.child('server').info('shutting down: draining requests');
      stopLeak?.();
      removeHeapProbe();
      await source.stop();
      // Fastify's close ends long-lived responses, stops accepting connections and waits for requests in flight.
      await app.close();
      await release();
      logger.child('server').info('stopped');
      logger.flush();
    })();
    return stopping;
  };
  return { app, store, health, source, views, metrics, url, stop };
}
