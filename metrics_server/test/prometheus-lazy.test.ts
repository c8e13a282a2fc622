/**
 * The fabric series are rendered lazily: at most once per snapshot version, by the preparer that made
 * the snapshot, on its first scrape; kept gzip-compressed; never when the series are off. A scrape
 * always describes one snapshot: its fabric series and `metrics_server_snapshot_version` agree.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { gunzipSync } from 'node:zlib';
import { acceptsGzip } from '../../common/prometheus-exposition.js';
import { parseTelemetryBytes } from '../src/ingest/csv-parser.js';
import { InlinePreparer, WorkerPreparer } from '../src/ingest/snapshot-preparer.js';
import { ServerMetrics } from '../src/metrics/server-metrics.js';
import { startMetricsServer } from '../src/metrics-server.js';
import { assembleSnapshot } from '../src/snapshot/assemble.js';
import type { Snapshot } from '../src/snapshot/snapshot.js';
import type { ViewRenderer, ViewSpec } from '../src/views/view-renderer.js';
import { columnsWithoutTokens, fabricChunks, renderFabricExposition, renderFabricExpositionBytes, renderFabricGzip, type SnapshotColumns } from '../src/views/prometheus-fabric.js';
import { SEED_CSV, csvHandler, fakeUpstream, memoryLogger, snapshotFromCsv, testApp, testConfig } from './helpers.js';

/** A renderer that counts its calls and can hold a render until the test lets it go. */
class CountingRenderer implements ViewRenderer {
  retained = 0;
  columns = 0;
  gate: Promise<void> | undefined;
  constructor(private readonly inner: ViewRenderer) {}
  async renderRetained(job: number, spec: ViewSpec): Promise<Uint8Array | undefined> {
    this.retained += 1;
    await this.gate;
    return this.inner.renderRetained(job, spec);
  }
  async renderColumns(columns: SnapshotColumns, spec: ViewSpec): Promise<Uint8Array> {
    this.columns += 1;
    await this.gate;
    return this.inner.renderColumns(columns, spec);
  }
}

async function prepared(preparer: InlinePreparer, csv: string, version: number, previous?: Snapshot): Promise<Snapshot> {
  const result = await preparer.prepare(Buffer.from(csv), 1766501919 + version);
  assert.ok(result.ok);
  return assembleSnapshot(result.snapshot, version, (1766501919 + version) * 1000, previous);
}

function setup(fabricSeries = true) {
  const preparer = new InlinePreparer();
  const renderer = new CountingRenderer(preparer);
  let metrics: ServerMetrics | undefined;
  const built = testApp('ERROR', (store, health) => {
    metrics = new ServerMetrics({ store, health, fabricSeries, fabricRenderer: renderer });
    return [metrics.plugin()];
  });
  return { ...built, preparer, renderer, metrics: metrics! };
}

const fabricLines = (body: string): string => body.split('\n').filter((line) => line.startsWith('fabric_switch_') || line.startsWith('# HELP fabric_') || line.startsWith('# TYPE fabric_')).join('\n');
const version = (body: string): number => Number(/^metrics_server_snapshot_version (\d+)$/m.exec(body)?.[1]);
const expectedFabric = (snapshot: Snapshot): string => renderFabricExposition(snapshot.switchIds, snapshot.metrics, snapshot.exportColumns().values);

test('rendered once per version under concurrent scrapes, by the preparer, from the job it kept', async (t) => {
  const { app, store, preparer, renderer, metrics } = setup();
  t.after(() => metrics.close());
  const v1 = await prepared(preparer, SEED_CSV, 1);
  store.publish(v1);
  assert.equal(renderer.retained + renderer.columns, 0, 'nothing rendered before the first scrape');

  const scrapes = await Promise.all(Array.from({ length: 8 }, () => app.inject({ url: '/metrics' })));
  assert.equal(renderer.retained, 1, 'one render shared by concurrent scrapes');
  assert.equal(renderer.columns, 0);
  for (const res of scrapes) {
    assert.equal(res.statusCode, 200);
    assert.equal(version(res.body), 1);
    assert.equal(`${fabricLines(res.body)}\n`, expectedFabric(v1));
  }
  await app.inject({ url: '/metrics' });
  assert.equal(renderer.retained, 1, 'a later scrape of the same version reuses the body');
  assert.deepEqual(metrics.fabric!.stats, { renders: 1, fromColumns: 0, superseded: 0 });
});

test('a scrape after a swap shows the new version\'s values; the old body is dropped', async (t) => {
  const { app, store, preparer, renderer, metrics } = setup();
  t.after(() => metrics.close());
  const v1 = await prepared(preparer, SEED_CSV, 1);
  store.publish(v1);
  const first = (await app.inject({ url: '/metrics' })).body;
  assert.match(first, /^fabric_switch_bandwidth_bytes_per_second\{switch="sw1"\} 1015375000$/m);

  const v2 = await prepared(preparer, SEED_CSV.replace('8123', '9000'), 2, v1);
  store.publish(v2);
  const second = (await app.inject({ url: '/metrics' })).body;
  assert.equal(version(second), 2);
  assert.match(second, /^fabric_switch_bandwidth_bytes_per_second\{switch="sw1"\} 1125000000$/m);
  assert.equal(`${fabricLines(second)}\n`, expectedFabric(v2));
  assert.equal(renderer.retained, 2);
});

test('a swap while a render is in flight: the scrape starts over and describes the new snapshot only', async (t) => {
  const { app, store, preparer, renderer, metrics } = setup();
  t.after(() => metrics.close());
  const v1 = await prepared(preparer, SEED_CSV, 1);
  store.publish(v1);
  let release!: () => void;
  renderer.gate = new Promise((resolve) => (release = resolve));
  const scrape = app.inject({ url: '/metrics' });
  await new Promise((resolve) => setImmediate(resolve));
  // A newer job is prepared (the preparer drops v1's columns) and published while v1 renders.
  const v2 = await prepared(preparer, SEED_CSV.replace('6.8', '7.5'), 2, v1);
  store.publish(v2);
  release();
  const body = (await scrape).body;
  assert.equal(version(body), 2);
  assert.match(body, /^fabric_switch_latency_seconds\{switch="sw2"\} 0\.0075$/m);
  assert.equal(`${fabricLines(body)}\n`, expectedFabric(v2));
  assert.equal(metrics.fabric!.stats.superseded, 1, 'v1 was no longer held and no longer current: not rendered');
  assert.equal(renderer.columns, 0);
});

test('a snapshot the preparer no longer holds is rendered from its own columns', async (t) => {
  const { app, store, renderer, metrics } = setup();
  t.after(() => metrics.close());
  // Made outside the preparer (as after a worker restart): no job the renderer knows.
  const snapshot = snapshotFromCsv(SEED_CSV.replace('1.42', '0.000001'));
  store.publish(snapshot);
  const body = (await app.inject({ url: '/metrics' })).body;
  assert.equal(renderer.columns, 1);
  assert.equal(`${fabricLines(body)}\n`, expectedFabric(snapshot));
  assert.match(body, /^fabric_switch_latency_seconds\{switch="sw1"\} 1e-9$/m);
});

test('fabric series off: nothing is rendered and nothing is kept', async (t) => {
  const { app, store, preparer, renderer, metrics } = setup(false);
  t.after(() => metrics.close());
  store.publish(await prepared(preparer, SEED_CSV, 1));
  for (let i = 0; i < 3; i++) {
    const body = (await app.inject({ url: '/metrics', headers: { 'accept-encoding': 'gzip' } })).body;
    assert.ok(!body.includes('fabric_switch_'));
    assert.equal(version(body), 1);
  }
  assert.equal(renderer.retained + renderer.columns, 0);
  assert.equal(metrics.fabric, undefined);

  const off = new WorkerPreparer({ prometheusFabric: false });
  t.after(() => off.close());
  const result = await off.prepare(Buffer.from(SEED_CSV), 1);
  assert.ok(result.ok);
  assert.equal(await off.renderRetained(result.snapshot.job!, { view: 'fabric-gzip' }), undefined, 'the worker renders no fabric text when the series are off');
});

test('chunked and gzip renderings are the same text; multi-member gzip decodes whole', () => {
  const rows = ['switch_id,bandwidth_mbps,latency_ms,packet_errors,link_status,tx_queue_depth,utilization_percent'];
  for (let i = 1; i <= 3000; i++) rows.push(`sw${i},${i * 3},${(i % 97) / 10},${i % 5},${i % 7 === 0 ? 0 : 1},${i % 300},${(i % 1000) / 10}`);
  const parsed = parseTelemetryBytes(Buffer.from(rows.join('\n')), 2);
  assert.ok(parsed.ok);
  const whole = Buffer.from(renderFabricExpositionBytes(parsed.data));
  const chunks: Buffer[] = [];
  // Each chunk is valid until the next is asked for: copied at once.
  for (const chunk of fabricChunks(parsed.data, 4096)) chunks.push(Buffer.from(chunk));
  assert.ok(chunks.length > 10);
  for (const chunk of chunks) assert.ok(chunk.length <= 4096 && chunk[chunk.length - 1] === 10, 'whole lines, within the limit');
  assert.ok(Buffer.concat(chunks).equals(whole));
  return renderFabricGzip(parsed.data).then((gz) => {
    assert.ok(gunzipSync(gz).equals(whole));
    const { values, index, metrics } = parsed.data;
    const columns = columnsWithoutTokens({ metrics, values, idText: index.idText, idEnds: index.idEnds });
    assert.ok(Buffer.from(renderFabricExpositionBytes(columns)).equals(whole), 'from values alone, the same text');
  });
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
  for (const body of [gunzipSync(raw.bytes).toString('utf8'), viaFetch, plain.body]) {
    assert.equal(version(body), snapshot.version);
    assert.equal(`${fabricLines(body)}\n`, expectedFabric(snapshot));
    assert.match(body, /^process_resident_memory_bytes \d+/m);
  }
  assert.deepEqual(server.metrics.fabric!.stats, { renders: 1, fromColumns: 0, superseded: 0 });
});
