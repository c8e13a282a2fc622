/**
 * The real `promtool` (Debian's prometheus package, installed by .ci/run). Outside CI a missing
 * promtool skips the tests that need it, saying so; in CI it is a failure.
 */
import { spawnSync } from 'node:child_process';

export function findBinary(name: string): string | undefined {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const path = found.stdout.trim();
  return found.status === 0 && path !== '' ? path : undefined;
}

/** The skip reason for node:test, or false when the binary is there. Throws in CI if missing. */
export function skipUnless(binary: string, purpose: string): string | false {
  if (findBinary(binary) !== undefined) return false;
  const message = `${binary} not found: skipping ${purpose} (install Debian's prometheus package; .ci/run does)`;
  if (process.env['CI'] === 'true') throw new Error(`${message}; in CI this must not skip`);
  process.stderr.write(`SKIP: ${message}\n`);
  return message;
}

/** Runs `promtool check metrics` on an exposition; returns its verdict and output. */
export function promtoolCheck(exposition: string): { ok: boolean; output: string } {
  const result = spawnSync('promtool', ['check', 'metrics'], { input: exposition, encoding: 'utf8', timeout: 30_000 });
  return { ok: result.status === 0, output: `${result.stdout}${result.stderr}` };
}
