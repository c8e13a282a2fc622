/**
 * Redis for tests: the shared server on 127.0.0.1:6379 (a fresh key prefix per run, deleted after),
 * and private redis-server processes on free loopback ports that a test may stop, restart empty or
 * protect with a password. Tests that need Redis fail under CI=true when it is absent (CI must run
 * them: `.ci/run` starts it) and are skipped with the reason elsewhere.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';
import { redisUnavailable as redisAnswersPing } from '../../scripts/cluster-processes.js';
import { freePort } from './helpers.js';

/** The shared test Redis. */
export const REDIS_URL = process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379/0';

/** Undefined when Redis answers PING, else why not. */
export function redisUnavailable(url = REDIS_URL): Promise<string | undefined> {
  return redisAnswersPing(url);
}

/**
 * The `skip` option for a test that needs Redis: false when it answers; the reason when it does not;
 * under CI=true a missing Redis throws instead, so CI cannot pass by skipping.
 */
export async function skipUnlessRedis(): Promise<string | false> {
  const why = await redisUnavailable();
  if (why === undefined) return false;
  if (process.env['CI'] === 'true') throw new Error(`${why}; CI requires it (start it: redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no)`);
  return `${why}: skipped (start it: redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no)`;
}

/** A key prefix of its own for one test run. */
export function testPrefix(name: string): string {
  return `test-${name}-${process.pid}-${randomBytes(4).toString('hex')}:`;
}

/** Deletes every key under `prefix` (SCAN, not KEYS: never blocks a shared Redis). */
export async function deletePrefix(prefix: string, url = REDIS_URL): Promise<void> {
  const client = createClient({ url, socket: { connectTimeout: 1000, reconnectStrategy: false } });
  client.on('error', () => undefined);
  await client.connect();
  try {
    for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 100 })) if (keys.length > 0) await client.del(keys);
  } finally {
    client.destroy();
  }
}

/** A command client on `url` (bulk strings as strings), for a test to read or tamper with keys. */
export async function redisClient(url = REDIS_URL) {
  const client = createClient({ url, socket: { connectTimeout: 1000, reconnectStrategy: false } });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

/** Whether a `redis-server` binary is on PATH (private servers need it). */
export function haveRedisServer(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** A redis-server process of a test's own, on a loopback port, without persistence. */
export class PrivateRedis {
  private child: ChildProcess | undefined;

  private constructor(
    readonly port: number,
    private readonly password: string | undefined,
  ) {}

  /** Starts one on a free port (`password` sets requirepass). */
  static async start(password?: string): Promise<PrivateRedis> {
    const redis = new PrivateRedis(await freePort(), password);
    await redis.restart();
    return redis;
  }

  /** `redis://127.0.0.1:PORT/0`, with `password` when given. */
  url(password?: string): string {
    return `redis://${password === undefined ? '' : `:${encodeURIComponent(password)}@`}127.0.0.1:${this.port}/0`;
  }

  /** Starts it again (empty: nothing is saved) on the same port, and waits until it answers. */
  async restart(): Promise<void> {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', ...(this.password === undefined ? [] : ['--requirepass', this.password])];
    const child = spawn('redis-server', args, { stdio: 'ignore' });
    this.child = child;
    const deadline = Date.now() + 5000;
    while ((await redisUnavailable(this.url(this.password))) !== undefined) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`redis-server on port ${this.port} did not start`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Stops it at once (SIGKILL to the PID we started: no save, no goodbye, like a crash). */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGKILL');
    await once(child, 'exit');
  }
}
