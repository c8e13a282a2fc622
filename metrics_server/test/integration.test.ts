/**
 * A real generator process and a real metrics server on loopback sockets: the server's answers agree
 * with the generator's CSV; when the generator stops, the last snapshot stays served and Status shows
 * the failures; when it comes back, ingestion resumes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { once } from 'node:events';
import { parseTelemetryCsv } from '../src/ingest/csv-parser.js';
import { startMetricsServer } from '../src/metrics-server.js';
import { memoryLogger, testConfig } from './helpers.js';

const ROOT = resolve(import.meta.dirname, '../..');

interface GeneratorProcess {
  child: ChildProcess;
  url: string;
}

async function startGeneratorProcess(configPath: string, port: number): Promise<GeneratorProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'telemetry_generator/src/main.ts')], {
    env: { ...process.env, GENERATOR_CONFIG: configPath, GENERATOR_PORT: String(port), GENERATOR_HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`generator did not start: ${output}`)), 15_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match !== null) {
        clearTimeout(timer);
        resolveUrl(match[1]!);
      }
    });
    child.on('exit', (code) => reject(new Error(`generator exited with ${code}: ${output}`)));
  });
  return { child, url };
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await once(child, 'exit');
}

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function writeConfig(dir: string, seed: number): string {
  const path = join(dir, `generator-${seed}.json`);
  writeFileSync(path, JSON.stringify({ switches: { count: 50 }, update_interval_seconds: 3600, seed }));
  return path;
}

test('real generator and server: answers agree, faults keep the last snapshot, ingestion resumes', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'fabric-it-'));
  let generator = await startGeneratorProcess(writeConfig(dir, 1), 0);
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
  const port = Number(new URL(generator.url).port);
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
  generator = await startGeneratorProcess(writeConfig(dir, 2), port);
  await until(() => server.store.current() !== snapshot, 'a new snapshot after restart');
  assert.equal(server.health.consecutiveFailures, 0);
  const fresh = parseTelemetryCsv(await (await fetch(`${generator.url}/counters`)).text());
  assert.ok(fresh.ok);
  const after = (await (await fetch(`${server.url}/telemetry/ListMetrics`)).json()) as Record<string, Record<string, number>>;
  assert.equal(after['sw7']!['bandwidth_mbps'], fresh.data.values[6 * fresh.data.metrics.length + fresh.data.metrics.indexOf('bandwidth_mbps')]);
  assert.notDeepEqual(after, list);
});
