/**
 * `npm run bench:cluster` (issue 16): a chaos and measurement run of the Redis cluster, on loopback
 * only, bounded in time, every child stopped by its PID. Needs Redis on 127.0.0.1:6379 (REDIS_URL).
 *
 * - failover: kill -9 of the leader, time until every survivor serves a snapshot of a newer term
 *   (p50/p99/max over N kills; goal: within lease + 2 poll intervals);
 * - fencing: the leader SIGSTOPped past its lease and resumed: its publishes attempted and refused
 *   after a newer term existed, and how many were accepted (goal 0);
 * - replica lag: the leader's swap ("published vN") to each follower's swap ("applied vN"), from
 *   their DEBUG log timestamps (same host clock, ms), at 10,000 switches (goal p99 ≤ 200 ms), and at
 *   100,000 unless --quick;
 * - warm start: a follower started while the cluster runs, time from its "listening" line to
 *   GetMetric answering with the cluster's current version (goal ≤ 1 s);
 * - read scaling: GetMetric throughput over two instances against one, at 1,000 switches.
 *
 * `--quick`: fewer kills and samples, no 100,000-switch lag. Results go to bench/results/.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createClient } from 'redis';
import { instanceState, killProcess, servedVersion, startGenerator, startInstance, stopProcess, type ClusterProcess } from '../scripts/cluster-processes.js';
import type { LoadResult, LoadSpec } from './load.js';
import { dist } from './settings.js';

const quick = process.argv.includes('--quick');
const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379/0';
const RUN = `bench-cluster-${process.pid}-${Date.now()}`;
const KILLS = quick ? 5 : 20;
const PAUSES = quick ? 2 : 5;
const LEASE_SECONDS = 1;
const POLL_SECONDS = 0.25;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const live = new Set<ClusterProcess>();
const prefixes: string[] = [];

function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}
const stats = (values: readonly number[]) => ({ n: values.length, p50: quantile(values, 0.5), p99: quantile(values, 0.99), max: Math.max(...values) });
const log = (line: string): void => void process.stdout.write(`${line}\n`);

async function until(condition: () => Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** A generator and `count` instances under a fresh key prefix. */
async function cluster(name: string, switches: number, pollSeconds: number, count: number, logLevel = 'INFO') {
  const prefix = `${RUN}-${name}:`;
  prefixes.push(prefix);
  const generator = await startGenerator({ switches, intervalSeconds: pollSeconds, seed: 16, port: 0 });
  live.add(generator);
  const settings = (i: number) => ({ name: `${name}-${i}`, generatorUrl: `${generator.url}/counters`, redisUrl: REDIS_URL, keyPrefix: prefix, leaseSeconds: LEASE_SECONDS, pollIntervalSeconds: pollSeconds, port: 0, logLevel });
  let started = 0;
  const add = async (): Promise<ClusterProcess> => {
    const instance = await startInstance(settings(started++));
    live.add(instance);
    return instance;
  };
  const instances: ClusterProcess[] = [];
  for (let i = 0; i < count; i++) instances.push(await add());
  const alive = () => instances.filter((i) => i.child.exitCode === null && i.child.signalCode === null);
  const leader = async (): Promise<ClusterProcess | undefined> => {
    for (const i of alive()) if ((await instanceState(i.url))?.role === 'leader') return i;
    return undefined;
  };
  const stop = async () => {
    for (const p of [...instances, generator]) {
      await stopProcess(p.child);
      live.delete(p);
    }
  };
  await until(async () => (await Promise.all(alive().map((i) => servedVersion(i.url, 'sw1')))).every((v) => v !== undefined), `${name}: every instance serves data`, 60_000);
  return { generator, instances, alive, leader, add, stop };
}

/** The term of the snapshot an instance serves (Status). */
async function snapshotTerm(url: string): Promise<number> {
  try {
    const body = (await (await fetch(`${url}/telemetry/Status`, { signal: AbortSignal.timeout(1000) })).json()) as { snapshot: { term: number } | null };
    return body.snapshot?.term ?? -1;
  } catch {
    return -1;
  }
}

async function failover() {
  log(`failover: ${KILLS} kill -9 of the leader, 3 instances, 1,000 switches, lease ${LEASE_SECONDS} s, poll ${POLL_SECONDS} s`);
  const c = await cluster('failover', 1000, POLL_SECONDS, 3);
  const times: number[] = [];
  for (let k = 0; k < KILLS; k++) {
    const leader = await c.leader();
    if (leader === undefined) throw new Error('no leader');
    const oldTerm = (await instanceState(leader.url))!.term;
    const killedAt = performance.now();
    await killProcess(leader.child);
    const survivors = c.alive();
    await until(async () => (await Promise.all(survivors.map((s) => snapshotTerm(s.url)))).every((t) => t > oldTerm), 'survivors serve the new term', 15_000);
    times.push(performance.now() - killedAt);
    log(`  kill ${k + 1}: ${times[times.length - 1]!.toFixed(0)} ms`);
    c.instances.push(await c.add());
    live.delete(leader);
  }
  await c.stop();
  const s = stats(times);
  return { ...s, goalMs: (LEASE_SECONDS + 2 * POLL_SECONDS) * 1000, leaseSeconds: LEASE_SECONDS, pollSeconds: POLL_SECONDS, switches: 1000, instances: 3 };
}

async function fencing() {
  log(`fencing: ${PAUSES} SIGSTOPs of the leader for 3 leases, then SIGCONT`);
  const c = await cluster('fencing', 1000, POLL_SECONDS, 3);
  let attempted = 0;
  let refused = 0;
  let acceptedStale = 0;
  for (let p = 0; p < PAUSES; p++) {
    const leader = await c.leader();
    if (leader === undefined) throw new Error('no leader');
    const before = await publishes(leader.url);
    leader.child.kill('SIGSTOP');
    await sleep(3 * LEASE_SECONDS * 1000);
    leader.child.kill('SIGCONT');
    await until(async () => (await instanceState(leader.url))?.role === 'follower', 'the paused leader steps down', 10_000);
    await sleep(1000);
    const after = await publishes(leader.url);
    attempted += after.attempted - before.attempted;
    refused += after.refused - before.refused;
    acceptedStale += after.accepted - before.accepted;
    log(`  pause ${p + 1}: attempted ${after.attempted - before.attempted}, refused ${after.refused - before.refused}, accepted ${after.accepted - before.accepted}`);
  }
  await c.stop();
  return { pauses: PAUSES, pauseSeconds: 3 * LEASE_SECONDS, attemptedAfterNewerTerm: attempted, refused, acceptedStale };
}

async function publishes(url: string): Promise<{ attempted: number; accepted: number; refused: number }> {
  const body = (await (await fetch(`${url}/telemetry/Status`)).json()) as { store: { publishes: { attempted: number; accepted: number; refused: number } } };
  return body.store.publishes;
}

/** Milliseconds of a `2026-...Z LEVEL [store] ... vN` log line, by version. */
function swapTimes(text: string, verb: 'published' | 'applied'): Map<number, number> {
  const out = new Map<number, number>();
  for (const m of text.matchAll(new RegExp(`^(\\S+Z) DEBUG \\[store\\] ${verb} snapshot v(\\d+)`, 'gm'))) out.set(Number(m[2]), Date.parse(m[1]!));
  return out;
}

async function lag(switches: number, pollSeconds: number, seconds: number) {
  log(`replica lag: ${switches.toLocaleString('en')} switches, poll ${pollSeconds} s, ${seconds} s of samples, 2 followers`);
  const c = await cluster(`lag${switches}`, switches, pollSeconds, 3, 'DEBUG');
  // Steady state: snapshots published in the first seconds (JIT warm-up, followers' first loads) are left out.
  await sleep(3000);
  const from = Date.now();
  await sleep(seconds * 1000);
  const leader = await c.leader();
  if (leader === undefined) throw new Error('no leader');
  const published = swapTimes(leader.output(), 'published');
  const lags: number[] = [];
  for (const follower of c.alive().filter((i) => i !== leader)) {
    for (const [version, at] of swapTimes(follower.output(), 'applied')) {
      const publishedAt = published.get(version);
      if (publishedAt !== undefined && publishedAt >= from) lags.push(at - publishedAt);
    }
  }
  await c.stop();
  return { switches, pollSeconds, ...stats(lags), goalP99Ms: 200 };
}

async function warmStart() {
  const restarts = quick ? 2 : 5;
  log(`warm start: ${restarts} followers started into a running cluster at 10,000 switches`);
  const c = await cluster('warm', 10_000, 1, 2);
  const listenToData: number[] = [];
  const spawnToListen: number[] = [];
  for (let r = 0; r < restarts; r++) {
    const clusterVersion = (await servedVersion(c.instances[0]!.url, 'sw1')) ?? 0;
    const t0 = performance.now();
    const added = await c.add();
    const listening = performance.now();
    await until(async () => ((await servedVersion(added.url, 'sw1')) ?? 0) >= clusterVersion, 'the new follower serves current data', 10_000);
    listenToData.push(performance.now() - listening);
    spawnToListen.push(listening - t0);
    log(`  follower ${r + 1}: listening after ${(listening - t0).toFixed(0)} ms, current data ${(performance.now() - listening).toFixed(0)} ms after listening`);
    await stopProcess(added.child);
    live.delete(added);
  }
  await c.stop();
  return { switches: 10_000, listenToCurrentDataMs: stats(listenToData), spawnToListeningMs: stats(spawnToListen), goalMs: 1000 };
}

async function readScaling() {
  const seconds = quick ? 3 : 6;
  log(`read scaling: GetMetric at 1,000 switches, ${seconds} s per run, 16 connections per load process`);
  const c = await cluster('reads', 1000, 1, 2);
  const paths = Array.from({ length: 64 }, (_, i) => `/telemetry/GetMetric?switch=sw${i + 1}&metric=bandwidth_mbps`);
  const spec = (url: string) => ({ url, paths, connections: 16, seconds, warmupSeconds: 1 });
  const one = await runLoad(spec(c.instances[0]!.url));
  const both = await Promise.all([runLoad(spec(c.instances[0]!.url)), runLoad(spec(c.instances[1]!.url))]);
  const oneInstance = one.requestsPerSecond;
  const twoInstances = both[0].requestsPerSecond + both[1].requestsPerSecond;
  await c.stop();
  return { switches: 1000, oneInstanceRps: Math.round(oneInstance), twoInstancesRps: Math.round(twoInstances), ratio: Math.round((twoInstances / oneInstance) * 100) / 100, failures: one.failures + both[0].failures + both[1].failures };
}

/** Runs the load generator (bench/load.ts) in its own process; it stops by itself after `seconds`. */
function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const child = spawn(process.execPath, [join(dist, 'bench/load.js'), JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    const guard = setTimeout(() => child.kill('SIGKILL'), (spec.seconds + (spec.warmupSeconds ?? 0) + 30) * 1000);
    child.once('exit', (code) => {
      clearTimeout(guard);
      if (code !== 0) reject(new Error(`load generator exited ${code}: ${err.trim()}`));
      else resolve(JSON.parse(out) as LoadResult);
    });
  });
}

async function cleanup(): Promise<void> {
  await Promise.all([...live].map((p) => stopProcess(p.child)));
  const client = createClient({ url: REDIS_URL, socket: { connectTimeout: 1000, reconnectStrategy: false } });
  client.on('error', () => undefined);
  try {
    await client.connect();
    for (const prefix of prefixes) for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 100 })) if (keys.length > 0) await client.del(keys);
  } finally {
    client.destroy();
  }
}

async function main(): Promise<void> {
  process.once('SIGINT', () => {
    process.stderr.write('\nbench:cluster: interrupted; stopping its processes\n');
    void cleanup().then(() => process.exit(130));
  });
  const started = new Date();
  const results: Record<string, unknown> = { started: started.toISOString(), quick, redis: REDIS_URL, cores: (await import('node:os')).availableParallelism() };
  const guard = setTimeout(() => {
    process.stderr.write('bench:cluster: over its 20-minute bound; stopping\n');
    void cleanup().then(() => process.exit(2));
  }, 20 * 60_000);
  try {
    results['failover'] = await failover();
    results['fencing'] = await fencing();
    results['lag_10k'] = await lag(10_000, 0.5, quick ? 10 : 30);
    if (!quick) results['lag_100k'] = await lag(100_000, 2, 40);
    results['warm_start'] = await warmStart();
    results['read_scaling'] = await readScaling();
  } finally {
    clearTimeout(guard);
    await cleanup();
  }
  const dir = join(dist, '..', 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `cluster-${started.toISOString().replace(/[:.]/g, '-')}${quick ? '-quick' : ''}.json`);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  log(JSON.stringify(results, null, 2));
  log(`bench:cluster: results in ${file}`);
}

main().catch(async (err: unknown) => {
  process.stderr.write(`bench:cluster: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  await cleanup();
  process.exit(1);
});
