/**
 * Every way of stopping the services stops them gracefully, once (issue 17, item 3): a service gets
 * SIGINT and SIGTERM together (Ctrl-C reaches the whole process group while `npm start` forwards
 * its own signal) and still drains instead of "second SIGINT, exiting now"; SIGHUP (the terminal
 * closed) stops it gracefully instead of killing it with 129; and `kill -TERM <pid of npm start>`,
 * or Ctrl-C on its process group, stops both services instead of leaving them to PID 1.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../metrics_server/test/helpers.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function capture(child: ChildProcess): () => string {
  let output = '';
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  return () => output;
}

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const answers = async (url: string): Promise<boolean> => {
  try {
    await fetch(url);
    return true;
  } catch {
    return false;
  }
};

function generatorFrom(env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', join(root, 'telemetry_generator/src/main.ts')], { env: { ...process.env, GENERATOR_PORT: '0', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

for (const signals of [['SIGINT', 'SIGTERM'], ['SIGHUP']] as const) {
  test(`${signals.join(' + ')} to a service: one graceful stop, exit 0`, async (t) => {
    const child = generatorFrom({});
    t.after(() => child.kill('SIGKILL'));
    const output = capture(child);
    await until(() => / listening on http:\/\//.test(output()), 'the generator to listen');
    for (const signal of signals) child.kill(signal);
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 0, output());
    assert.match(output(), /\[generator\] stopped/);
    assert.doesNotMatch(output(), /exiting now/);
  });
}

/** `npm start` as a user runs it, in its own process group (as a terminal's foreground job is). */
async function npmStart(t: { after(fn: () => void): void }): Promise<{ npm: ChildProcess; output: () => string; serverUrl: string; generatorUrl: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'npm-start-'));
  const generatorConfig = join(dir, 'gen.json');
  writeFileSync(generatorConfig, JSON.stringify({ switches: { count: 3 }, update_interval_seconds: 1, seed: 1 }));
  const [generatorPort, serverPort] = [await freePort(), await freePort()];
  const npm = spawn('npm', ['start'], {
    cwd: root,
    detached: true,
    env: { ...process.env, FORCE_COLOR: '0', GENERATOR_CONFIG: generatorConfig, GENERATOR_PORT: String(generatorPort), METRICS_SERVER_PORT: String(serverPort), POLL_INTERVAL_SECONDS: '0.5' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => {
    try {
      process.kill(-npm.pid!, 'SIGKILL');
    } catch {
      // Already gone.
    }
  });
  const output = capture(npm);
  const serverUrl = `http://127.0.0.1:${serverPort}`;
  // npm start builds first (incrementally): allow for a full build on a cold checkout.
  await until(() => answers(`${serverUrl}/healthz`), `npm start to serve (output so far: ${output()})`, 180_000);
  // Both must be up before the signal: on a loaded machine the server can answer before the
  // generator listens, and a generator stopped mid-start never writes its "stopped" line.
  const generatorUrl = `http://127.0.0.1:${generatorPort}`;
  await until(() => answers(`${generatorUrl}/counters`), `the generator to serve (output so far: ${output()})`, 60_000);
  return { npm, output, serverUrl, generatorUrl };
}

test('kill -TERM <pid of npm start> stops both services gracefully', async (t) => {
  const run = await npmStart(t);
  run.npm.kill('SIGTERM');
  await once(run.npm, 'exit');
  await until(async () => !(await answers(`${run.serverUrl}/healthz`)) && !(await answers(`${run.generatorUrl}/counters`)), 'both services to stop', 15_000);
  assert.match(run.output(), /\[server\s*\] .*stopped/);
  assert.match(run.output(), /\[generator\] .*stopped/);
});

test('Ctrl-C (SIGINT to the whole process group) stops both gracefully, once each', async (t) => {
  const run = await npmStart(t);
  process.kill(-run.npm.pid!, 'SIGINT');
  const [code] = (await once(run.npm, 'exit')) as [number | null];
  await until(async () => !(await answers(`${run.serverUrl}/healthz`)) && !(await answers(`${run.generatorUrl}/counters`)), 'both services to stop', 15_000);
  assert.doesNotMatch(run.output(), /exiting now/);
  assert.match(run.output(), /\[server\s*\] .*stopped/);
  assert.match(run.output(), /\[generator\] .*stopped/);
  assert.ok(code === 0 || code === 130, `npm exited ${code}`);
});
