/** Real generator processes for integration tests: start on a port, read the bound URL, stop. */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');

export interface GeneratorProcess {
  readonly child: ChildProcess;
  /** `http://127.0.0.1:PORT`, parsed from the generator's "listening on" line. */
  readonly url: string;
  readonly port: number;
}

export async function startGeneratorProcess(configPath: string, port = 0): Promise<GeneratorProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'telemetry_generator/src/main.ts')], {
    env: { ...process.env, GENERATOR_CONFIG: configPath, GENERATOR_PORT: String(port), GENERATOR_HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`generator did not start: ${output}`)), 15_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match !== null) {
        clearTimeout(timer);
        resolveUrl(match[1]!);
      }
    });
    child.on('exit', (code) => reject(new Error(`generator exited with ${code}: ${output}`)));
  });
  return { child, url, port: Number(new URL(url).port) };
}

export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  await once(child, 'exit');
}

export function writeGeneratorConfig(dir: string, seed: number, switches = 50, intervalSeconds = 3600): string {
  const path = join(dir, `generator-${seed}-${switches}.json`);
  writeFileSync(path, JSON.stringify({ switches: { count: switches }, update_interval_seconds: intervalSeconds, seed }));
  return path;
}

export async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
