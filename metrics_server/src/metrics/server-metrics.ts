/**
 * The metrics server's own health as Prometheus metrics, through prom-client: ingestion duration,
 * last successful ingestion, snapshot age and size, deliveries by outcome, rows rejected by reason,
 * and HTTP request duration by route and status. Gauges read the live state at scrape time;
 * counters and histograms are fed by the ingestion health records and the request hook. The fabric
 * series (one per switch and metric) come first, from the view registry.
 */
import type { FastifyInstance } from 'fastify';
import { Counter, Histogram } from 'prom-client';
import { createRegistries, liveGauge, registerBuildInfo, registerInBoth, registerMetricsRoute, METRICS_PATH, type ExpositionRegistries } from '../../../common/metrics-endpoint.js';
import type { HistoryQueries } from '../history/history-service.js';
import type { RoutePlugin } from '../http/app.js';
import { INGEST_OUTCOMES, confirmedCurrentAtMs, type IngestionHealth } from '../ingest/ingestion-health.js';
import { ROW_REJECT_REASONS } from '../ingest/parse-outcome.js';
import type { Snapshot } from '../snapshot/snapshot.js';
import type { SnapshotReader } from '../store/reader.js';
import type { DescribedStore } from '../store/store-status.js';
import type { ViewRegistry } from '../views/registry.js';

/** The fabric series' view for a text-format scrape (views/view-kinds.ts). */
export const FABRIC_METRICS_VIEW = 'fabric-metrics.txt.gz' as const;
/** The fabric series' view for an OpenMetrics scrape. */
export const FABRIC_METRICS_OM_VIEW = 'fabric-metrics.om.gz' as const;

/** What the exporter reads. */
export interface ServerMetricsOptions {
  readonly reader: SnapshotReader;
  readonly health: IngestionHealth;
  /**
   * The rendered views; the fabric series are served when it has FABRIC_METRICS_VIEW (config
   * `prometheus.fabric_series` decides whether it does).
   */
  readonly views: ViewRegistry;
  /** `/telemetry/stream`'s clients, when the server streams. */
  readonly streams?: { readonly clientCount: number; readonly droppedSlowClients: number };
  /** The history, when enabled: its samples, bytes, span and early drops become gauges. */
  readonly history?: Pick<HistoryQueries, 'stats'>;
  /** The store's own state (role, term, connection); absent: a memory store. */
  readonly store?: DescribedStore;
}

/** The server's prom-client registries and the `/metrics` plugin. */
export class ServerMetrics {
  readonly registries: ExpositionRegistries = createRegistries();
  private readonly requestDuration: Histogram<'route' | 'method' | 'status_code'>;
  /** Children of `requestDuration` by route, method and status (durationChild). */
  private readonly durationChildren = new Map<string, Map<string, Map<number, { observe(value: number): void }>>>();
  private readonly unsubscribe: () => void;

  constructor(private readonly options: ServerMetricsOptions) {
    const { reader, health, store } = options;
    registerBuildInfo(this.registries, 'metrics_server');
    const add = <T extends string>(metric: Counter<T> | Histogram<T>): void => registerInBoth(this.registries, metric);
    // prom-client registers into its global registry unless told otherwise: `registers: []`.
    const ingestionDuration = new Histogram({
      name: 'metrics_server_ingestion_duration_seconds',
      help: 'Time from fetch start to snapshot swap (or failure), by outcome.',
      labelNames: ['outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [],
    });
    const polls = new Counter({ name: 'metrics_server_polls_total', help: 'Generator polls by outcome.', labelNames: ['outcome'], registers: [] });
    const rowsRejected = new Counter({ name: 'metrics_server_rows_rejected_total', help: 'CSV rows skipped, by reason.', labelNames: ['reason'], registers: [] });
    for (const outcome of INGEST_OUTCOMES) polls.inc({ outcome }, 0);
    for (const reason of ROW_REJECT_REASONS) rowsRejected.inc({ reason }, 0);
    add(ingestionDuration);
    add(polls);
    add(rowsRejected);
    const streams = options.streams;
    if (streams !== undefined) {
      liveGauge(this.registries, 'metrics_server_stream_clients', 'Open /telemetry/stream connections.', () => streams.clientCount);
      add(
        new Counter({
          name: 'metrics_server_stream_slow_clients_dropped_total',
          help: 'Stream clients disconnected because their unsent data passed stream.max_buffered_bytes.',
          registers: [],
          collect() {
            // The hub counts; the counter mirrors it at scrape time.
            this.reset();
            this.inc(streams.droppedSlowClients);
          },
        }),
      );
    }
    this.unsubscribe = health.onRecord((record) => {
      ingestionDuration.observe({ outcome: record.outcome }, record.durationMs / 1000);
      polls.inc({ outcome: record.outcome });
      if (record.rejected !== undefined) {
        for (const reason of ROW_REJECT_REASONS) if (record.rejected[reason] > 0) rowsRejected.inc({ reason }, record.rejected[reason]);
      }
    });

    const gauge = (name: string, help: string, read: () => number | undefined): void => liveGauge(this.registries, name, help, read);
    gauge('metrics_server_last_successful_ingestion_timestamp_seconds', 'Unix time of the last poll that succeeded (new snapshot or 304); absent before the first.', () =>
      health.lastSuccessAtMs === undefined ? undefined : health.lastSuccessAtMs / 1000,
    );
    gauge('metrics_server_snapshot_age_seconds', 'Seconds since the served snapshot was ingested; absent before the first snapshot.', () => reader.current()?.ageSeconds());
    gauge('metrics_server_snapshot_confirmed_age_seconds', 'Seconds since the served snapshot was last confirmed current (new snapshot or 304); readiness and the stale-data alert use it; absent before the first snapshot.', () => {
      const snapshot = reader.current();
      if (snapshot === undefined) return undefined;
      // A follower's data is confirmed by the leader's polls, announced through the store.
      const confirmed = Math.max(confirmedCurrentAtMs(snapshot, health), store?.confirmedAtMs() ?? Number.NEGATIVE_INFINITY);
      return Math.max(0, Date.now() - confirmed) / 1000;
    });
    if (store !== undefined) {
      gauge('metrics_server_store_leader', '1 while this instance holds the ingestion lease (always 1 with the memory store), else 0.', () => (store.status().role === 'leader' ? 1 : 0));
      gauge('metrics_server_store_term', 'The fencing term this instance publishes under (leader) or the newest it has seen (follower); 0 with the memory store.', () => store.status().term);
      gauge('metrics_server_store_connected', '1 while the snapshot store answers, else 0.', () => (store.status().connected ? 1 : 0));
      gauge('metrics_server_store_refused_publishes', 'Publishes the store refused since start (a newer term existed: this instance had been replaced).', () => {
        const publishes = store.status().details?.['publishes'] as { refused?: number } | undefined;
        return publishes?.refused ?? 0;
      });
    }
    gauge('metrics_server_snapshot_timestamp_seconds', 'Ingestion time (Unix seconds) of the served snapshot: the timestamp of every API answer.', () => reader.current()?.timestamp);
    gauge('metrics_server_snapshot_version', 'Version of the served snapshot (the ETag of API answers).', () => reader.current()?.version);
    gauge('metrics_server_snapshot_switches', 'Switches in the served snapshot.', () => reader.current()?.switchCount ?? 0);
    gauge('metrics_server_consecutive_failed_polls', 'Failed polls since the last successful one.', () => health.consecutiveFailures);
    const history = options.history;
    if (history !== undefined) {
      gauge('metrics_server_history_samples', 'Samples (switch x metric x snapshot) the history holds.', () => history.stats().samples);
      gauge('metrics_server_history_bytes', 'Bytes the history holds: encoded samples, summaries, timestamps and switch ids.', () => history.stats().bytes);
      gauge('metrics_server_history_oldest_timestamp_seconds', 'Unix time of the oldest sample in the history; absent while it is empty.', () => history.stats().oldest ?? undefined);
      gauge('metrics_server_history_early_dropped_samples', 'Samples dropped before their retention because the history reached max_memory_bytes, since start.', () => history.stats().earlyDrops.samples);
    }
    this.requestDuration = new Histogram({
      name: 'metrics_server_http_request_duration_seconds',
      help: 'HTTP request duration from arrival to end of response, by route, method and status code.',
      labelNames: ['route', 'method', 'status_code'],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [],
    });
    add(this.requestDuration);
  }

  /** The `/metrics` route and the request-duration observer, as a plugin for the app. */
  plugin(): RoutePlugin {
    return {
      paths: [METRICS_PATH],
      // The route pattern, never the raw URL: unknown paths must not create new series.
      onResponse: (route, method, status, durationMs) => this.durationChild(route, method, status).observe(durationMs / 1000),
      register: (app: FastifyInstance) => {
        const { views, reader } = this.options;
        registerMetricsRoute<Snapshot | undefined>(
          app,
          this.registries,
          views.has(FABRIC_METRICS_VIEW)
            ? { state: () => reader.current(), gzipped: async (snapshot, format) => (snapshot === undefined ? undefined : views.body(format === 'openmetrics' ? FABRIC_METRICS_OM_VIEW : FABRIC_METRICS_VIEW, snapshot)) }
            : undefined,
        );
      },
    };
  }

  /**
   * The histogram's child for one label set, made once: `observe(labels, v)` hashes the label object
   * on every call, which showed in the request path's profile. Routes, methods and statuses are few
   * (route patterns only, never raw URLs), so the cache stays small.
   */
  private durationChild(route: string, method: string, status: number): { observe(value: number): void } {
    let byMethod = this.durationChildren.get(route);
    if (byMethod === undefined) this.durationChildren.set(route, (byMethod = new Map()));
    let byStatus = byMethod.get(method);
    if (byStatus === undefined) byMethod.set(method, (byStatus = new Map()));
    let child = byStatus.get(status);
    if (child === undefined) byStatus.set(status, (child = this.requestDuration.labels({ route, method, status_code: String(status) })));
    return child;
  }

  /** Stops listening to health records and empties the registries. */
  close(): void {
    this.unsubscribe();
    this.registries.text.clear();
    this.registries.openMetrics.clear();
  }
}
