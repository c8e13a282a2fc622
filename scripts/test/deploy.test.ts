/**
 * Deployment pieces (issue 17, item 15): the systemd units pass `systemd-analyze verify` with no
 * complaint at all (it exits 0 on an unknown key, so its output must be empty; a misspelt key is the
 * negative control), and the production install (`npm ci --omit=dev`) has everything the built
 * services import: no file they run imports a devDependency.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { skipUnless } from '../../metrics_server/test/promtool.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const UNITS = ['fabric-generator.service', 'fabric-metrics-server.service'];

function verify(paths: readonly string[]): string {
  const result = spawnSync('systemd-analyze', ['verify', ...paths], { encoding: 'utf8', timeout: 60_000 });
  return `${result.stdout}${result.stderr}`.trim();
}

test('the systemd units verify cleanly; a misspelt key does not', { skip: skipUnless('systemd-analyze', 'systemd unit verification') }, () => {
  const units = UNITS.map((unit) => join(root, 'deploy/systemd', unit));
  assert.equal(verify(units), '');
  for (const unit of units) {
    const text = readFileSync(unit, 'utf8');
    for (const hardening of ['DynamicUser=yes', 'ProtectSystem=strict', 'NoNewPrivileges=yes', 'Restart=on-failure']) assert.ok(text.includes(hardening), `${unit}: ${hardening}`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'units-'));
  const bad = join(dir, 'bad.service');
  writeFileSync(bad, readFileSync(units[0]!, 'utf8').replace('ProtectHome=yes', 'ProtecHome=yes'));
  assert.match(verify([bad]), /Unknown key 'ProtecHome'/);
});

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'test' ? [] : sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

test('what the services run imports only dependencies and Node built-ins (npm ci --omit=dev is enough)', () => {
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  const allowed = new Set([...Object.keys(manifest.dependencies), ...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
  const files = [...sourceFiles(join(root, 'common')), ...sourceFiles(join(root, 'telemetry_generator/src')), ...sourceFiles(join(root, 'metrics_server/src')), join(root, 'scripts/start.ts')];
  const offenders: string[] = [];
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(/^\s*(?:import|export)\s[^;]*?\sfrom\s+'([^'.][^']*)'/gms)) {
      const specifier = match[1]!;
      if (/^import\s+type\s/.test(match[0].trim())) continue;
      const pkg = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!;
      if (!allowed.has(pkg) && !allowed.has(specifier)) offenders.push(`${file.slice(root.length + 1)} imports ${specifier}`);
    }
  }
  assert.deepEqual(offenders, []);
});
