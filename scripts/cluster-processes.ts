/**
 * The processes of a local cluster (issue 16): a generator and metrics-server instances sharing one
 * Redis, each a child process on a loopback port, tracked and stopped by its PID only. Used by
 * `npm run cluster`, the cluster bench and the cluster tests. Built (dist/scripts) it runs the built
 * services; from source (tsx, in tests) it runs the `.ts` entry points.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient } from 'redis';

const fromSource = import.meta.url.endsWith('.ts');
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Environment variables a parent may have set that would change a child's configuration. */
const CONFIG_ENV = [
  'LOG_LEVEL', 'LOG_FORMAT', 'POLL_INTERVAL_SECONDS', 'FETCH_TIMEOUT_SECONDS', 'MAX_BODY_BYTES', 'GENERATOR_URL', 'GENERATOR_HOST', 'GENERATOR_PORT',
  'METRICS_SERVER_HOST', 'METRICS_SERVER_PORT', 'GENERATOR_CONFIG', 'METRICS_SERVER_CONFIG', 'STORE_KIND', 'REDIS_URL', 'REDIS_KEY_PREFIX', 'STORE_LEASE_SECONDS',
];

/** `node` and its arguments for one service's entry point. */
function nodeArgs(service: 'telemetry_generator' | 'metrics_server', args: readonly string[]): string[] {
  const entry = resolve(root, `${service}/src/main.${fromSource ? 'ts' : 'js'}`);
  return [...(fromSource ? ['--import', 'tsx'] : []), entry, ...args];
}

/** A running child and where it listens. */
export interface ClusterProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  readonly port: number;
  /** Everything it wrote so far (stdout and stderr). */
  output(): string;
}

/** Spawns `node <service>` and waits for its "listening on" line. */
async function spawnService(name: string, service: 'telemetry_generator' | 'metrics_server', args: readonly string[], env: Record<string, string>, timeoutMs: number, echo?: (line: string) => void): Promise<ClusterProcess> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([key]) => !CONFIG_ENV.includes(key)));
  const child = spawn(process.execPath, nodeArgs(service, args), { env: { ...clean, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  let partial = '';
  const onData = (chunk: Buffer): void => {
    text += chunk.toString();
    if (text.length > 4_000_000) text = text.slice(-2_000_000);
    if (echo === undefined) return;
    partial += chunk.toString();
    const lines = partial.split('\n');
    partial = lines.pop()!;
    for (const line of lines) echo(line);
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within ${timeoutMs} ms: ${text.slice(-2000)}`)), timeoutMs);
    const check = (): void => {
      const match = /listening on (http:\/\/[\d.]+:\d+)/.exec(text);
      if (match === null) return;
      clearTimeout(timer);
      child.stdout!.off('data', check);
      resolveUrl(match[1]!);
    };
    child.stdout!.on('data', check);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code ?? signal}) before listening: ${text.slice(-2000)}`));
    });
  });
  return { name, child, url, port: Number(new URL(url).port), output: () => text };
}

/** Settings of a generator child. */
export interface GeneratorSettings {
  readonly switches: number;
  readonly intervalSeconds: number;
  readonly seed: number;
  /** 0 picks a free port. */
  readonly port: number;
}

/** Starts a generator on 127.0.0.1. */
export function startGenerator(settings: GeneratorSettings, echo?: (line: string) => void): Promise<ClusterProcess> {
  const args = ['--host', '127.0.0.1', '--port', String(settings.port), '--switches', String(settings.switches), '--interval', String(settings.intervalSeconds), '--seed', String(settings.seed)];
  return spawnService('generator', 'telemetry_generator', args, { LOG_LEVEL: 'INFO' }, 20_000, echo);
}

/** Settings of one metrics-server instance of a cluster. */
export interface InstanceSettings {
  readonly name: string;
  readonly generatorUrl: string;
  readonly redisUrl: string;
  readonly keyPrefix: string;
  readonly leaseSeconds: number;
  readonly pollIntervalSeconds: number;
  /** 0 picks a free port. */
  readonly port: number;
  readonly logLevel?: string;
}

/** Starts one instance with `store.kind: redis` on 127.0.0.1. */
export function startInstance(settings: InstanceSettings, echo?: (line: string) => void): Promise<ClusterProcess> {
  return spawnService(settings.name, 'metrics_server', [], {
    STORE_KIND: 'redis',
    REDIS_URL: settings.redisUrl,
    REDIS_KEY_PREFIX: settings.keyPrefix,
    STORE_LEASE_SECONDS: String(settings.leaseSeconds),
    POLL_INTERVAL_SECONDS: String(settings.pollIntervalSeconds),
    GENERATOR_URL: settings.generatorUrl,
    METRICS_SERVER_HOST: '127.0.0.1',
    METRICS_SERVER_PORT: String(settings.port),
    LOG_LEVEL: settings.logLevel ?? 'INFO',
  }, 60_000, echo);
}

/** What `/telemetry/Status` says about the snapshot and the store. */
export interface InstanceState {
  readonly version: number | undefined;
  readonly role: string;
  readonly term: number;
  readonly connected: boolean;
  readonly refused: number;
  readonly lastError: string | undefined;
}

/** Reads an instance's Status (undefined when it does not answer within `timeoutMs`). */
export async function instanceState(url: string, timeoutMs = 1000): Promise<InstanceState | undefined> {
  try {
    const response = await fetch(`${url}/telemetry/Status`, { signal: AbortSignal.timeout(timeoutMs) });
    const body = (await response.json()) as { snapshot: { version: number } | null; store: { role: string; term: number; connected: boolean; publishes?: { refused: number }; last_error: { message: string } | null } };
    return {
      version: body.snapshot?.version,
      role: body.store.role,
      term: body.store.term,
      connected: body.store.connected,
      refused: body.store.publishes?.refused ?? 0,
      lastError: body.store.last_error?.message,
    };
  } catch {
    return undefined;
  }
}

/** The version an instance serves, read from GetMetric's ETag (the read path itself, not Status). */
export async function servedVersion(url: string, switchId: string, timeoutMs = 1000): Promise<number | undefined> {
  try {
    const response = await fetch(`${url}/telemetry/GetMetric?switch=${encodeURIComponent(switchId)}&metric=bandwidth_mbps`, { signal: AbortSignal.timeout(timeoutMs) });
    await response.arrayBuffer();
    const etag = response.headers.get('etag');
    const match = etag === null ? null : /^"v(\d+)"$/.exec(etag);
    return response.status === 200 && match !== null ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Stops a child by its PID: SIGTERM, then SIGKILL after `graceMs`. */
export async function stopProcess(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const forced = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(forced);
}

/** Kills a child at once (kill -9) and waits for it to be gone. */
export async function killProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

/** Undefined when Redis answers PING, else why not. */
export async function redisUnavailable(url: string): Promise<string | undefined> {
  const client = createClient({ url, socket: { connectTimeout: 1000, reconnectStrategy: false } });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
    return undefined;
  } catch (err) {
    return `Redis at ${url} does not answer (${err instanceof Error ? err.message : String(err)})`;
  } finally {
    try {
      client.destroy();
    } catch {
      // never connected
    }
  }
}
