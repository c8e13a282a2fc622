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
  'METRICS_SERVER_HOST', 'METRICS_SERVER_PORT', 'GENERATOR_CONFIG', 'METRICS_SERVER_CONFIG', 'STORE_KIND', 'HISTORY_CHECKPOINT_PATH', 'REDIS_URL', 'REDIS_KEY_PREFIX', 'STORE_LEASE_SECONDS',
];

/** `node` and its arguments for one service's entry point. */
function nodeArgs(service: 'telemetry_generator' | 'metrics_server', args: readonly string[], nodeFlags: readonly string[] = []): string[] {
  const entry = resolve(root, `${service}/src/main.${fromSource ? 'ts' : 'js'}`);
  return [...nodeFlags, ...(fromSource ? ['--import', 'tsx'] : []), entry, ...args];
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

/** How a child is run beyond its service, arguments and environment. */
interface SpawnOptions {
  readonly echo?: ((line: string) => void) | undefined;
  readonly nodeFlags?: readonly string[] | undefined;
  /**
   * Ready when `GET /healthz` on this port answers 200, not on the "listening on" line: a child
   * logging at WARNING never writes that INFO line.
   */
  readonly healthzPort?: number | undefined;
}

/** Answers whether `GET /healthz` on loopback `port` is 200 right now. */
async function healthy(port: number): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(500) });
    await response.arrayBuffer();
    return response.status === 200;
  } catch {
    return false;
  }
}

/** Spawns `node <service>` and waits for its "listening on" line (or its /healthz). */
async function spawnService(name: string, service: 'telemetry_generator' | 'metrics_server', args: readonly string[], env: Record<string, string>, timeoutMs: number, options: SpawnOptions = {}): Promise<ClusterProcess> {
  const { echo, nodeFlags, healthzPort } = options;
  const clean = Object.fromEntries(Object.entries(process.env).filter(([key]) => !CONFIG_ENV.includes(key)));
  const child = spawn(process.execPath, nodeArgs(service, args, nodeFlags), { env: { ...clean, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
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
    const timer = setTimeout(() => {
      // Not left running behind the caller's back: whoever gets this error has no child to stop.
      child.kill('SIGKILL');
      reject(new Error(`${name} did not start within ${timeoutMs} ms: ${text.slice(-2000)}`));
    }, timeoutMs);
    const check = (): void => {
      const match = /listening on (http:\/\/[\d.]+:\d+)/.exec(text);
      if (match === null) return;
      clearTimeout(timer);
      child.stdout!.off('data', check);
      resolveUrl(match[1]!);
    };
    child.stdout!.on('data', check);
    if (healthzPort !== undefined) {
      const poll = async (): Promise<void> => {
        while (child.exitCode === null && child.signalCode === null) {
          if (await healthy(healthzPort)) {
            clearTimeout(timer);
            resolveUrl(`http://127.0.0.1:${healthzPort}`);
            return;
          }
          await new Promise((r) => setTimeout(r, 50));
        }
      };
      void poll();
    }
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
  /** How long it may take to listen (default 20 s; the soak allows more on a loaded machine). */
  readonly startTimeoutMs?: number;
}

/** Starts a generator on 127.0.0.1. */
export function startGenerator(settings: GeneratorSettings, echo?: (line: string) => void): Promise<ClusterProcess> {
  const args = ['--host', '127.0.0.1', '--port', String(settings.port), '--switches', String(settings.switches), '--interval', String(settings.intervalSeconds), '--seed', String(settings.seed)];
  return spawnService('generator', 'telemetry_generator', args, { LOG_LEVEL: 'INFO' }, settings.startTimeoutMs ?? 20_000, { echo });
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
  /** Above INFO (the soak's WARNING, which keeps the request log out), `port` must be fixed: readiness is then read from /healthz. */
  readonly logLevel?: string;
  /** Flags for `node` itself (the soak's `--expose-gc`); none by default. */
  readonly nodeFlags?: readonly string[];
  /** A configuration file for the settings no environment variable reaches (the soak's history and streams). */
  readonly configPath?: string;
  /**
   * The history checkpoint file (relative to the project, or absolute). Default without a config
   * file: `var/history-<name>.bin`, one per instance, so instances on one host never share one and a
   * restarted instance loads its own.
   */
  readonly checkpointPath?: string;
}

/** Starts one instance with `store.kind: redis` on 127.0.0.1. */
export function startInstance(settings: InstanceSettings, echo?: (line: string) => void): Promise<ClusterProcess> {
  const quiet = settings.logLevel !== undefined && !['DEBUG', 'INFO'].includes(settings.logLevel.toUpperCase());
  if (quiet && settings.port === 0) return Promise.reject(new Error(`${settings.name}: a log level above INFO needs a fixed port (its readiness is read from /healthz)`));
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
    ...(settings.configPath === undefined ? {} : { METRICS_SERVER_CONFIG: settings.configPath }),
    ...(settings.checkpointPath !== undefined || settings.configPath === undefined ? { HISTORY_CHECKPOINT_PATH: settings.checkpointPath ?? `var/history-${settings.name}.bin` } : {}),
  }, 60_000, { echo, nodeFlags: settings.nodeFlags, healthzPort: quiet ? settings.port : undefined });
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
