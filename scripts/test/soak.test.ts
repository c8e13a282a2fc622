/**
 * The soak as CI runs it (issue 18, item 4): a 60-second run of the healthy server passes every
 * check, memory included, and a run with the server's deliberate leak (100 KB of heap per snapshot)
 * fails on memory and says so. The second run is what shows the memory verdict can fail at all.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { projectRoot } from '../../common/config-file.js';

function soak(args: string[]): { status: number | null; out: string } {
  const build = spawnSync('npm', ['run', 'build', '--silent'], { cwd: projectRoot(), encoding: 'utf8', timeout: 300_000 });
  assert.equal(build.status, 0, `${build.stdout}${build.stderr}`);
  // Bounded: the soak stops its load at --seconds and every process it started on the way out.
  const run = spawnSync(process.execPath, [join(projectRoot(), 'dist/scripts/soak.js'), ...args], { encoding: 'utf8', timeout: 240_000 });
  return { status: run.status, out: `${run.stdout}${run.stderr}` };
}

test('a 60-second soak of the healthy server passes, with its memory judged on live memory', () => {
  const { status, out } = soak(['--seconds', '60']);
  assert.equal(status, 0, out);
  assert.match(out, /soak: memory verdict {6}ok: live heap \+ external after a full GC/);
  assert.match(out, /soak: torn reads {10}0\n/);
  assert.match(out, /soak: PASS\n/);
});

test('a soak with a leak of 100 KB per snapshot injected fails on memory', () => {
  const { status, out } = soak(['--seconds', '30', '--inject-leak', 'snapshot:102400']);
  assert.equal(status, 1, out);
  assert.match(out, /soak: memory verdict {6}LEAK: /);
  assert.match(out, /soak: FAIL: .*live memory rising/);
});
