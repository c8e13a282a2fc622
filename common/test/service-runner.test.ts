/**
 * How a service reads stop signals (common/service-runner.ts): a signal of another kind after the
 * first is the supervisor forwarding the same request, however late it comes (on a loaded machine
 * `npm start`'s SIGTERM arrived more than a second after the terminal's SIGINT, and the server
 * skipped its drain); the same signal again, later than the duplicate window, exits at once.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { projectRoot } from '../config-file.js';
import { DUPLICATE_SIGNAL_WINDOW_MS } from '../service-runner.js';

const TSX = import.meta.resolve('tsx');
const RUNNER = join(projectRoot(), 'common/service-runner.ts');

/** A service whose stop never finishes, so only an impatient signal can end the process. */
function startStuckService(): { child: ChildProcess; output: () => string; exit: Promise<number | null> } {
  const script = `import { runService } from ${JSON.stringify(RUNNER)};
await runService('stuck', async () => ({ stop: () => { process.stdout.write('stopping\\n'); return new Promise(() => {}); } }));
process.stdout.write('ready\\n');
setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--import', TSX, '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => out, exit };
}

async function until(check: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('a late signal of another kind is the same stop; the same signal again later exits at once', async () => {
  const s = startStuckService();
  try {
    await until(() => s.output().includes('ready'), 30_000);
    s.child.kill('SIGINT');
    await until(() => s.output().includes('stopping'), 10_000);
    await new Promise((r) => setTimeout(r, DUPLICATE_SIGNAL_WINDOW_MS + 500));
    s.child.kill('SIGTERM'); // the supervisor's forward, late
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(s.child.exitCode, null, `a late SIGTERM after SIGINT must not cut the drain: ${s.output()}`);
    s.child.kill('SIGINT'); // a second Ctrl-C: impatience
    assert.equal(await s.exit, 130);
    assert.match(s.output(), /stuck: second SIGINT, exiting now/);
  } finally {
    if (s.child.exitCode === null) s.child.kill('SIGKILL');
  }
});
