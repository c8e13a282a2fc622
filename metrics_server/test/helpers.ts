/** Shared test fixtures for the metrics server: snapshots from CSV text, a default config, apps. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { MemorySink, createLogger, type LogFormat, type LogLevel, type Logger } from '../../common/logger.js';
import type { MetricsServerConfig } from '../src/config.js';
import { buildApp, type RoutePlugin } from '../src/http/app.js';
import { IngestionHealth } from '../src/ingest/ingestion-health.js';
import { prepareBody } from '../src/ingest/prepare.js';
import { viewDefinitions } from '../src/metrics-server.js';
import type { Snapshot, SnapshotContent } from '../src/snapshot/snapshot.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { CounterTotals } from '../src/views/counter-totals.js';
import { ViewRegistry } from '../src/views/registry.js';
import { InlineRenderer, type ViewRenderer } from '../src/views/render/renderer.js';

export const SEED_CSV = [
  'switch_id,bandwidth_mbps,latency_ms,packet_errors,link_status,tx_queue_depth,utilization_percent',
  'sw1,8123,1.42,0,1,128,47.5',
  'sw2,6400,6.8,2,1,512,63.1',
  'sw3,0,0,0,0,0,0',
  '',
].join('\n');

/** The content a source would deliver for `csv` (parsed as the ingestion worker would). */
export function contentFromCsv(csv: string, ingestedAtMs = 1766501919_000): SnapshotContent {
  const prepared = prepareBody(Buffer.from(csv));
  if (!prepared.ok) throw new Error(`fixture CSV rejected: ${prepared.reason}`);
  return { block: prepared.block, ingestedAtMs };
}

/** Publishes `csv` to `store` at once; its version is the store's next. */
export function publishCsv(store: MemoryStore, csv: string, ingestedAtMs = 1766501919_000): Snapshot {
  return store.publishNow(contentFromCsv(csv, ingestedAtMs));
}

/** A snapshot of `csv` numbered `version`, from a store of its own. */
export function snapshotFromCsv(csv: string, version = 1, ingestedAtMs = 1766501919_000): Snapshot {
  return publishCsv(new MemoryStore({ firstVersion: version }), csv, ingestedAtMs);
}

export function testConfig(overrides: Partial<MetricsServerConfig['ingestion']> = {}, level: LogLevel = 'INFO'): MetricsServerConfig {
  return {
    source: 'test',
    host: '127.0.0.1',
    port: 0,
    logging: { level, format: 'text' },
    ingestion: {
      mode: 'poll',
      streamUrl: new URL('http://127.0.0.1:9/counters/stream?delta=1'),
      generatorUrl: new URL('http://127.0.0.1:9/counters'),
      pollIntervalMs: 60_000,
      fetchTimeoutMs: 1000,
      maxBodyBytes: 1024 * 1024,
      format: 'csv',
      ...overrides,
    },
    readiness: { maxAgeMs: 10_000 },
    http: { maxQueryBytes: 2048, maxHeaderBytes: 16384, requestTimeoutMs: 2000, keepAliveTimeoutMs: 1000, fastReadPath: true },
    prometheus: { fabricSeries: true },
    stream: { maxClients: 1000, maxBufferedBytes: undefined, keepAliveMs: 15_000, compression: 'deflate' },
    history: { enabled: true, retentionSeconds: 3600, maxMemoryBytes: 64 * 1024 * 1024, checkpointPath: undefined, checkpointIntervalMs: 300_000 },
  };
}

/** A logger writing into memory, for tests to read its lines. */
export function memoryLogger(level: LogLevel = 'DEBUG', format: LogFormat = 'text'): { logger: Logger; sink: MemorySink } {
  const sink = new MemorySink();
  return { logger: createLogger({ level, format, sink }), sink };
}

/** An app over a fresh MemoryStore (first version `firstVersion`), views rendered inline unless `renderer` says otherwise. */
export function testApp(
  level: LogLevel = 'DEBUG',
  plugins: (store: MemoryStore, health: IngestionHealth, views: ViewRegistry) => readonly RoutePlugin[] = () => [],
  {
    fastReadPath = true,
    firstVersion = 1,
    renderer = new InlineRenderer(),
    fabricSeries = true,
    counters = false,
    logFormat = 'text',
  }: { fastReadPath?: boolean; firstVersion?: number; renderer?: ViewRenderer; fabricSeries?: boolean; counters?: boolean; logFormat?: LogFormat } = {},
) {
  const { logger, sink } = memoryLogger(level, logFormat);
  const store = new MemoryStore({ firstVersion });
  const health = new IngestionHealth();
  const config = testConfig();
  const totals = counters ? new CounterTotals(store, 'packet_errors') : undefined;
  const views = new ViewRegistry(store, renderer, viewDefinitions({ ...config, prometheus: { fabricSeries } }, totals), logger.child('views'));
  const app = buildApp({
    logger,
    reader: store,
    health,
    views,
    generatorUrl: 'http://127.0.0.1:9/counters',
    pollIntervalMs: 5000,
    readinessMaxAgeMs: 17_000,
    limits: { maxQueryBytes: 2048, maxHeaderBytes: 16384, requestTimeoutMs: 2000, keepAliveTimeoutMs: 1000, fastReadPath },
    plugins: plugins(store, health, views),
  });
  app.addHook('onClose', (_instance, done) => {
    views.close();
    totals?.close();
    done();
  });
  return { app, store, health, views, sink };
}

export type UpstreamHandler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** A loopback HTTP server whose behaviour a test can change between polls. */
export async function fakeUpstream(initial: UpstreamHandler): Promise<{ url: URL; setHandler(h: UpstreamHandler): void; requests: number; close(): Promise<void> }> {
  let handler = initial;
  const state = { requests: 0 };
  const server = http.createServer((req, res) => {
    state.requests += 1;
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: new URL(`http://127.0.0.1:${port}/counters`),
    setHandler(h) {
      handler = h;
    },
    get requests() {
      return state.requests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function csvHandler(body: string, etag?: string): UpstreamHandler {
  return (req, res) => {
    if (etag !== undefined && req.headers['if-none-match'] === etag) {
      res.writeHead(304).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/csv', ...(etag !== undefined ? { etag } : {}) }).end(body);
  };
}

/** A port that was free a moment ago, for services that must be told their port up front. */
export async function freePort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
