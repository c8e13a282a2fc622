/**
 * The fabric series are rendered lazily: at most once per snapshot version, by the renderer, on the
 * snapshot's first scrape; kept gzip-compressed; never when the series are off. A scrape always
 * describes one snapshot: its fabric series and `metrics_server_snapshot_version` agree.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { gunzipSync } from 'node:zlib';
import { acceptsGzip } from '../../common/metrics-endpoint.js';
import { parseCsvBytes } from '../src/ingest/csv/parser.js';
import { FABRIC_METRICS_VIEW, ServerMetrics } from '../src/metrics/server-metrics.js';
import { startMetricsServer } from '../src/metrics-server.js';
import type { Snapshot } from '../src/snapshot/snapshot.js';
import { fabricChunks, renderFabricGzip, renderFabricText } from '../src/views/fabric-metrics-text.js';
import { InlineRenderer, type ViewRenderer } from '../src/views/render/renderer.js';
import type { ViewName } from '../src/views/view-kinds.js';
import { SEED_CSV, csvHandler, fakeUpstream, memoryLogger, publishCsv, testApp, testConfig } from './helpers.js';
import { renderFabricTextReference } from './reference/fabric-metrics-text.js';

/** A renderer that counts its calls and can hold a render until the test lets it go. */
class CountingRenderer implements ViewRenderer {
  calls = 0;
  gate: Promise<void> | undefined;
  private readonly inner = new InlineRenderer();
  async render(view: ViewName, snapshot: Snapshot): Promise<Buffer> {
    this.calls += 1;
    await this.gate;
    return this.inner.render(view, snapshot);
  }
  async close(): Promise<void> {}
}

function setup(fabricSeries = true) {
  const renderer = new CountingRenderer();
  let metrics: ServerMetrics | undefined;
  const built = testApp(
    'ERROR',
    (store, health, views) => {
      metrics = new ServerMetrics({ reader: store, health, views });
      return [metrics.plugin()];
    },
    { renderer, fabricSeries },
  );
  return { ...built, renderer, metrics: metrics! };
}

const fabricLines = (body: string): string => body.split('\n').filter((line) => line.startsWith('fabric_switch_') || line.startsWith('# HELP fabric_') || line.startsWith('# TYPE fabric_')).join('\n');
const version = (body: string): number => Number(/^metrics_server_snapshot_version (\d+)$/m.exec(body)?.[1]);
/** The fabric text of `snapshot`; with `totals`, the packet-errors counter (one value per switch) after the gauges. */
const expectedFabric = (snapshot: Snapshot, totals?: readonly number[], format: 'text' | 'openmetrics' = 'text'): string =>
  renderFabricTextReference(
    snapshot.switchIds,
    snapshot.metrics,
    snapshot.switchIds.map((id) => snapshot.row(id)!),
    format,
    totals === undefined ? [] : [{ metric: 'packet_errors', values: totals }],
  );

test('rendered once per version under concurrent scrapes', async (t) => {
  const { app, store, renderer, metrics, views } = setup();
  t.after(() => metrics.close());
  const v1 = publishCsv(store, SEED_CSV, 1766501920_000);
  assert.equal(renderer.calls, 0, 'nothing rendered before the first scrape');

  const scrapes = await Promise.all(Array.from({ length: 8 }, () => app.inject({ url: '/metrics' })));
  assert.equal(renderer.calls, 1, 'one render shared by concurrent scrapes');
  for (const res of scrapes) {
    assert.equal(res.statusCode, 200);
    assert.equal(version(res.body), 1);
    assert.equal(`${fabricLines(res.body)}\n`, expectedFabric(v1));
  }
  await app.inject({ url: '/metrics' });
  assert.equal(renderer.calls, 1, 'a later scrape of the same version reuses the body');
  assert.deepEqual(views.stats(FABRIC_METRICS_VIEW), { renders: 1, eager: 0 });
});

test('a scrape after a swap shows the new version\'s values; the old body is dropped', async (t) => {
  const { app, store, renderer, metrics } = setup();
  t.after(() => metrics.close());
  publishCsv(store, SEED_CSV, 1766501920_000);
  const first = (await app.inject({ url: '/metrics' })).body;
  assert.match(first, /^fabric_switch_bandwidth_bytes_per_second\{switch="sw1"\} 1015375000$/m);

  const v2 = publishCsv(store, SEED_CSV.replace('8123', '9000'), 1766501921_000);
  const second = (await app.inject({ url: '/metrics' })).body;
  assert.equal(version(second), 2);
  assert.match(second, /^fabric_switch_bandwidth_bytes_per_second\{switch="sw1"\} 1125000000$/m);
  assert.equal(`${fabricLines(second)}\n`, expectedFabric(v2));
  assert.equal(renderer.calls, 2);
});

test('a swap while a render is in flight: the scrape starts over and describes the new snapshot only', async (t) => {
  const { app, store, renderer, metrics } = setup();
  t.after(() => metrics.close());
  publishCsv(store, SEED_CSV, 1766501920_000);
  let release!: () => void;
  renderer.gate = new Promise((resolve) => (release = resolve));
  const scrape = app.inject({ url: '/metrics' });
  await new Promise((resolve) => setImmediate(resolve));
  const v2 = publishCsv(store, SEED_CSV.replace('6.8', '7.5'), 1766501921_000);
  release();
  const body = (await scrape).body;
  assert.equal(version(body), 2);
  assert.match(body, /^fabric_switch_latency_seconds\{switch="sw2"\} 0\.0075$/m);
  assert.equal(`${fabricLines(body)}\n`, expectedFabric(v2));
  assert.equal(renderer.calls, 2, 'v1 rendered for the first attempt, v2 for the second');
});

test('values outside plain notation are written as Prometheus expects them', async (t) => {
  const { app, store, metrics } = setup();
  t.after(() => metrics.close());
  const snapshot = publishCsv(store, SEED_CSV.replace('1.42', '0.000001').replace('8123', '1e20'));
  const body = (await app.inject({ url: '/metrics' })).body;
  assert.equal(`${fabricLines(body)}\n`, expectedFabric(snapshot));
  assert.match(body, /^fabric_switch_latency_seconds\{switch="sw1"\} 1e-9$/m);
  assert.match(body, /^fabric_switch_bandwidth_bytes_per_second\{switch="sw1"\} 1\.25e\+25$/m);
});

test('fabric series off: nothing is rendered and nothing is kept', async (t) => {
  const { app, store, renderer, metrics, views } = setup(false);
  t.after(() => metrics.close());
  publishCsv(store, SEED_CSV);
  for (let i = 0; i < 3; i++) {
    const body = (await app.inject({ url: '/metrics', headers: { 'accept-encoding': 'gzip' } })).body;
    assert.ok(!body.includes('fabric_switch_'));
    assert.equal(version(body), 1);
  }
  assert.equal(renderer.calls, 0);
  assert.equal(views.has(FABRIC_METRICS_VIEW), false);
});

test('chunked and gzip renderings are the same text; multi-member gzip decodes whole', async () => {
  const rows = ['switch_id,bandwidth_mbps,latency_ms,packet_errors,link_status,tx_queue_depth,utilization_percent'];
  for (let i = 1; i <= 3000; i++) rows.push(`sw${i},${i * 3},${(i % 97) / 10},${i % 5},${i % 7 === 0 ? 0 : 1},${i % 300},${(i % 1000) / 10}`);
  const parsed = parseCsvBytes(Buffer.from(rows.join('\n')), 2);
  assert.ok(parsed.ok);
  const columns = parsed.parsed.columns;
  const whole = renderFabricText(columns);
  const chunks: Buffer[] = [];
  // Each chunk is valid until the next is asked for: copied at once.
  for (const chunk of fabricChunks(columns, 4096)) chunks.push(Buffer.from(chunk));
  assert.ok(chunks.length > 10);
  for (const chunk of chunks) assert.ok(chunk.length <= 4096 && chunk[chunk.length - 1] === 10, 'whole lines, within the limit');
  assert.ok(Buffer.concat(chunks).equals(whole));
  const gz = await renderFabricGzip(columns);
  assert.ok(gunzipSync(gz).equals(whole));
});

test('Accept-Encoding: gzip with q values', () => {
  assert.equal(acceptsGzip(undefined), false);
  assert.equal(acceptsGzip('gzip'), true);
  assert.equal(acceptsGzip('identity, gzip;q=0.5'), true);
  assert.equal(acceptsGzip('gzip;q=0, deflate'), false);
  assert.equal(acceptsGzip('br, deflate'), false);
  assert.equal(acceptsGzip('*'), true);
});

/** GET without Accept-Encoding (node:http sends none): the plain text. */
function getPlain(url: string): Promise<{ headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

test('through the worker over HTTP: gzip to fetch (multi-member stream), plain text to a client without gzip, one render', async (t) => {
  const upstream = await fakeUpstream(csvHandler(SEED_CSV, '"g1"'));
  t.after(() => upstream.close());
  const { logger } = memoryLogger('ERROR');
  const server = await startMetricsServer(testConfig({ generatorUrl: upstream.url, pollIntervalMs: 60_000 }), { logger });
  t.after(() => server.stop());
  while (server.store.current() === undefined) await new Promise((resolve) => setTimeout(resolve, 10));
  const snapshot = server.store.current()!;

  const raw = await new Promise<{ headers: http.IncomingHttpHeaders; bytes: Buffer }>((resolve, reject) => {
    http.get(`${server.url}/metrics`, { headers: { 'accept-encoding': 'gzip' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ headers: res.headers, bytes: Buffer.concat(chunks) }));
    }).on('error', reject);
  });
  assert.equal(raw.headers['content-encoding'], 'gzip');
  assert.equal(Number(raw.headers['content-length']), raw.bytes.length);
  const [viaFetch, plain] = await Promise.all([fetch(`${server.url}/metrics`).then((r) => r.text()), getPlain(`${server.url}/metrics`)]);
  assert.equal(plain.headers['content-encoding'], undefined);
  // One snapshot so far: the running totals are its own packet_errors.
  const totals = snapshot.switchIds.map((id) => snapshot.value(id, 'packet_errors')!);
  for (const body of [gunzipSync(raw.bytes).toString('utf8'), viaFetch, plain.body]) {
    assert.equal(version(body), snapshot.version);
    assert.equal(`${fabricLines(body)}\n`, expectedFabric(snapshot, totals));
    assert.match(body, /^process_resident_memory_bytes \d+/m);
  }
  assert.deepEqual(server.views.stats(FABRIC_METRICS_VIEW), { renders: 1, eager: 0 });
});
