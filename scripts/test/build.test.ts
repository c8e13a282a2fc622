/**
 * `npm start` / `npm run server` build before they run; when nothing changed that build is a check,
 * not a compile (issue 17, item 14: every start recompiled everything, 4.6 s). `tsc -b` compares
 * the sources with `dist/.tsbuildinfo` and emits nothing when they are older.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

test('a second build with nothing changed emits nothing', () => {
  const first = spawnSync('npm', ['run', 'build', '--silent'], { cwd: root, encoding: 'utf8', timeout: 300_000 });
  assert.equal(first.status, 0, `${first.stdout}${first.stderr}`);
  const built = join(root, 'dist/metrics_server/src/main.js');
  const before = statSync(built).mtimeMs;
  const second = spawnSync('npm', ['run', 'build', '--silent', '--', '--verbose'], { cwd: root, encoding: 'utf8', timeout: 300_000 });
  assert.equal(second.status, 0, `${second.stdout}${second.stderr}`);
  assert.match(`${second.stdout}${second.stderr}`, /is up to date/);
  assert.equal(statSync(built).mtimeMs, before, 'nothing re-emitted');
});
