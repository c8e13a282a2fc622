/**
 * The generator as an operator runs it: a real child process on a real socket (port 0), its
 * start-up line, its exit codes and its stderr.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { projectRoot } from '../../common/config-file.js';
import { EXIT_CONFIG_ERROR, EXIT_LISTEN_ERROR } from '../../common/service-runner.js';
import { csvHeader, type MetricName } from '../../common/telemetry-schema.js';
import { DEFAULT_SIMULATION } from '../src/config.js';
import { renderCsv } from '../src/csv-writer.js';
import { simulate } from '../src/simulator.js';

const MAIN = join(projectRoot(), 'telemetry_generator/src/main.ts');
// Resolved here, because the child runs from another directory where a bare `tsx` would not resolve.
const TSX = import.meta.resolve('tsx');
const LISTENING = /INFO \[generator\] listening on (http:\/\/127\.0\.0\.1:(\d+)) switches=(\d+) interval_s=([\d.]+) seed=(\d+)/;
const dir = mkdtempSync(join(tmpdir(), 'generator-process-'));
const children: ChildProcess[] = [];
test.after(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

interface Running {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

function launch(env: Record<string, string>): Running {
  const child = spawn(process.execPath, ['--import', TSX, MAIN], {
    cwd: tmpdir(), // the config must be found from the project, not the working directory
    env: { PATH: process.env['PATH'] ?? '', GENERATOR_HOST: '127.0.0.1', GENERATOR_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exited };
}

async function waitFor(running: Running, pattern: RegExp, timeoutMs = 15_000): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = pattern.exec(running.stdout());
    if (match) return match;
    if (running.child.exitCode !== null) assert.fail(`exited ${running.child.exitCode}: ${running.stderr()}`);
    if (Date.now() > deadline) assert.fail(`no ${pattern} within ${timeoutMs} ms; stdout: ${running.stdout()}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function writeConfig(name: string, value: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value));
  return path;
}

test('serves /counters on a real socket: CSV parses back, seed is logged and replays, 304/404/405, SIGTERM stops it', async () => {
  const metrics: MetricName[] = ['link_status', 'bandwidth_mbps', 'utilization_percent', 'latency_ms'];
  const config = writeConfig('good.json', { switches: { count: 25 }, metrics, update_interval_seconds: 60 });
  const gen = launch({ GENERATOR_CONFIG: config });
  const [, base, , switches, interval, seedText] = await waitFor(gen, LISTENING);
  assert.equal(switches, '25');
  assert.equal(interval, '60');
  assert.match(gen.stdout(), /seed_source=random/, 'no seed in the file: a random one is chosen and logged');

  const res = await fetch(`${base}/counters`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/csv; charset=utf-8');
  const etag = res.headers.get('etag');
  assert.ok(etag !== null && res.headers.get('last-modified') !== null);
  const body = Buffer.from(await res.arrayBuffer());
  const records = parse<Record<string, string>>(body, { columns: true });
  assert.equal(records.length, 25);
  assert.equal(body.toString().split('\n')[0], csvHeader(metrics));
  assert.deepEqual(Object.keys(records[0]!), ['switch_id', ...metrics]);
  records.forEach((row, i) => {
    assert.equal(row['switch_id'], `sw${i + 1}`);
    for (const m of metrics) assert.ok(Number.isFinite(Number(row[m])), `${m}=${row[m]}`);
  });
  // The logged seed reproduces the served bytes exactly.
  const tick = Number(/-(\d+)"$/.exec(etag)![1]);
  const replay = renderCsv(simulate({ switchCount: 25, simulation: DEFAULT_SIMULATION, seed: Number(seedText) }, tick), metrics);
  assert.ok(body.equals(replay), 'same seed and config => same CSV');

  const notModified = await fetch(`${base}/counters`, { headers: { 'if-none-match': etag } });
  assert.equal(notModified.status, 304);
  assert.equal((await notModified.arrayBuffer()).byteLength, 0);

  const missing = await fetch(`${base}/nope`, { method: 'POST' });
  assert.equal(missing.status, 404);
  assert.ok(typeof ((await missing.json()) as { error: unknown }).error === 'string');
  const wrongMethod = await fetch(`${base}/counters`, { method: 'DELETE' });
  assert.equal(wrongMethod.status, 405);
  assert.equal(wrongMethod.headers.get('allow'), 'GET, HEAD');
  assert.ok(typeof ((await wrongMethod.json()) as { error: unknown }).error === 'string');

  gen.child.kill('SIGTERM');
  assert.equal(await gen.exited, 0, gen.stderr());
  assert.equal(gen.stderr(), '');
  assert.match(gen.stdout(), /INFO \[generator\] stopped/);
});

test('missing config file: defaults, logged once; a second instance on the same port fails with one line', async () => {
  const first = launch({ GENERATOR_CONFIG: join(dir, 'absent.json') });
  const [, base, port, switches, interval] = await waitFor(first, LISTENING);
  assert.equal(switches, '4');
  assert.equal(interval, '10');
  assert.equal(first.stdout().split('\n').filter((l) => l.includes('not found; using defaults')).length, 1);
  const csv = await (await fetch(`${base}/counters`)).text();
  assert.equal(csv.trimEnd().split('\n').length, 5);

  const second = launch({ GENERATOR_CONFIG: join(dir, 'absent.json'), GENERATOR_PORT: port! });
  const code = await second.exited;
  assert.equal(code, EXIT_LISTEN_ERROR);
  assert.equal(second.stderr(), `generator: cannot listen on 127.0.0.1:${port}: address already in use\n`);

  first.child.kill('SIGINT');
  assert.equal(await first.exited, 0);
});

test('an invalid config file stops start-up: non-zero exit, one line on stderr naming the file and the field', async () => {
  const path = writeConfig('bad.json', { switches: { count: 4 }, metrics: ['bandwidth_mbps', 'jitter_ms'] });
  const gen = launch({ GENERATOR_CONFIG: path });
  assert.equal(await gen.exited, EXIT_CONFIG_ERROR);
  const lines = gen.stderr().split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, gen.stderr());
  assert.match(lines[0]!, new RegExp(`^generator: invalid configuration: ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: "metrics\\[1\\]" must be one of .*\\(got "jitter_ms"\\)$`));
  assert.doesNotMatch(gen.stdout(), /listening/);
});
