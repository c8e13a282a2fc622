/**
 * `npm ci` installs cleanly on the Node version the project targets: every package in the lockfile
 * that declares `engines.node` accepts this Node (an EBADENGINE warning otherwise: cookie@2 under
 * light-my-request once required Node 22; package.json's `overrides` pins what installs cleanly).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import semver from 'semver';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');

test('every locked package accepts this Node version (no EBADENGINE from npm ci)', () => {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string; engines?: { node?: string }; optional?: boolean }> };
  const refused: string[] = [];
  for (const [path, pkg] of Object.entries(lock.packages)) {
    const range = pkg.engines?.node;
    if (path === '' || range === undefined || pkg.optional === true) continue;
    if (!semver.satisfies(process.version, range, { includePrerelease: true })) refused.push(`${path}@${pkg.version ?? '?'} wants node ${range}`);
  }
  assert.deepEqual(refused, [], `packages that refuse ${process.version}`);
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { engines: { node: string } };
  assert.ok(semver.satisfies(process.version, manifest.engines.node), 'the project itself accepts this Node');
});
