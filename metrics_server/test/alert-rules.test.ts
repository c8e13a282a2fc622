/**
 * The shipped alert rules (`deploy/prometheus/alerts.yml`) are valid and fire when they should:
 * `promtool check rules` and `promtool test rules` on the rules' own unit tests
 * (`deploy/prometheus/alerts.test.yml`), and a negative control: the same tests against a rule
 * file with the stale-data threshold broken must fail.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { skipUnless } from './promtool.js';

const rulesDir = resolve(dirname(fileURLToPath(import.meta.url)), '../../deploy/prometheus');

function promtool(...args: string[]): { ok: boolean; output: string } {
  const result = spawnSync('promtool', args, { encoding: 'utf8', timeout: 60_000 });
  return { ok: result.status === 0, output: `${result.stdout}${result.stderr}` };
}

test('alert rules are valid and pass their promtool unit tests; a broken rule fails them', { skip: skipUnless('promtool', 'promtool test rules') }, () => {
  const check = promtool('check', 'rules', join(rulesDir, 'alerts.yml'));
  assert.ok(check.ok, check.output);
  assert.match(check.output, /SUCCESS: 4 rules found/);
  const unit = promtool('test', 'rules', join(rulesDir, 'alerts.test.yml'));
  assert.ok(unit.ok, unit.output);

  const dir = mkdtempSync(join(tmpdir(), 'alert-rules-'));
  copyFileSync(join(rulesDir, 'alerts.test.yml'), join(dir, 'alerts.test.yml'));
  const rules = readFileSync(join(rulesDir, 'alerts.yml'), 'utf8');
  assert.ok(rules.includes('metrics_server_snapshot_confirmed_age_seconds > 60'));
  writeFileSync(join(dir, 'alerts.yml'), rules.replace('metrics_server_snapshot_confirmed_age_seconds > 60', 'metrics_server_snapshot_confirmed_age_seconds > 600'));
  const broken = promtool('test', 'rules', join(dir, 'alerts.test.yml'));
  assert.equal(broken.ok, false, 'a stale-data rule that no longer fires must fail the unit tests');
});
