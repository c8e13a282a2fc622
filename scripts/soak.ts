/**
 * `npm run soak [-- --seconds N] [--mode poll|push] [--stream-clients N] [--no-history] [--cluster]
 * [--inject-leak snapshot:BYTES|request:BYTES]`: a bounded soak test on loopback (default 60 s).
 *
 * Starts a real generator (300 switches, a new tick every second) and a real metrics server (or,
 * with `--cluster`, three on Redis), then runs full-speed mixed reads over several keep-alive
 * connections while snapshots swap every second (soak-reads.ts; the history queries join the mix
 * when the history is on, as it is by default). Faults during the run: a single server sees the
 * generator stopped and restarted at a third of the run and killed (kill -9) and restarted at two
 * thirds, whether it polls or (`--mode push`) follows the generator's stream; a cluster sees its
 * leader killed at a sixth of the run and then paused at a third (soak-cluster.ts). `--stream-clients N` adds `/telemetry/stream`
 * clients that connect, read, stall and leave all through the run (soak-streams.ts). The generator's
 * own CSV is sampled ten times a tick so every state served can be checked against one it produced.
 *
 * Memory (memory-verdict.ts): every server runs with `--expose-gc`, and every few seconds SIGUSR2
 * has it run a full collection and log its live memory (soak-hooks.ts); the history's bytes (Status)
 * read at the same moment are subtracted, and a line through the second half of each process's life
 * must stay flat. RSS is sampled every second and its troughs judged on long runs. `--inject-leak`
 * turns on the server's deliberate leak, the negative control that shows the verdict can fail.
 *
 * Prints one table and exits non-zero if any check fails. Every process it starts is stopped by PID
 * on the way out, and a cluster's Redis keys (a prefix of the soak's own) are deleted.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HEAP_PROBE_MESSAGE, LEAK_ENV } from '../metrics_server/src/soak-hooks.js';
import { killProcess, redisUnavailable, startGenerator, stopProcess, type ClusterProcess } from './cluster-processes.js';
import { describeVerdict, judgeLiveMemory, judgeRssMinima, type GrowthVerdict, type MemoryPoint } from './memory-verdict.js';
import { FaultWindows, RoleMonitor, SOAK_LEASE_SECONDS, deleteKeys, runLeaderFaults, startInstances, type FaultReport, type InstanceSlot } from './soak-cluster.js';
import { HOST, csvFingerprint, describe, freePort, get, sleep } from './soak-http.js';
import { USAGE, parseSoakOptions, type SoakOptions } from './soak-options.js';
import { ReadLoad, type ReadTarget } from './soak-reads.js';
import { SLOW_DROP_MIN_RUN_SECONDS, runStreamClients, type StreamClientStats } from './soak-streams.js';

const distRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SWITCHES = 300;
const CONNECTIONS = 8;
const REDIS_URL = process.env['SOAK_REDIS_URL'] ?? 'redis://127.0.0.1:6379/0';
/** A stalled stream client is dropped past this many unsent bytes (the default, at least 1 MiB, would take half a minute at 300 switches). */
const STREAM_MAX_BUFFERED_BYTES = 256 * 1024;

function options(): SoakOptions {
  try {
    return parseSoakOptions(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`soak: ${describe(err)}\n${USAGE}\n`);
    process.exit(2);
  }
}

const opts = options();
/** Seconds between heap probes: every second on the CI's short runs (the more points, the less noise in the slope), at least 15 in the judged half of runs up to 5 minutes. */
const PROBE_EVERY_S = opts.seconds <= 120 ? 1 : opts.seconds <= 300 ? 2 : 10;

// ---------------------------------------------------------------- processes
/** One server process of the run (a cluster's restarted instance is a second process in its slot). */
interface ServerProcess {
  readonly name: string;
  readonly port: number;
  readonly child: ChildProcess;
  readonly startedAtMs: number;
  log(): string;
}

const started = new Set<ChildProcess>();
/** The cluster's Redis keys start with this, the soak's own; deleted on the way out. */
const keyPrefix = `soak-${process.pid}-${Date.now().toString(36)}:`;
let generator: ClusterProcess | undefined;
let slots: InstanceSlot[] = [];

async function stopAll(): Promise<void> {
  const all = [...started, ...slots.flatMap((s) => s.processes.map((p) => p.process.child)), ...(generator === undefined ? [] : [generator.child])];
  // A paused instance must be resumed to take its SIGTERM.
  for (const child of all) if (child.exitCode === null && child.signalCode === null) child.kill('SIGCONT');
  await Promise.all(all.map((c) => stopProcess(c)));
}

process.on('SIGINT', () => void stopAll().then(() => process.exit(130)));
// A bug in the soak itself must not leave its processes behind.
process.on('unhandledRejection', (err) => {
  process.stderr.write(`soak: ${describe(err)}\n`);
  void stopAll().then(() => process.exit(1));
});
process.on('SIGTERM', () => void stopAll().then(() => process.exit(143)));

/** The single server, logging to a file (its request log at WARNING: only 4xx/5xx). */
async function startServer(configPath: string, port: number, logPath: string): Promise<ServerProcess> {
  const fd = openSync(logPath, 'a');
  const env = { ...process.env, METRICS_SERVER_CONFIG: configPath, METRICS_SERVER_HOST: HOST, METRICS_SERVER_PORT: String(port), ...(opts.leak === undefined ? {} : { [LEAK_ENV]: opts.leak }) };
  const child = spawn(process.execPath, ['--expose-gc', join(distRoot, 'metrics_server/src/main.js')], { env, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  started.add(child);
  const probe = new http.Agent({ keepAlive: false });
  const upBy = Date.now() + 15_000;
  for (;;) {
    const reply = await get(probe, port, '/healthz', 1000).catch(() => undefined);
    if (reply?.status === 200) break;
    if (Date.now() > upBy || child.exitCode !== null) throw new Error(`the metrics server did not come up; see ${logPath}`);
    await sleep(50);
  }
  return { name: 'server', port, child, startedAtMs: Date.now(), log: () => readFileSync(logPath, 'utf8') };
}

function rssKb(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match === null ? undefined : Number(match[1]);
  } catch {
    return undefined;
  }
}

interface StatusDoc {
  snapshot: { version: number } | null;
  ingestion: { polls: Record<string, number>; stream?: { reconnects: number; events: number; connected: boolean } };
  store: { role: string; term: number };
  streams?: { clients: number; slow_clients_dropped: number };
  history: { bytes: number; samples: number; snapshots: number; failed_appends: number; skipped_snapshots: number; checkpoint: { saves: number; last_error: unknown } | null } | null;
}

async function status(port: number): Promise<StatusDoc | undefined> {
  const reply = await get(new http.Agent({ keepAlive: false }), port, '/telemetry/Status', 2000).catch(() => undefined);
  return reply?.status === 200 ? (JSON.parse(reply.body) as StatusDoc) : undefined;
}

// ---------------------------------------------------------------- main
async function main(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'fabric-soak-'));
  const generatorPort = await freePort();
  const serverConfig = (name: string): string => {
    const path = join(dir, `${name}.json`);
    writeFileSync(
      path,
      JSON.stringify({
        // WARNING keeps the log to what matters (failures, 4xx/5xx, the heap probe): an INFO request
        // log at full speed would write hundreds of megabytes.
        logging: { level: 'WARNING', format: 'text' },
        ingestion: { mode: opts.mode, generator_url: `http://${HOST}:${generatorPort}/counters`, poll_interval_seconds: 1, fetch_timeout_seconds: 0.8, max_body_bytes: 64 * 1024 * 1024 },
        // The checkpoint in the run's own directory, saved every minute: never the project's var/.
        history: { enabled: opts.history, checkpoint_path: join(dir, `${name}-history.bin`), checkpoint_interval_seconds: 60 },
        stream: { max_buffered_bytes: STREAM_MAX_BUFFERED_BYTES },
      }),
    );
    return path;
  };
  const shape = [
    opts.cluster ? `cluster of 3 on Redis (prefix ${keyPrefix}, lease ${SOAK_LEASE_SECONDS} s)` : 'one server',
    `${opts.mode} mode`,
    `history ${opts.history ? 'on' : 'off'}`,
    `${opts.streamClients} stream clients`,
  ].join(', ');
  process.stdout.write(`soak: ${opts.seconds} s, ${SWITCHES} switches, ${CONNECTIONS} connections, ${shape}, logs in ${dir}${opts.leak === undefined ? '' : `, INJECTED LEAK ${opts.leak}`}\n`);

  // The servers first, so the reads begin before any snapshot exists (those 503s are expected).
  const faults = new FaultWindows();
  let single: ServerProcess | undefined;
  if (opts.cluster) {
    const problem = await redisUnavailable(REDIS_URL);
    if (problem !== undefined) throw new Error(`--cluster needs Redis: ${problem}`);
    if (opts.leak !== undefined) process.env[LEAK_ENV] = opts.leak;
    const ports = [await freePort(), await freePort(), await freePort()];
    slots = await startInstances(
      ports.map((port, i) => ({
        name: `server-${i + 1}`,
        generatorUrl: `http://${HOST}:${generatorPort}/counters`,
        redisUrl: REDIS_URL,
        keyPrefix,
        leaseSeconds: SOAK_LEASE_SECONDS,
        pollIntervalSeconds: 1,
        port,
        logLevel: 'WARNING',
        nodeFlags: ['--expose-gc'],
        configPath: serverConfig(`server-${i + 1}`),
      })),
    );
  } else {
    single = await startServer(serverConfig('server'), await freePort(), join(dir, 'server.log'));
  }
  // 60 s to start: at nice 10 on two cores busy with other work, a start has taken over 20 s.
  const startGen = (): Promise<ClusterProcess> => startGenerator({ switches: SWITCHES, intervalSeconds: 1, seed: 4242, port: generatorPort, startTimeoutMs: 60_000 });
  generator = await startGen();

  /** Every server process of the run so far. */
  const processes = (): ServerProcess[] =>
    single !== undefined
      ? [single]
      : slots.flatMap((slot) => slot.processes.map((p) => ({ name: slot.name, port: slot.port, child: p.process.child, startedAtMs: p.startedAtMs, log: p.process.output })));
  /** The processes that are up now and not being faulted. */
  const targets = (): ReadTarget[] =>
    single !== undefined ? [{ name: single.name, port: single.port, pid: single.child.pid! }] : slots.filter((s) => !faults.isOpen(s.name)).map((s) => ({ name: s.name, port: s.port, pid: s.current.child.pid! }));
  const pick = (i: number): ReadTarget | undefined => {
    const up = targets();
    return up.length === 0 ? undefined : up[i % up.length];
  };
  const faulted = (name: string, fromMs: number, toMs: number): boolean => faults.overlaps(name, fromMs, toMs);

  const startedMs = Date.now();
  const deadline = startedMs + opts.seconds * 1000;
  const atS = (ms = Date.now()): number => (ms - startedMs) / 1000;
  let running = true;
  const load = new ReadLoad({ switches: SWITCHES, history: opts.history, deadlineMs: deadline, pick, faulted });

  // Sample the generator's CSV ten times a tick, so every tick it served is known. Each new tick the
  // sampler sees wakes whoever waits for one (the generator faults, below).
  const generatorFingerprints = new Set<string>();
  let lastTickEtag: string | undefined;
  let tickWaiters: (() => void)[] = [];
  const sampler = (async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    while (running) {
      const reply = await get(agent, generatorPort, '/counters', 1000).catch(() => undefined);
      if (reply?.status === 200) {
        const fingerprint = csvFingerprint(reply.body);
        if (fingerprint !== undefined) generatorFingerprints.add(fingerprint);
        if (reply.etag !== lastTickEtag) {
          lastTickEtag = reply.etag;
          for (const wake of tickWaiters) wake();
          tickWaiters = [];
        }
      }
      await sleep(100);
    }
    agent.destroy();
  })();
  const nextTickSampled = (timeoutMs: number): Promise<void> =>
    new Promise((resolveWait) => {
      tickWaiters.push(resolveWait);
      setTimeout(resolveWait, timeoutMs);
    });

  // Memory: RSS of every live process every second; live memory by the heap probe (SIGUSR2), with
  // the history's bytes read from Status at the same moment, to be subtracted.
  const rss = new Map<number, MemoryPoint[]>();
  const designBytes = new Map<number, MemoryPoint[]>();
  const live = (): ServerProcess[] => processes().filter((p) => p.child.exitCode === null && p.child.signalCode === null && !faults.isOpen(p.name));
  const monitor = (async () => {
    while (Date.now() < deadline) {
      for (const p of live()) {
        const kb = rssKb(p.child.pid!);
        if (kb === undefined) continue;
        const list = rss.get(p.child.pid!) ?? [];
        list.push({ atS: atS(), bytes: kb * 1024 });
        rss.set(p.child.pid!, list);
      }
      await sleep(1000);
    }
  })();
  const prober = (async () => {
    while (Date.now() < deadline) {
      await sleep(PROBE_EVERY_S * 1000);
      await Promise.all(
        live().map(async (p) => {
          p.child.kill('SIGUSR2');
          const doc = await status(p.port);
          const list = designBytes.get(p.child.pid!) ?? [];
          list.push({ atS: atS(), bytes: doc?.history?.bytes ?? 0 });
          designBytes.set(p.child.pid!, list);
        }),
      );
    }
  })();

  // Faults: a single server's generator is stopped (SIGTERM) at a third of the run and killed
  // (SIGKILL) at two thirds, each time restarted 2.5 s later; a cluster's leader is killed, then paused.
  const generatorEvents: string[] = [];
  /** Faults the soak could not carry out (a restart that failed): each fails the run. */
  const faultProblems: string[] = [];
  let roleMonitor: RoleMonitor | undefined;
  let faultReport: Promise<FaultReport> | undefined;
  const generatorFaults = (async () => {
    if (opts.cluster) return;
    for (const [at, how] of [[1 / 3, 'stopped'], [2 / 3, 'killed']] as const) {
      await sleep(Math.max(0, startedMs + opts.seconds * 1000 * at - Date.now()));
      // Right after the sampler has seen a new tick, so the last tick the server may have ingested
      // is one the sampler holds (a tick served just before a stop and never sampled would count as
      // a torn read: seen once under a load average of 20).
      await nextTickSampled(5000);
      if (how === 'stopped') await stopProcess(generator!.child);
      else await killProcess(generator!.child);
      generatorEvents.push(`${how} at ${atS().toFixed(1)} s`);
      await sleep(2500);
      try {
        generator = await startGen();
        generatorEvents.push(`restarted at ${atS().toFixed(1)} s`);
      } catch (err) {
        faultProblems.push(`the generator did not restart: ${describe(err).split('\n')[0]}`);
        return;
      }
    }
  })();
  if (opts.cluster) {
    roleMonitor = new RoleMonitor(slots, faults, startedMs);
    roleMonitor.start();
    // Both faults in the first half, so the memory verdict (the second half) judges the instances
    // after them, not a follower's first moments as leader (its ingestion warming up).
    faultReport = runLeaderFaults(slots, roleMonitor, faults, startedMs, startedMs + (opts.seconds * 1000) / 6, startedMs + (opts.seconds * 1000) / 3);
  }

  const streams: Promise<StreamClientStats | undefined> =
    opts.streamClients === 0
      ? Promise.resolve(undefined)
      : runStreamClients({ count: opts.streamClients, deadlineMs: deadline, pick: (k) => pick(k), faulted });

  await Promise.all(Array.from({ length: CONNECTIONS }, (_, n) => load.reader(n)));
  const elapsed = atS();
  const [streamStats, faultEvents] = await Promise.all([streams, faultReport, generatorFaults, monitor, prober]);
  running = false;
  await sampler;
  roleMonitor?.stop();
  // Let the servers notice every stream client has gone before Status is read.
  await sleep(1000);
  const finals = new Map<string, StatusDoc | undefined>();
  for (const t of targets()) finals.set(t.name, await status(t.port));
  const leadersAtEnd = [...finals.entries()].filter(([, s]) => s?.store.role === 'leader');
  const checked = load.verify(generatorFingerprints, streamStats?.states ?? new Map());

  await sleep(300); // the servers' log batchers write within 100 ms
  const logs = new Map<number, string[]>();
  for (const p of processes()) logs.set(p.child.pid!, p.log().split('\n'));
  const allLines = [...logs.values()].flat();
  const outagesLogged = allLines.filter((l) => (l.includes('[poller]') || l.includes('[push]')) && l.includes(' ERROR ')).length;
  const internal = allLines.filter((l) => l.includes('internal error')).length;
  const endedAtS = atS();
  const ends = new Map<number, number>();
  for (const p of processes()) ends.set(p.child.pid!, p.child.exitCode === null && p.child.signalCode === null ? endedAtS : NaN);
  await stopAll();
  const keysDeleted = opts.cluster ? await deleteKeys(REDIS_URL, keyPrefix) : 0;

  // Memory, per process alive at the end, over its own life: the first half of a life is warm-up.
  // A cluster's replacement for its killed leader lived only the end of the run, mostly warm-up
  // (JIT code, caches: the live heap rises 1 to 3 MB over a process's first minute): it is reported,
  // and the instances that lived the whole run are judged.
  const verdicts: { name: string; replacement: boolean; live: GrowthVerdict; rss: GrowthVerdict; probes: MemoryPoint[]; rssPoints: MemoryPoint[] }[] = [];
  for (const p of processes()) {
    const pid = p.child.pid!;
    if (Number.isNaN(ends.get(pid))) continue;
    const bornS = atS(p.startedAtMs);
    const lifeS = endedAtS - bornS;
    const held = designBytes.get(pid) ?? [];
    const heldAt = (t: number): number => held.reduce((best, d) => (Math.abs(d.atS - t) < Math.abs(best.atS - t) ? d : best), { atS: Infinity, bytes: 0 }).bytes;
    const probes: MemoryPoint[] = [];
    for (const line of logs.get(pid) ?? []) {
      if (!line.includes(HEAP_PROBE_MESSAGE)) continue;
      const at = Date.parse(line.slice(0, line.indexOf(' ')));
      const heap = /heap_used_bytes=(\d+)/.exec(line);
      const external = /external_bytes=(\d+)/.exec(line);
      if (Number.isNaN(at) || heap === null || external === null) continue;
      probes.push({ atS: atS(at) - bornS, bytes: Number(heap[1]) + Number(external[1]) - heldAt(atS(at)) });
    }
    const rssPoints = (rss.get(pid) ?? []).map((x) => ({ atS: x.atS - bornS, bytes: x.bytes }));
    const replacement = p.startedAtMs > startedMs;
    verdicts.push({ name: `${p.name} (pid ${pid}${replacement ? `, started at ${bornS.toFixed(1)} s` : ''})`, replacement, live: judgeLiveMemory(probes, lifeS), rss: judgeRssMinima(rssPoints, lifeS), probes, rssPoints });
  }

  // ---------------------------------------------------------------- the table
  const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  const n = (x: number): string => x.toLocaleString('en-US');
  const c = load.counts;
  const rows: [string, string][] = [];
  rows.push(['run', shape]);
  rows.push(['load duration', `${elapsed.toFixed(1)} s`]);
  rows.push(['requests', `${load.requests} (${Math.round(load.requests / elapsed)}/s): ${c.get} GetMetric, ${c.list} ListMetrics, ${c.status} Status${opts.history ? `, ${c.history} GetHistory, ${c.aggregate} Aggregate, ${c.top} Top` : ''}`]);
  if (opts.cluster) rows.push(['per instance', [...load.instances.entries()].sort().map(([name, r]) => `${name} ${n(r.ok)} ok (${r.duringFaults} failed while faulted)`).join('; ')]);
  const streamErrors = streamStats?.errors ?? 0;
  const allErrorSamples = [...load.errorSamples, ...(streamStats?.errorSamples ?? [])];
  rows.push(['errors', `${load.errors + streamErrors}${allErrorSamples.length > 0 ? ` e.g. ${allErrorSamples.slice(0, 10).join(' | ')}` : ''}`]);
  rows.push(['expected 503', `${load.expected503 + (streamStats?.expected503 ?? 0)} (no snapshot yet)`]);
  const versionsAtEnd = [...finals.entries()].map(([name, s]) => `${name} v${s?.snapshot?.version ?? '-'}`).join(', ');
  rows.push(['snapshots seen', `${load.versions.size} distinct ETags; at the end ${versionsAtEnd}`]);
  rows.push(['snapshots matched', `${checked.matched}/${load.versions.size} matched a CSV the generator served (${generatorFingerprints.size} distinct CSVs sampled)`]);
  rows.push(['GetMetric checked', `${n(checked.getsChecked)} answers against ListMetrics of the same ETag`]);
  if (opts.history) {
    const h = [...finals.values()].map((s) => s?.history);
    const desc = h.map((x) => (x == null ? '-' : `${mb(x.bytes)} held, ${n(x.samples)} samples, ${x.failed_appends} failed appends, ${x.checkpoint?.saves ?? 0} checkpoints${x.checkpoint?.last_error == null ? '' : ` (error ${JSON.stringify(x.checkpoint.last_error)})`}`)).join('; ');
    rows.push(['history checked', `${n(checked.historyChecked)} GetHistory samples against ListMetrics of the same timestamp; ${n(load.historyTies)} answers held two samples in one second (snapshots ingested in one second); Status: ${desc}`]);
  }
  if (streamStats !== undefined) {
    const serverDropped = [...finals.values()].reduce((a, s) => a + (s?.streams?.slow_clients_dropped ?? 0), 0);
    const openAtEnd = [...finals.values()].reduce((a, s) => a + (s?.streams?.clients ?? 0), 0);
    rows.push([
      'stream clients',
      `${opts.streamClients} clients: ${streamStats.connected} connections, ${streamStats.left} left, ${streamStats.slowDropped} slow-dropped (servers counted ${serverDropped}), ${streamStats.stalledLeft} stalled and left, ${streamStats.endedByFault} ended by a fault; ${n(streamStats.events)} events; ${openAtEnd} open at the end`,
    ]);
    rows.push(['stream states', `${checked.streamMatched}/${checked.streamStates} versions matched a CSV the generator served (and ListMetrics of the same version where read)`]);
  }
  rows.push(['torn reads', `${load.torn}${load.tornSamples.length > 0 ? ` e.g. ${load.tornSamples.join(' | ')}` : ''}`]);
  const back = [...load.instances.values()].reduce((a, r) => a + r.versionsBack, 0);
  rows.push(['versions back', `${back}${opts.cluster ? ` (${[...load.instances.entries()].sort().map(([name, r]) => `${name} ${r.versionsBack}, up to v${r.highestVersion}`).join('; ')})` : ''}${load.backSamples.length > 0 ? ` e.g. ${load.backSamples.join(' | ')}` : ''}`]);
  if (opts.cluster) {
    const f = faultEvents!;
    rows.push(['failovers', `${roleMonitor!.failovers} (a new leader after ${roleMonitor!.takeoverMs.map((ms) => `${(ms / 1000).toFixed(1)} s`).join(', ')}); leaders at the end: ${leadersAtEnd.map(([name, s]) => `${name} term ${s!.store.term}`).join(', ') || 'none'}`]);
    rows.push(['faults', f.events.join('; ')]);
    rows.push(['roles seen', roleMonitor!.lines.join('; ')]);
    rows.push(['Redis keys deleted', `${keysDeleted} under ${keyPrefix}`]);
  } else {
    const s = finals.get('server');
    rows.push(['generator faults', `${generatorEvents.join(', ')}; ${outagesLogged} ingestion errors logged${opts.mode === 'push' ? `; stream reconnects ${s?.ingestion.stream?.reconnects ?? '-'}, events ${s?.ingestion.stream?.events ?? '-'}` : ''}; polls ${JSON.stringify(s?.ingestion.polls)}`]);
  }
  rows.push(['internal errors', `${internal} logged`]);
  for (const v of verdicts) {
    const r = v.rssPoints.map((x) => x.bytes);
    const who = opts.cluster ? `${v.name}: ` : '';
    rows.push(['server RSS', `${who}first ${r.length > 0 ? mb(r[0]!) : '-'}, end ${r.length > 0 ? mb(r[r.length - 1]!) : '-'}, max ${r.length > 0 ? mb(Math.max(...r)) : '-'}`]);
    rows.push(['live memory', `${who}${v.probes.length} probes; first ${v.probes.length > 0 ? mb(v.probes[0]!.bytes) : '-'}, last ${v.probes.length > 0 ? mb(v.probes[v.probes.length - 1]!.bytes) : '-'}${opts.history ? ' (history bytes subtracted)' : ''}`]);
    rows.push(['memory verdict', `${who}${v.replacement ? 'reported, not judged (a replacement: its life is mostly warm-up): ' : ''}${describeVerdict(v.live)}`]);
    rows.push(['RSS troughs', `${who}${describeVerdict(v.rss)}`]);
    if (streamStats !== undefined && v.live.judged && !v.replacement) {
      const perClient = streamStats.left + streamStats.slowDropped > 0 ? (v.live.slopeBytesPerMinute * (elapsed / 60)) / (streamStats.left + streamStats.slowDropped) : 0;
      rows.push(['per client left', `${who}${perClient.toFixed(0)} bytes of live-memory slope per stream client that left (the slope over the run, shared out)`]);
    }
  }
  process.stdout.write(rows.map(([label, value]) => `soak: ${label.padEnd(20)}${value}`).join('\n') + '\n');

  // ---------------------------------------------------------------- the checks
  const failures: string[] = [];
  if (load.requests === 0 || load.ok === 0) failures.push('no request served');
  if (load.errors + streamErrors > 0) failures.push(`${load.errors + streamErrors} errors`);
  if (load.torn > 0) failures.push(`${load.torn} torn reads`);
  if (back > 0) failures.push(`${back} versions went back`);
  if (load.versions.size < opts.seconds / 4) failures.push(`only ${load.versions.size} snapshots seen in ${opts.seconds} s`);
  if (internal > 0) failures.push(`${internal} internal errors logged`);
  if (!verdicts.some((v) => !v.replacement)) failures.push('no server process lived the whole run');
  for (const v of verdicts.filter((x) => !x.replacement)) {
    const who = opts.cluster ? `${v.name}: ` : '';
    if (!v.live.judged) failures.push(`${who}memory not judged: ${v.live.reason}`);
    if (v.live.leak) failures.push(`${who}live memory rising ${(v.live.slopeBytesPerMinute / 1024 / 1024).toFixed(2)} MiB/min (limit ${(v.live.limitBytesPerMinute / 1024 / 1024).toFixed(2)})`);
    if (v.rss.leak) failures.push(`${who}RSS troughs rising ${(v.rss.slopeBytesPerMinute / 1024 / 1024).toFixed(2)} MiB/min (limit ${(v.rss.limitBytesPerMinute / 1024 / 1024).toFixed(2)})`);
  }
  if (opts.history) {
    if (c.history === 0 || checked.historyChecked === 0) failures.push('no GetHistory sample checked');
    for (const [name, s] of finals) {
      if ((s?.history?.failed_appends ?? 0) > 0) failures.push(`${name}: ${s!.history!.failed_appends} failed history appends`);
      if (s?.history?.checkpoint?.last_error != null) failures.push(`${name}: checkpoint error ${JSON.stringify(s.history.checkpoint.last_error)}`);
    }
  }
  if (streamStats !== undefined) {
    const openAtEnd = [...finals.values()].reduce((a, s) => a + (s?.streams?.clients ?? 0), 0);
    if (streamStats.connected === 0 || streamStats.left === 0) failures.push('no stream client connected and left');
    if (opts.streamClients >= 3 && opts.seconds >= SLOW_DROP_MIN_RUN_SECONDS && streamStats.slowDropped === 0) failures.push(`no stalled stream client was dropped in ${opts.seconds} s`);
    if (openAtEnd > 0) failures.push(`${openAtEnd} stream clients still open on the servers after all had gone`);
    const serverDropped = finals.get('server')?.streams?.slow_clients_dropped;
    if (!opts.cluster && serverDropped !== streamStats.slowDropped) failures.push(`the server counted ${String(serverDropped)} slow clients dropped, the clients saw ${streamStats.slowDropped}`);
    if (checked.streamMatched !== checked.streamStates) failures.push(`${checked.streamStates - checked.streamMatched} stream states matched no CSV`);
  }
  if (opts.cluster) {
    const f = faultEvents!;
    if (roleMonitor!.failovers < 2) failures.push(`${roleMonitor!.failovers} failovers seen (2 faults)`);
    if (f.missedTakeovers > 0) failures.push(`${f.missedTakeovers} faults with no takeover in time`);
    failures.push(...f.problems);
    if (leadersAtEnd.length !== 1) failures.push(`${leadersAtEnd.length} leaders at the end`);
    for (const slot of slots) if ((load.instances.get(slot.name)?.ok ?? 0) === 0) failures.push(`${slot.name} served no read`);
  } else {
    failures.push(...faultProblems);
    if (outagesLogged === 0) failures.push('the generator faults caused no logged ingestion error (were they real?)');
    if (opts.mode === 'push' && (finals.get('server')?.ingestion.stream?.reconnects ?? 0) < 2) failures.push('the push stream did not reconnect after each generator fault');
  }
  process.stdout.write(failures.length === 0 ? 'soak: PASS\n' : `soak: FAIL: ${failures.join('; ')}\n`);
  return failures.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  async (err: unknown) => {
    process.stderr.write(`soak: ${describe(err)}\n`);
    await stopAll();
    if (opts.cluster) await deleteKeys(REDIS_URL, keyPrefix).catch(() => 0);
    process.exit(1);
  },
);
