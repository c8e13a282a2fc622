/**
 * The view registry renders each view at most once per snapshot, from the snapshot alone: on the
 * first read, or with the snapshot while the view is being read. Whichever way and wherever (inline
 * or in the render worker), the bytes are the view of that snapshot.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startMetricsServer } from '../src/metrics-server.js';
import type { Snapshot } from '../src/snapshot/snapshot.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { ViewRegistry } from '../src/views/registry.js';
import { InlineRenderer, WorkerRenderer, type ViewRenderer } from '../src/views/render/renderer.js';
import type { ViewName } from '../src/views/view-kinds.js';
import { SEED_CSV, csvHandler, fakeUpstream, memoryLogger, publishCsv, testApp, testConfig } from './helpers.js';
import { renderListMetricsJsonReference } from './reference/list-metrics-json.js';

const TS = 1766501919;
const LIST = 'list-metrics.json';

const expectedBody = (snapshot: Snapshot): string =>
  renderListMetricsJsonReference(
    snapshot.switchIds,
    snapshot.metrics,
    snapshot.switchIds.map((id) => snapshot.row(id)!),
    snapshot.timestamp,
  );

/** A renderer that counts its calls, can hold renders until released, and can be made to fail. */
class CountingRenderer implements ViewRenderer {
  calls: string[] = [];
  gate: Promise<void> | undefined;
  failing = false;
  private readonly inner = new InlineRenderer();
  async render(view: ViewName, snapshot: Snapshot): Promise<Buffer> {
    this.calls.push(`${view}@v${snapshot.version}`);
    await this.gate;
    if (this.failing) throw new Error('render worker exited with code 1');
    return this.inner.render(view, snapshot);
  }
  async close(): Promise<void> {}
}

function registry(eagerWithinSnapshots = 2) {
  const store = new MemoryStore();
  const renderer = new CountingRenderer();
  const { logger, sink } = memoryLogger('DEBUG');
  const views = new ViewRegistry(store, renderer, [{ name: LIST, eagerWithinSnapshots }], logger);
  return { store, renderer, views, sink };
}

test('not rendered until read; rendered once on first read, shared by concurrent readers, the same bytes', async () => {
  const { store, renderer, views } = registry();
  const v1 = publishCsv(store, SEED_CSV, TS * 1000);
  assert.deepEqual(renderer.calls, [], 'nobody asked: nothing rendered at publish');
  assert.equal(views.ready(LIST, v1), undefined, 'nothing at hand before a render');
  const [a, b] = await Promise.all([views.body(LIST, v1), views.body(LIST, v1)]);
  assert.equal(a.toString('latin1'), expectedBody(v1));
  assert.equal(a, b, 'concurrent readers share one render');
  assert.equal(views.ready(LIST, v1), a, 'at hand once rendered');
  assert.deepEqual(renderer.calls, ['list-metrics.json@v1']);
  views.close();
});

test('while it is read, the view is rendered with each snapshot; after two unread snapshots, on first read again', async () => {
  const { store, renderer, views } = registry(2);
  const v1 = publishCsv(store, SEED_CSV, TS * 1000);
  await views.body(LIST, v1);
  const v2 = publishCsv(store, SEED_CSV.replace('8123', '8124'), (TS + 1) * 1000);
  assert.deepEqual(renderer.calls, ['list-metrics.json@v1', 'list-metrics.json@v2'], 'read during v1: v2 rendered at publish');
  const v2body = await views.body(LIST, v2);
  assert.equal(v2body.toString('latin1'), expectedBody(v2));
  assert.equal(views.ready(LIST, v2), v2body, 'the eager render is what readers get');
  publishCsv(store, SEED_CSV, (TS + 2) * 1000); // read during v2: rendered
  publishCsv(store, SEED_CSV, (TS + 3) * 1000); // read during v2, within 2: rendered
  publishCsv(store, SEED_CSV, (TS + 4) * 1000); // last read 3 snapshots ago: not rendered
  assert.deepEqual(renderer.calls.slice(2), ['list-metrics.json@v3', 'list-metrics.json@v4']);
  assert.deepEqual(views.stats(LIST), { renders: 4, eager: 3 });
  views.close();
});

test('a reader of a snapshot that a publish just replaced gets that snapshot\'s body, rendered for it alone', async () => {
  const { store, renderer, views } = registry(0);
  const v1 = publishCsv(store, SEED_CSV, TS * 1000);
  let release!: () => void;
  renderer.gate = new Promise((resolve) => (release = resolve));
  const pending = views.body(LIST, v1);
  const v2 = publishCsv(store, SEED_CSV.replace('6.8', '7.5'), (TS + 1) * 1000);
  release();
  assert.equal((await pending).toString('latin1'), expectedBody(v1), 'the version the reader read');
  assert.equal(views.ready(LIST, v1), undefined, 'the old body is not kept');
  assert.equal((await views.body(LIST, v2)).toString('latin1'), expectedBody(v2));
  views.close();
});

test('a failed render is not kept: the reader gets an error, the next reader a fresh render; an eager failure is logged', async () => {
  const { store, renderer, views, sink } = registry(1);
  const v1 = publishCsv(store, SEED_CSV, TS * 1000);
  renderer.failing = true;
  await assert.rejects(views.body(LIST, v1), /render worker exited/);
  publishCsv(store, SEED_CSV, (TS + 1) * 1000); // read during v1: eager render, which fails
  await new Promise((resolve) => setImmediate(resolve));
  assert.ok(sink.lines.some((l) => / ERROR could not render list-metrics\.json for snapshot v2: render worker exited with code 1/.test(l)), sink.lines.join('\n'));
  renderer.failing = false;
  const v2 = store.current()!;
  assert.equal((await views.body(LIST, v2)).toString('latin1'), expectedBody(v2));
  views.close();
});

test('ListMetrics answers 503 with Retry-After when its body cannot be rendered, and 200 once it can', async (t) => {
  const renderer = new CountingRenderer();
  const { app, store, sink } = testApp('DEBUG', () => [], { renderer });
  t.after(() => app.close());
  publishCsv(store, SEED_CSV, Date.now());
  renderer.failing = true;
  const failed = await app.inject({ url: '/telemetry/ListMetrics' });
  assert.equal(failed.statusCode, 503);
  assert.equal(failed.headers['retry-after'], '1');
  assert.deepEqual(failed.json(), { error: 'the ListMetrics body could not be rendered; retry' });
  assert.ok(sink.lines.some((l) => / ERROR could not render ListMetrics for snapshot v1: render worker exited/.test(l)));
  renderer.failing = false;
  const ok = await app.inject({ url: '/telemetry/ListMetrics' });
  assert.equal(ok.statusCode, 200);
  assert.equal(ok.json().sw2.latency_ms, 6.8);
});

test('the render worker gives the inline renderer\'s bytes, from the shared block, for every view', async (t) => {
  const worker = new WorkerRenderer();
  t.after(() => worker.close());
  const csv = SEED_CSV.replace('1.42', '0.000001').replace('63.1', '63.10').replace('8123', '1e3');
  const store = new MemoryStore();
  const snapshot = publishCsv(store, csv, TS * 1000);
  const inline = new InlineRenderer();
  for (const view of ['list-metrics.json', 'fabric-metrics.txt.gz'] as const) {
    assert.ok((await worker.render(view, snapshot)).equals(await inline.render(view, snapshot)), view);
  }
  assert.equal((await worker.render(LIST, snapshot)).toString('latin1'), expectedBody(snapshot));
});

test('a running server renders ListMetrics with the snapshot only after it was asked for', async (t) => {
  const upstream = await fakeUpstream(csvHandler(SEED_CSV));
  t.after(() => upstream.close());
  const { logger } = memoryLogger('ERROR');
  const server = await startMetricsServer(testConfig({ generatorUrl: upstream.url, pollIntervalMs: 100 }), { logger });
  t.after(() => server.stop());
  const published = new Map<string, Snapshot>();
  server.store.onPublish((snapshot) => published.set(snapshot.etag, snapshot));
  const until = async (check: () => boolean): Promise<void> => {
    for (let i = 0; i < 500 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.ok(check());
  };
  await until(() => (server.store.current()?.version ?? 0) >= 2);
  assert.deepEqual(server.views.stats(LIST), { renders: 0, eager: 0 }, 'nobody asked: not rendered');

  const first = await fetch(`${server.url}/telemetry/ListMetrics`, { headers: { 'accept-encoding': 'identity' } });
  assert.equal(first.status, 200);
  assert.deepEqual(JSON.parse(await first.text()).sw2.latency_ms, 6.8);

  const asked = server.store.current()!.version;
  await until(() => (server.store.current()?.version ?? 0) >= asked + 2);
  assert.ok(server.views.stats(LIST).eager >= 1, 'asked recently: rendered with the snapshot');
  const again = await fetch(`${server.url}/telemetry/ListMetrics`, { headers: { 'accept-encoding': 'identity' } });
  const body = await again.text();
  const etag = again.headers.get('etag')!;
  assert.ok(published.has(etag), `${etag} names a published snapshot`);
  assert.equal(body, expectedBody(published.get(etag)!), 'the body is the one of the snapshot its ETag names');
});
