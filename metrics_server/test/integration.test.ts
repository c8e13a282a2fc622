/**
 * A real generator process and a real metrics server on loopback sockets: the server's answers agree
 * with the generator's CSV; when the generator stops, the last snapshot stays served and Status shows
 * the failures; when it comes back, ingestion resumes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseTelemetryCsv } from './reference/csv-parser.js';
import { startMetricsServer } from '../src/metrics-server.js';
import { memoryLogger, testConfig } from './helpers.js';
import { startGeneratorProcess, stopProcess, until, writeGeneratorConfig } from './generator-process.js';

test('real generator and server: answers agree, faults keep the last snapshot, ingestion resumes', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'fabric-it-'));
  let generator = await startGeneratorProcess(writeGeneratorConfig(dir, 1), 0);
  t.after(() => stopProcess(generator.child));
  const { logger, sink } = memoryLogger('INFO');
  const server = await startMetricsServer(testConfig({ generatorUrl: new URL(`${generator.url}/counters`), pollIntervalMs: 200, fetchTimeoutMs: 500 }), { logger });
  t.after(() => server.stop());

  await until(() => server.store.current() !== undefined, 'the first snapshot');
  const csv = await (await fetch(`${generator.url}/counters`)).text();
  const parsed = parseTelemetryCsv(csv);
  assert.ok(parsed.ok);
  const { switchIds, metrics, values } = parsed.data;
  assert.equal(switchIds.length, 50);

  const list = (await (await fetch(`${server.url}/telemetry/ListMetrics`)).json()) as Record<string, Record<string, number>>;
  assert.deepEqual(Object.keys(list), switchIds);
  const snapshot = server.store.current()!;
  for (const [row, id] of switchIds.entries()) {
    for (const [column, metric] of metrics.entries()) {
      assert.equal(list[id]![metric], values[row * metrics.length + column], `${id} ${metric}`);
    }
    assert.equal(list[id]!['timestamp'], snapshot.timestamp);
  }
  for (const id of ['sw1', 'sw25', 'sw50']) {
    const row = switchIds.indexOf(id);
    const res = await fetch(`${server.url}/telemetry/GetMetric?switch=${id}&metric=latency_ms`);
    assert.deepEqual(await res.json(), { switch: id, metric: 'latency_ms', value: values[row * metrics.length + metrics.indexOf('latency_ms')], timestamp: snapshot.timestamp });
  }

  // Stop the generator: the server keeps serving the same snapshot and Status counts failures.
  const port = generator.port;
  await stopProcess(generator.child);
  await until(() => server.health.consecutiveFailures >= 3, 'three failed polls');
  const during = await fetch(`${server.url}/telemetry/ListMetrics`);
  assert.equal(during.status, 200);
  assert.deepEqual(await during.json(), list);
  assert.equal(server.store.current(), snapshot);
  const status = (await (await fetch(`${server.url}/telemetry/Status`)).json()) as { snapshot: { version: number }; ingestion: { consecutive_failures: number; last_error: { message: string } } };
  assert.equal(status.snapshot.version, snapshot.version);
  assert.ok(status.ingestion.consecutive_failures >= 3);
  assert.match(status.ingestion.last_error.message, /cannot connect: ECONNREFUSED/);
  assert.ok(sink.lines.some((l) => / ERROR \[poller\] poll of http:\/\/127\.0\.0\.1:\d+\/counters failed: cannot connect: ECONNREFUSED; keeping snapshot v\d+/.test(l)));

  // Bring it back on the same port with another seed: a new snapshot with the new values.
  generator = await startGeneratorProcess(writeGeneratorConfig(dir, 2), port);
  await until(() => server.store.current() !== snapshot, 'a new snapshot after restart');
  assert.equal(server.health.consecutiveFailures, 0);
  const fresh = parseTelemetryCsv(await (await fetch(`${generator.url}/counters`)).text());
  assert.ok(fresh.ok);
  const after = (await (await fetch(`${server.url}/telemetry/ListMetrics`)).json()) as Record<string, Record<string, number>>;
  assert.equal(after['sw7']!['bandwidth_mbps'], fresh.data.values[6 * fresh.data.metrics.length + fresh.data.metrics.indexOf('bandwidth_mbps')]);
  assert.notDeepEqual(after, list);
});
