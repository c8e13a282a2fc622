/** `npm start`: both services with prefixed output; Ctrl-C stops both; a dying child stops the other. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { freePort } from '../../metrics_server/test/helpers.js';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const START = resolve(import.meta.dirname, '../start.ts');

function startBoth(env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, ['--import', 'tsx', START], { env: { ...process.env, FORCE_COLOR: '0', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  return { child, output: () => output };
}

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('runs both services with prefixed lines; SIGINT stops both and exits 0', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'start-'));
  const generatorConfig = join(dir, 'gen.json');
  writeFileSync(generatorConfig, JSON.stringify({ switches: { count: 3 }, update_interval_seconds: 1, seed: 1 }));
  const [generatorPort, serverPort] = [await freePort(), await freePort()];
  const run = startBoth({ GENERATOR_CONFIG: generatorConfig, GENERATOR_PORT: String(generatorPort), METRICS_SERVER_PORT: String(serverPort), POLL_INTERVAL_SECONDS: '0.5' });
  t.after(() => run.child.kill('SIGKILL'));
  await until(async () => {
    try {
      return (await fetch(`http://127.0.0.1:${serverPort}/telemetry/ListMetrics`)).status === 200;
    } catch {
      return false;
    }
  }, 'the server to serve a snapshot');
  const output = run.output();
  assert.match(output, /^\[generator\] .*listening on http:\/\/127\.0\.0\.1:\d+/m);
  assert.match(output, /^\[server\s*\] .*listening on http:\/\/127\.0\.0\.1:\d+/m);
  run.child.kill('SIGINT');
  const [code] = (await once(run.child, 'exit')) as [number | null];
  assert.equal(code, 0, run.output());
  await assert.rejects(fetch(`http://127.0.0.1:${serverPort}/healthz`), 'server stopped');
  await assert.rejects(fetch(`http://127.0.0.1:${generatorPort}/counters`), 'generator stopped');
});

test('a child that dies stops the other, with its exit code', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'start-'));
  const badConfig = join(dir, 'bad.json');
  writeFileSync(badConfig, '{"switches": {"count": 0}}');
  const serverPort = await freePort();
  const run = startBoth({ GENERATOR_CONFIG: badConfig, GENERATOR_PORT: String(await freePort()), METRICS_SERVER_PORT: String(serverPort) });
  const [code] = (await once(run.child, 'exit')) as [number | null];
  assert.equal(code, 2, run.output());
  assert.match(run.output(), /\[generator\] .*invalid configuration: .*bad\.json: "switches\.count"/);
  await assert.rejects(fetch(`http://127.0.0.1:${serverPort}/healthz`), 'server was stopped too');
});
