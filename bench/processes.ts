/**
 * The processes of `npm run bench`: the services under test, the bare ceiling servers and the load
 * generator, each in its own process. Every child is tracked and stopped by its PID, at the end, on
 * error and on Ctrl-C.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadResult, LoadSpec } from './load.js';
import { status } from './server-probe.js';
import { SEED, dist, serviceDist } from './settings.js';


export const children = new Set<ChildProcess>();

export function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const forced = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(forced);
}

export async function stopAll(): Promise<void> {
  await Promise.all([...children].map(stopChild));
}

process.once('SIGINT', () => {
  process.stderr.write('\nbench: interrupted; stopping its processes\n');
  void stopAll().then(() => process.exit(130));
});

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits for a line matching `pattern` in a log file the child writes. */
export async function waitForLog(child: ChildProcess, logPath: string, pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = pattern.exec(readFileSync(logPath, 'utf8'));
    if (match !== null) return match;
    if (child.exitCode !== null) throw new Error(`${logPath}: the process exited (${child.exitCode}) before "${pattern.source}"`);
    if (Date.now() > deadline) throw new Error(`${logPath}: no "${pattern.source}" within ${timeoutMs} ms`);
    await sleep(50);
  }
}

export interface Service {
  readonly child: ChildProcess;
  readonly url: string;
  readonly logPath: string;
}

export const CLEAN_ENV_KEYS = ['LOG_LEVEL', 'LOG_FORMAT', 'POLL_INTERVAL_SECONDS', 'FETCH_TIMEOUT_SECONDS', 'MAX_BODY_BYTES', 'GENERATOR_URL', 'GENERATOR_HOST', 'GENERATOR_PORT', 'METRICS_SERVER_HOST', 'METRICS_SERVER_PORT', 'GENERATOR_CONFIG', 'METRICS_SERVER_CONFIG', 'INGESTION_FORMAT'];

export function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !CLEAN_ENV_KEYS.includes(key)));
  return { ...env, ...extra };
}

/** A command the service's `node` runs under (e.g. valgrind and its options), or none. */
export type Wrapper = readonly string[];

/** `node script` as a spawn command and arguments, under `wrapper` when given. */
function nodeCommand(script: string, wrapper: Wrapper | undefined, nodeFlags: readonly string[] = []): [string, string[]] {
  const node = [process.execPath, ...nodeFlags, join(serviceDist, script)];
  return wrapper === undefined || wrapper.length === 0 ? [node[0]!, node.slice(1)] : [wrapper[0]!, [...wrapper.slice(1), ...node]];
}

/** Starts a built service like a user does, its output (INFO, text) going to a log file. */
export async function startService(script: string, env: Record<string, string>, logPath: string, wrapper?: Wrapper, nodeFlags?: readonly string[]): Promise<Service> {
  const fd = openSync(logPath, 'a');
  const [command, args] = nodeCommand(script, wrapper, nodeFlags);
  const child = track(spawn(command, args, { env: cleanEnv(env), stdio: ['ignore', fd, fd] }));
  closeSync(fd);
  try {
    // Under valgrind a start takes tens of seconds.
    const match = await waitForLog(child, logPath, /listening on (http:\/\/[^\s]+)/, wrapper === undefined ? 60_000 : 300_000);
    return { child, url: match[1]!, logPath };
  } catch (err) {
    await stopChild(child);
    throw err;
  }
}

let runDir = '';

/** Where service configs and logs go for this run. */
export function setRunDir(dir: string): void {
  runDir = dir;
}
export let serviceCount = 0;

export async function startGenerator(switches: number, intervalSeconds: number): Promise<Service> {
  const n = ++serviceCount;
  const config = join(runDir, `generator-${n}.json`);
  writeFileSync(config, JSON.stringify({ switches: { count: switches }, update_interval_seconds: intervalSeconds, seed: SEED, logging: { level: 'INFO', format: 'text' } }));
  return startService('telemetry_generator/src/main.js', { GENERATOR_CONFIG: config, GENERATOR_HOST: '127.0.0.1', GENERATOR_PORT: '0' }, join(runDir, `generator-${n}-${switches}.log`));
}

export interface MetricsServerOptions {
  /**
   * `false` writes `http.fast_read_path: false` to the config file: every request then goes through
   * the Fastify routes (the framework-only reference). Absent or `true` leaves the key out, so the
   * server runs with its default (fast path on).
   */
  readonly fastReadPath?: boolean;
  /** Run the server's `node` under this command (the instruction counts run it under valgrind). */
  readonly wrapper?: Wrapper;
  /** Flags for the server's `node` itself (`--cpu-prof`, which NODE_OPTIONS does not take). */
  readonly nodeFlags?: readonly string[];
  /** `ingestion.format` to write to the config file; absent leaves the server's default. */
  readonly ingestionFormat?: 'csv' | 'arrow' | 'auto';
}

export async function startMetricsServer(generatorUrl: string, pollSeconds: number, switches: number, options: MetricsServerOptions = {}): Promise<Service> {
  const n = ++serviceCount;
  const fastPathOff = options.fastReadPath === false;
  const config = join(runDir, `server-${n}.json`);
  writeFileSync(
    config,
    JSON.stringify({
      logging: { level: 'INFO', format: 'text' },
      ingestion: {
        generator_url: `${generatorUrl}/counters`,
        poll_interval_seconds: pollSeconds,
        fetch_timeout_seconds: 5,
        ...(options.ingestionFormat !== undefined ? { format: options.ingestionFormat } : {}),
      },
      ...(fastPathOff ? { http: { fast_read_path: false } } : {}),
    }),
  );
  const logPath = join(runDir, `server-${n}-${switches}${fastPathOff ? '-fast-path-off' : ''}${options.ingestionFormat !== undefined ? `-${options.ingestionFormat}` : ''}.log`);
  const service = await startService('metrics_server/src/main.js', { METRICS_SERVER_CONFIG: config, METRICS_SERVER_PORT: '0' }, logPath, options.wrapper, options.nodeFlags);
  const deadline = Date.now() + (options.wrapper === undefined ? 60_000 : 300_000);
  while ((await status(service.url)).snapshot === null) {
    if (Date.now() > deadline) throw new Error(`the metrics server (${service.logPath}) ingested nothing within 60 s`);
    await sleep(100);
  }
  return service;
}

/** A constant-body server (`bare-server.js`, or `fastify-floor.js`) that prints `{"port":P}`. */
export async function startBare(script = 'bench/bare-server.js', wrapper?: Wrapper): Promise<{ child: ChildProcess; url: string }> {
  const [command, args] = nodeCommand(script, wrapper);
  const child = track(spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] }));
  const line = await new Promise<string>((resolve, reject) => {
    let text = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      text += chunk;
      if (text.includes('\n')) resolve(text.slice(0, text.indexOf('\n')));
    });
    child.once('exit', (code) => reject(new Error(`bare server exited (${code})`)));
  });
  const { port } = JSON.parse(line) as { port: number };
  return { child, url: `http://127.0.0.1:${port}` };
}

/** Pins every thread of a running process to one CPU (Linux `taskset`); false where that is not possible. */
export function pinToCpu(pid: number, cpu: number): boolean {
  const result = spawnSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' });
  return result.status === 0;
}

/** One bounded autocannon run in its own process (pinned to `cpu` when given and `taskset` exists). */
export function runLoad(spec: LoadSpec, cpu?: number): Promise<LoadResult> {
  const args = [join(dist, 'bench/load.js'), JSON.stringify(spec)];
  const child = track(cpu === undefined ? spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] }) : spawn('taskset', ['-c', String(cpu), process.execPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }));
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    const guard = setTimeout(() => child.kill('SIGKILL'), (spec.seconds + 30) * 1000);
    child.once('exit', (code) => {
      clearTimeout(guard);
      if (code !== 0) reject(new Error(`load generator exited ${code}: ${err.trim()}`));
      else resolve(JSON.parse(out) as LoadResult);
    });
  });
}

