/**
 * Serving `/metrics` the same way in both services: prom-client registries for the service's own
 * health (text format 0.0.4 and OpenMetrics, chosen by the scraper's Accept header, as Prometheus
 * itself negotiates), plus optional pre-rendered series placed before them (the fabric telemetry),
 * kept gzip-compressed and sent compressed to scrapers that accept it.
 */
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { createGunzip, gzip } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from './config-file.js';
import { acceptedQuality } from './http-encoding.js';
import { Gauge, Registry, collectDefaultMetrics, type Metric, type OpenMetricsContentType, type PrometheusContentType } from 'prom-client';

/** The text-format and OpenMetrics registries of one service. */
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

/** The project's version from package.json (read once; `unknown` when it cannot be read). */
export function projectVersion(): string {
  try {
    const parsed = JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as { version?: unknown };
    return typeof parsed.version === 'string' ? parsed.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * `<service>_build_info{version, nodejs} 1`: which build answers, for dashboards and for joining onto
 * other series (`* on(instance) group_left(version) ..._build_info`).
 */
export function registerBuildInfo(registries: ExpositionRegistries, service: string): void {
  const gauge = new Gauge({ name: `${service}_build_info`, help: `Build of the ${service.replace(/_/g, ' ')}: its version and Node.js version, value 1.`, labelNames: ['version', 'nodejs'], registers: [] });
  gauge.set({ version: projectVersion(), nodejs: process.version }, 1);
  registerInBoth(registries, gauge);
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
        const value = read();
        if (value !== undefined) this.set(value);
        // prom-client gives an unlabelled gauge a 0 sample on creation and on reset(): removing it is
        // what leaves the gauge without a sample, so an alert on age cannot see 0 before any data.
        else this.remove();
      },
    }),
  );
}

/** True when the scraper's Accept asks for OpenMetrics. */
export function wantsOpenMetrics(accept: string | undefined): boolean {
  return accept !== undefined && accept.includes('application/openmetrics-text');
}

/** Where both services serve their metrics. */
export const METRICS_PATH = '/metrics';

/**
 * Pre-rendered exposition text placed before the registry's output, for a state that can change
 * between scrapes (the metrics server's current snapshot). A scrape must describe one state: the
 * prefix and the registry's own gauges (which read the live state) are taken for the same `state()`,
 * checked again once both are in hand.
 */
export interface ExpositionPrefix<S> {
  /** The state the registry's gauges describe right now. */
  state(): S;
  /** The prefix for `state` in the scrape's format, gzip-compressed (one or more gzip members); undefined for none. */
  gzipped(state: S, format: 'text' | 'openmetrics'): Promise<Buffer | undefined>;
}

/** How many times a scrape starts over when the state changed while it was being put together. */
const SCRAPE_ATTEMPTS = 3;
const gzipAsync = promisify(gzip);

/** True when an Accept-Encoding header accepts gzip (q > 0). */
export function acceptsGzip(header: string | undefined): boolean {
  return acceptedQuality(header, 'gzip') > 0;
}

/**
 * `GET /metrics`: the prefix (if any), then the registry's output (which must come last: OpenMetrics
 * ends with `# EOF`). With a prefix, the body is sent as a stream of prepared parts, never copied
 * per scrape: to a client that accepts gzip (Prometheus always does) the stored gzip members and a
 * gzip member of the registry's text (concatenated members are one gzip stream, RFC 1952 2.2);
 * to any other client the prefix decompressed on the fly (zlib, off the main thread) and the text.
 */
export function registerMetricsRoute<S>(app: FastifyInstance, registries: ExpositionRegistries, prefix?: ExpositionPrefix<S>): void {
  app.get(METRICS_PATH, async (request, reply) => {
    const openMetrics = wantsOpenMetrics(request.headers.accept);
    const registry = openMetrics ? registries.openMetrics : registries.text;
    reply.header('content-type', registry.contentType).header('cache-control', 'no-cache');
    if (prefix === undefined) return reply.send(await registry.metrics());
    reply.header('vary', 'Accept-Encoding');
    let head: Buffer | undefined;
    let own: string | undefined;
    for (let attempt = 0; attempt < SCRAPE_ATTEMPTS && own === undefined; attempt++) {
      const state = prefix.state();
      head = await prefix.gzipped(state, openMetrics ? 'openmetrics' : 'text');
      if (prefix.state() !== state) continue;
      const text = await registry.metrics();
      if (prefix.state() === state) own = text;
    }
    if (own === undefined) {
      // The state kept changing faster than the prefix could be made (ingestion outpacing the
      // render): the registry's part alone is still one consistent description.
      head = undefined;
      own = await registry.metrics();
    }
    if (head === undefined || head.length === 0) return reply.send(own);
    if (acceptsGzip(request.headers['accept-encoding'])) {
      const tail = await gzipAsync(own, { level: 1 });
      reply.header('content-encoding', 'gzip').header('content-length', head.length + tail.length);
      return reply.send(Readable.from([head, tail], { objectMode: false }));
    }
    return reply.send(Readable.from(plain(head, own), { objectMode: false }));
  });
}

/** The gzip-compressed prefix decompressed as it is sent, then the registry's text. */
async function* plain(gzipped: Buffer, own: string): AsyncGenerator<Buffer> {
  const gunzip = createGunzip({ chunkSize: 256 * 1024 });
  gunzip.end(gzipped);
  for await (const chunk of gunzip) yield chunk as Buffer;
  yield Buffer.from(own);
}
