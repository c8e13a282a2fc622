/**
 * Serving `/metrics` the same way in both services: prom-client registries for the service's own
 * health (text format 0.0.4 and OpenMetrics, chosen by the scraper's Accept header, as Prometheus
 * itself negotiates), plus optional pre-rendered series placed before them (the fabric telemetry).
 */
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { Gauge, Registry, collectDefaultMetrics, type Metric, type OpenMetricsContentType, type PrometheusContentType } from 'prom-client';

export interface ExpositionRegistries {
  readonly text: Registry<PrometheusContentType>;
  readonly openMetrics: Registry<OpenMetricsContentType>;
  /** Both registries, for a metric's `registers` option. */
  readonly all: readonly [Registry<PrometheusContentType>, Registry<OpenMetricsContentType>];
}

const MISNAMED_DEFAULT_METRICS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/**
 * Two registries holding the same metric objects, one per exposition format, each with the process
 * and Node.js runtime metrics (CPU, memory, event-loop lag, GC) that prom-client provides.
 */
export function createRegistries(): ExpositionRegistries {
  const text = new Registry<PrometheusContentType>();
  const openMetrics = new Registry<OpenMetricsContentType>();
  openMetrics.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  for (const registry of [text, openMetrics]) {
    collectDefaultMetrics({ register: registry });
    // Gauges named `_total` break the naming rules `promtool check metrics` enforces; prom-client
    // also exports the same counts by type without the suffix (`nodejs_active_handles` etc.).
    for (const name of MISNAMED_DEFAULT_METRICS) registry.removeSingleMetric(name);
  }
  return { text, openMetrics, all: [text, openMetrics] };
}

/** Registers a metric in both registries (prom-client's `registers` typing wants one kind). */
export function registerInBoth<T extends string>(registries: ExpositionRegistries, metric: Metric<T>): void {
  registries.text.registerMetric(metric);
  registries.openMetrics.registerMetric(metric);
}

/**
 * A gauge whose value is read from live state at scrape time, registered in both registries.
 * `read` returning undefined leaves the gauge without a sample (e.g. no snapshot yet), rather than
 * exporting a misleading 0.
 */
export function liveGauge(registries: ExpositionRegistries, name: string, help: string, read: () => number | undefined): void {
  registerInBoth(
    registries,
    new Gauge({
      name,
      help,
      registers: [],
      collect() {
        this.reset();
        const value = read();
        if (value !== undefined) this.set(value);
      },
    }),
  );
}

export function wantsOpenMetrics(accept: string | undefined): boolean {
  return accept !== undefined && accept.includes('application/openmetrics-text');
}

export const METRICS_PATH = '/metrics';

/**
 * `GET /metrics`. `prefix()` returns pre-rendered exposition text to send before the registry's
 * output (which must come last: OpenMetrics ends with `# EOF`). Sent as a two-part stream so a
 * large prefix is never copied per scrape.
 */
export function registerMetricsRoute(app: FastifyInstance, registries: ExpositionRegistries, prefix?: () => Buffer | undefined): void {
  app.get(METRICS_PATH, async (request, reply) => {
    const registry = wantsOpenMetrics(request.headers.accept) ? registries.openMetrics : registries.text;
    const own = await registry.metrics();
    const head = prefix?.();
    reply.header('content-type', registry.contentType).header('cache-control', 'no-cache');
    if (head === undefined || head.length === 0) return reply.send(own);
    return reply.send(Readable.from([head, Buffer.from(own)], { objectMode: false }));
  });
}
