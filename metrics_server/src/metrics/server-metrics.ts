/**
 * The metrics server's own health as Prometheus metrics, through prom-client: ingestion duration,
 * last successful ingestion, snapshot age and size, polls by outcome, rows rejected by reason, and
 * HTTP request duration by route and status. Gauges read the live state at scrape time; counters
 * and histograms are fed by the poller's health record and the request hook.
 */
import type { FastifyInstance } from 'fastify';
import { Counter, Histogram } from 'prom-client';
import { createRegistries, liveGauge, registerInBoth, registerMetricsRoute, METRICS_PATH, type ExpositionRegistries } from '../../../common/prometheus-exposition.js';
import type { RoutePlugin } from '../http/app.js';
import { ROW_REJECT_REASONS } from '../ingest/csv-parser.js';
import { POLL_OUTCOMES, type IngestionHealth } from '../ingest/ingestion-health.js';
import type { Snapshot } from '../snapshot/snapshot.js';
import type { SnapshotStore } from '../snapshot/snapshot-store.js';
import { FabricExposition } from '../views/fabric-exposition.js';
import { inlineViewRenderer, type ViewRenderer } from '../views/view-renderer.js';

export interface ServerMetricsOptions {
  readonly store: SnapshotStore;
  readonly health: IngestionHealth;
  /** Config `prometheus.fabric_series`: include the per-switch series. */
  readonly fabricSeries: boolean;
  /** Renders the fabric text on the first scrape of each snapshot (the ingestion worker); default: on the calling thread. */
  readonly fabricRenderer?: ViewRenderer;
}

export class ServerMetrics {
  readonly registries: ExpositionRegistries = createRegistries();
  private readonly requestDuration: Histogram<'route' | 'method' | 'status_code'>;
  /** The lazily rendered fabric series (undefined when `fabricSeries` is off: nothing is ever rendered). */
  readonly fabric: FabricExposition | undefined;
  private readonly unsubscribe: () => void;

  constructor(private readonly options: ServerMetricsOptions) {
    const { store, health } = options;
    this.fabric = options.fabricSeries ? new FabricExposition(store, options.fabricRenderer ?? inlineViewRenderer) : undefined;
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
    for (const outcome of POLL_OUTCOMES) polls.inc({ outcome }, 0);
    for (const reason of ROW_REJECT_REASONS) rowsRejected.inc({ reason }, 0);
    add(ingestionDuration);
    add(polls);
    add(rowsRejected);
    this.unsubscribe = health.onPoll((record) => {
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
    gauge('metrics_server_snapshot_age_seconds', 'Seconds since the served snapshot was ingested; absent before the first snapshot.', () => store.current()?.ageSeconds());
    gauge('metrics_server_snapshot_timestamp_seconds', 'Ingestion time (Unix seconds) of the served snapshot: the timestamp of every API answer.', () => store.current()?.timestamp);
    gauge('metrics_server_snapshot_version', 'Version of the served snapshot (the ETag of API answers).', () => store.current()?.version);
    gauge('metrics_server_snapshot_switches', 'Switches in the served snapshot.', () => store.current()?.switchCount ?? 0);
    gauge('metrics_server_consecutive_failed_polls', 'Failed polls since the last successful one.', () => health.consecutiveFailures);
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
      onResponse: (route, method, status, durationMs) => this.requestDuration.observe({ route, method, status_code: String(status) }, durationMs / 1000),
      register: (app: FastifyInstance) => {
        const fabric = this.fabric;
        const store = this.options.store;
        registerMetricsRoute<Snapshot | undefined>(
          app,
          this.registries,
          fabric === undefined ? undefined : { state: () => store.current(), gzipped: async (snapshot) => (snapshot === undefined ? undefined : fabric.gzipped(snapshot)) },
        );
      },
    };
  }

  close(): void {
    this.unsubscribe();
    this.fabric?.close();
    this.registries.text.clear();
    this.registries.openMetrics.clear();
  }
}
