/**
 * ListMetrics is rendered only for servers that are asked for it: not with the snapshot while nobody
 * reads it, by the preparer on the first request for a snapshot, with the snapshot again while it is
 * being read. Whichever way, the bytes are the ListMetrics body of that snapshot.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { InlinePreparer, WorkerPreparer } from '../src/ingest/snapshot-preparer.js';
import { startMetricsServer } from '../src/metrics-server.js';
import { assembleSnapshot } from '../src/snapshot/assemble.js';
import type { Snapshot } from '../src/snapshot/snapshot.js';
import { MemorySnapshotStore } from '../src/snapshot/snapshot-store.js';
import { renderListMetricsJson } from '../src/views/list-metrics.js';
import { ListMetricsView } from '../src/views/list-metrics-view.js';
import { SEED_CSV, csvHandler, fakeUpstream, memoryLogger, testConfig } from './helpers.js';

const TS = 1766501919;

async function lazySnapshot(preparer: InlinePreparer | WorkerPreparer, csv: string, version: number, listMetrics = false): Promise<Snapshot> {
  const result = await preparer.prepare(Buffer.from(csv), TS + version, { listMetrics });
  assert.ok(result.ok);
  return assembleSnapshot(result.snapshot, version, (TS + version) * 1000, undefined);
}

const expectedBody = (snapshot: Snapshot): string => renderListMetricsJson(snapshot.switchIds, snapshot.metrics, snapshot.exportColumns().values, snapshot.timestamp);

test('not rendered with the snapshot unless asked; rendered once on first request, the same bytes', async () => {
  const preparer = new InlinePreparer();
  const store = new MemorySnapshotStore();
  let now = 1_000_000;
  const view = new ListMetricsView(store, preparer, 10_000, () => now);
  assert.equal(view.wantedInPrepare(), false, 'nobody asked yet');
  const v1 = await lazySnapshot(preparer, SEED_CSV, 1);
  assert.equal(v1.views.listMetricsJson, undefined);
  store.publish(v1);
  assert.equal(view.ready(v1), undefined, 'nothing at hand before a render');
  const [a, b] = await Promise.all([view.body(v1), view.body(v1)]);
  assert.equal(a!.toString('latin1'), expectedBody(v1));
  assert.equal(a, b, 'concurrent requests share one render');
  assert.equal(view.ready(v1), a, 'at hand once rendered');
  assert.deepEqual(view.stats, { renders: 1, fromColumns: 0, superseded: 0 });

  assert.equal(view.wantedInPrepare(), true, 'asked within the window: render with the next snapshot');
  now += 10_001;
  assert.equal(view.wantedInPrepare(), false, 'not asked for longer than the window');
  view.close();
});

test('the worker renders a lazy body identical to the eager one, and from columns when it lost the job', async (t) => {
  const worker = new WorkerPreparer();
  t.after(() => worker.close());
  const csv = SEED_CSV.replace('1.42', '0.000001').replace('63.1', '63.10');
  const eager = await lazySnapshot(worker, csv, 1, true);
  const lazy = await lazySnapshot(worker, csv, 2);
  assert.equal(lazy.views.listMetricsJson, undefined);
  const store = new MemorySnapshotStore();
  store.publish(lazy);
  const view = new ListMetricsView(store, worker, 10_000);
  const body = (await view.body(lazy))!;
  assert.equal(eager.views.listMetricsJson!.toString('latin1'), expectedBody(eager));
  assert.equal(body.toString('latin1'), expectedBody(lazy), 'rendered later, the same bytes as rendered with the snapshot');

  // A newer job makes the worker drop job 2's columns: the body comes from the snapshot's own columns.
  await lazySnapshot(worker, SEED_CSV, 3);
  const again = new ListMetricsView(store, worker, 10_000);
  assert.equal((await again.body(lazy))!.toString('latin1'), expectedBody(lazy));
  assert.deepEqual(again.stats, { renders: 1, fromColumns: 1, superseded: 0 });
  view.close();
  again.close();
});

test('a running server renders ListMetrics with the snapshot only after it was asked for', async (t) => {
  const upstream = await fakeUpstream(csvHandler(SEED_CSV));
  t.after(() => upstream.close());
  const { logger } = memoryLogger('ERROR');
  const server = await startMetricsServer(testConfig({ generatorUrl: upstream.url, pollIntervalMs: 100 }), { logger });
  t.after(() => server.stop());
  const port = (server.app.server.address() as AddressInfo).port;
  const until = async (check: () => boolean): Promise<void> => {
    for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.ok(check());
  };
  await until(() => (server.store.current()?.version ?? 0) >= 2);
  assert.equal(server.store.current()!.views.listMetricsJson, undefined, 'nobody asked: not rendered with the snapshot');

  const first = await fetch(`http://127.0.0.1:${port}/telemetry/ListMetrics`);
  assert.equal(first.status, 200);
  assert.deepEqual(JSON.parse(await first.text()).sw2.latency_ms, 6.8);

  const asked = server.store.current()!.version;
  await until(() => (server.store.current()?.version ?? 0) >= asked + 2);
  assert.ok(server.store.current()!.views.listMetricsJson !== undefined, 'asked recently: rendered with the snapshot');
  const again = await fetch(`http://127.0.0.1:${port}/telemetry/ListMetrics`);
  const snapshot = server.store.current()!;
  const body = await again.text();
  // The body is the one of the snapshot named by the ETag.
  if (again.headers.get('etag') === snapshot.etag) assert.equal(body, expectedBody(snapshot));
  assert.equal(JSON.parse(body).sw1.bandwidth_mbps, 8123);
});
