/**
 * The soak as CI runs it (issue 18, items 3 and 4), bounded: 150 s of soaking in all. Push mode is
 * not here: under a load average of 15 its generator restarts took 10 to 15 s and a 40 s run ended
 * before the stream came back (`npm run soak -- --mode push` covers it outside CI).
 *
 * - 60 s of the default soak (one server polling, the history on and queried) with stream clients
 *   coming and going: every check passes, memory included.
 * - 30 s with the server's deliberate leak (100 KB of heap per snapshot): the run fails on memory,
 *   which shows the memory verdict able to fail.
 * - 60 s of a cluster of three on Redis, its leader killed and then paused: every check passes,
 *   with a failover per fault and no version going back on any instance.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { projectRoot } from '../../common/config-file.js';
import { REDIS_URL, skipUnlessRedis } from '../../metrics_server/test/redis-fixtures.js';

before(() => {
  const build = spawnSync('npm', ['run', 'build', '--silent'], { cwd: projectRoot(), encoding: 'utf8', timeout: 300_000 });
  assert.equal(build.status, 0, `${build.stdout}${build.stderr}`);
});

function soak(args: string[]): { status: number | null; out: string } {
  // Bounded: the soak stops its load at --seconds and every process it started on the way out.
  const run = spawnSync(process.execPath, [join(projectRoot(), 'dist/scripts/soak.js'), ...args], { encoding: 'utf8', timeout: 300_000, env: { ...process.env, SOAK_REDIS_URL: REDIS_URL } });
  return { status: run.status, out: `${run.stdout}${run.stderr}` };
}

// 120 s, not 60: the verdict reads the second half of the run, and over 30 s the stream clients'
// event buffers (external memory, ±0.5 MB from probe to probe) tilted a healthy run's slope to
// 1.78 MiB/min in CI (limit 1); over 60 s the same server measured 0.26.
test('a 120-second soak of the healthy server with stream clients passes, history queries and memory included', () => {
  const { status, out } = soak(['--seconds', '120', '--stream-clients', '6']);
  assert.equal(status, 0, out);
  assert.match(out, /soak: memory verdict {6}ok: live heap \+ external after a full GC/);
  assert.match(out, /soak: torn reads {10}0\n/);
  assert.match(out, /soak: errors {14}0\n/);
  assert.match(out, /soak: requests .* [1-9]\d* GetHistory, [1-9]\d* Aggregate, [1-9]\d* Top/);
  assert.match(out, /soak: history checked {5}[1-9][\d,]* GetHistory samples/);
  const clients = /soak: stream clients {6}6 clients: (\d+) connections, (\d+) left, .*; 0 open at the end/.exec(out);
  assert.ok(clients !== null && Number(clients[1]) > 6 && Number(clients[2]) > 6, out);
  const states = /soak: stream states {7}(\d+)\/(\d+) versions matched/.exec(out);
  assert.ok(states !== null && Number(states[2]) > 0 && states[1] === states[2], out);
  assert.match(out, /soak: PASS\n/);
});

test('a soak with a leak of 100 KB per snapshot injected fails on memory', () => {
  const { status, out } = soak(['--seconds', '30', '--inject-leak', 'snapshot:102400']);
  assert.equal(status, 1, out);
  assert.match(out, /soak: memory verdict {6}LEAK: /);
  assert.match(out, /soak: FAIL: .*live memory rising/);
});

test('a 120-second soak of a cluster of three on Redis, its leader killed and paused, passes', async (t) => {
  const skip = await skipUnlessRedis();
  if (skip !== false) {
    t.skip(skip);
    return;
  }
  // 120 s for the same reason as the healthy run: over 60 s the verdict's second half is 30 s, and a
  // healthy instance that became leader mid-run read 1.55 MiB/min in CI.
  const { status, out } = soak(['--seconds', '120', '--cluster', '--stream-clients', '3']);
  assert.equal(status, 0, out);
  // At least one per fault; a loaded machine can add one (the 2 s lease lapsing: 4 in a 600 s run at load 12-22).
  assert.match(out, /soak: failovers {11}[2-9] /);
  assert.match(out, /soak: versions back {7}0 \(server-1 0, up to v\d+; server-2 0, up to v\d+; server-3 0, up to v\d+\)/);
  assert.match(out, /soak: torn reads {10}0\n/);
  assert.match(out, /soak: Redis keys deleted {2}\d+ under soak-/);
  assert.match(out, /soak: PASS\n/);
});
