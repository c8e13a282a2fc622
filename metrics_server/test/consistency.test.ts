/**
 * Readers see one whole snapshot, old or new. Snapshots are swapped every few milliseconds while
 * concurrent clients read; in snapshot k every value is k, so a mixed answer would show two values.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startMetricsServer } from '../src/metrics-server.js';
import { fakeUpstream, memoryLogger, testConfig } from './helpers.js';

const SWITCHES = 2000;

function csvWithValue(k: number): string {
  const rows = ['switch_id,bandwidth_mbps,latency_ms'];
  for (let i = 1; i <= SWITCHES; i++) rows.push(`sw${i},${k},${k}.5`);
  return rows.join('\n') + '\n';
}

test('concurrent reads during rapid swaps never mix two snapshots', async (t) => {
  let k = 0;
  const upstream = await fakeUpstream((_req, res) => {
    k += 1;
    res.writeHead(200, { 'content-type': 'text/csv' }).end(csvWithValue(k));
  });
  t.after(() => upstream.close());
  const { logger } = memoryLogger('ERROR');
  const server = await startMetricsServer(testConfig({ generatorUrl: upstream.url, pollIntervalMs: 10 }), { logger });
  t.after(() => server.stop());

  // version → what that snapshot must answer with
  const published = new Map<number, { value: number; timestamp: number }>();
  server.store.onPublish((s) => published.set(s.version, { value: s.value('sw1', 'bandwidth_mbps')!, timestamp: s.timestamp }));
  while (server.store.current() === undefined) await new Promise((r) => setTimeout(r, 5));

  let lists = 0;
  let gets = 0;
  const versionsSeen = new Set<string>();
  // Read for at least 2.5 s and until enough answers were checked; a busy CI machine may need
  // longer, bounded at 30 s. The bounds are about coverage, not speed.
  const started = Date.now();
  const enough = (): boolean => Date.now() - started > 30_000 || (Date.now() - started > 2500 && lists >= 20 && gets >= 100 && versionsSeen.size > 5);
  const listReader = async (): Promise<void> => {
    while (!enough()) {
      const res = await fetch(`${server.url}/telemetry/ListMetrics`);
      const etag = res.headers.get('etag')!;
      const body = (await res.json()) as Record<string, { bandwidth_mbps: number; latency_ms: number; timestamp: number }>;
      const rows = Object.values(body);
      assert.equal(rows.length, SWITCHES);
      const expected = published.get(Number(etag.slice(2, -1)))!;
      for (const row of rows) {
        assert.equal(row.bandwidth_mbps, expected.value);
        assert.equal(row.latency_ms, expected.value + 0.5);
        assert.equal(row.timestamp, expected.timestamp);
      }
      versionsSeen.add(etag);
      lists += 1;
    }
  };
  const getReader = async (): Promise<void> => {
    let i = 0;
    while (!enough()) {
      i += 1;
      const res = await fetch(`${server.url}/telemetry/GetMetric?switch=sw${1 + (i % SWITCHES)}&metric=bandwidth_mbps`);
      const body = (await res.json()) as { value: number; timestamp: number };
      const expected = published.get(Number(res.headers.get('etag')!.slice(2, -1)))!;
      assert.equal(body.value, expected.value);
      assert.equal(body.timestamp, expected.timestamp);
      gets += 1;
    }
  };
  await Promise.all([listReader(), listReader(), getReader(), getReader(), getReader()]);
  assert.ok(server.store.current()!.version > 20, `only ${server.store.current()!.version} swaps happened`);
  assert.ok(versionsSeen.size > 5, `readers saw only ${versionsSeen.size} snapshots`);
  assert.ok(lists >= 20 && gets >= 100, `lists=${lists} gets=${gets}`);
});
