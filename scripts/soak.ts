/**
 * `npm run soak [-- --seconds N] [--inject-leak snapshot:BYTES|request:BYTES]`: a bounded soak test
 * on loopback (default 60 s).
 *
 * Starts a real generator process (300 switches, a new tick every second) and a real metrics server
 * process (polling every second, logging to a file), then runs full-speed mixed reads (GetMetric,
 * ListMetrics, Status) over several keep-alive connections while snapshots swap every second; the
 * generator is stopped and restarted twice. Meanwhile it samples the generator's own CSV so every
 * snapshot the server served can be checked against a CSV the generator really produced.
 *
 * Reports requests served, errors (anything but 200, except 503 before the first snapshot), torn
 * reads (a ListMetrics answer whose switches do not share one timestamp, two different bodies under
 * one ETag, a GetMetric value that disagrees with ListMetrics of the same ETag, or a snapshot that
 * matches no CSV the generator served), and a memory verdict (memory-verdict.ts): the server runs
 * with `--expose-gc`, and every few seconds SIGUSR2 has it run a full collection and log its live
 * memory (soak-hooks.ts); a line through the second half must stay flat. RSS is sampled from
 * /proc/PID/status every second and its troughs judged on long runs. `--inject-leak` turns on the
 * server's deliberate leak, the negative control that shows the verdict can fail. Exits non-zero if
 * any check fails. Every process it starts is stopped by PID on the way out.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { HEAP_PROBE_MESSAGE, LEAK_ENV, parseLeakSpec } from '../metrics_server/src/soak-hooks.js';
import { describeVerdict, judgeLiveMemory, judgeRssMinima, type MemoryPoint } from './memory-verdict.js';

const distRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const HOST = '127.0.0.1';
const SWITCHES = 300;
const CONNECTIONS = 8;
const MAX_SECONDS = 3600;

/** The soak's options; a bad one prints a line and exits 2. */
function parseOptions(argv: readonly string[]): { seconds: number; leak: string | undefined } {
  try {
    const { values } = parseArgs({ args: [...argv], options: { seconds: { type: 'string' }, 'inject-leak': { type: 'string' } }, strict: true });
    const seconds = values.seconds === undefined ? 60 : Number(values.seconds);
    if (!Number.isFinite(seconds) || seconds < 10 || seconds > MAX_SECONDS) throw new Error(`--seconds must be a number from 10 to ${MAX_SECONDS}`);
    const leak = values['inject-leak'];
    parseLeakSpec(leak);
    return { seconds, leak };
  } catch (err) {
    process.stderr.write(`soak: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  }
}

const { seconds, leak } = parseOptions(process.argv.slice(2));
/** Seconds between heap probes: at least 15 in the judged second half of the shortest runs. */
const PROBE_EVERY_S = seconds <= 300 ? 2 : 10;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

interface Reply {
  readonly status: number;
  readonly etag: string | undefined;
  readonly body: string;
}

function get(agent: http.Agent, port: number, path: string, timeoutMs = 5000): Promise<Reply> {
  return new Promise((resolveReply, reject) => {
    const req = http.get({ host: HOST, port, path, agent, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const etag = res.headers.etag;
        resolveReply({ status: res.statusCode ?? 0, etag: typeof etag === 'string' ? etag : undefined, body: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

// ---------------------------------------------------------------- processes
const children = new Set<ChildProcess>();

function startProcess(script: string, env: NodeJS.ProcessEnv, logPath: string, nodeFlags: readonly string[] = []): ChildProcess {
  const fd = openSync(logPath, 'a');
  const child = spawn(process.execPath, [...nodeFlags, join(distRoot, script)], { env: { ...process.env, ...env }, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  if (child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
  const timer = setTimeout(() => {
    if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
  }, 5000);
  await exited;
  clearTimeout(timer);
}

async function stopAll(): Promise<void> {
  await Promise.all([...children].map(stopProcess));
}

process.on('SIGINT', () => void stopAll().then(() => process.exit(130)));
process.on('SIGTERM', () => void stopAll().then(() => process.exit(143)));

function rssKb(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match === null ? 0 : Number(match[1]);
}

// ---------------------------------------------------------------- fingerprints
/** One canonical text per fabric state: `id:v1,v2,…;` in CSV order, from either side. */
function csvFingerprint(csv: string): string | undefined {
  const lines = csv.split('\n').filter((l) => l !== '');
  if (lines.length < 2) return undefined;
  const hash = createHash('sha1');
  for (const line of lines.slice(1)) {
    const comma = line.indexOf(',');
    hash.update(`${line.slice(0, comma)}:${line.slice(comma + 1)};`);
  }
  return hash.digest('hex');
}

function listFingerprint(list: Record<string, Record<string, number>>, metrics: readonly string[]): string {
  const hash = createHash('sha1');
  for (const [id, entry] of Object.entries(list)) hash.update(`${id}:${metrics.map((m) => String(entry[m])).join(',')};`);
  return hash.digest('hex');
}

// ---------------------------------------------------------------- main
async function main(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'fabric-soak-'));
  const generatorPort = await freePort();
  const serverPort = await freePort();
  const generatorConfig = join(dir, 'generator.json');
  const serverConfig = join(dir, 'server.json');
  const serverLog = join(dir, 'server.log');
  const generatorLog = join(dir, 'generator.log');
  writeFileSync(generatorConfig, JSON.stringify({ switches: { count: SWITCHES }, update_interval_seconds: 1, seed: 4242, logging: { level: 'INFO', format: 'text' } }));
  writeFileSync(
    serverConfig,
    JSON.stringify({
      // WARNING keeps the log to what matters (poll failures, 4xx/5xx): an INFO request log at full
      // speed would write hundreds of megabytes.
      logging: { level: 'WARNING', format: 'text' },
      ingestion: { generator_url: `http://${HOST}:${generatorPort}/counters`, poll_interval_seconds: 1, fetch_timeout_seconds: 0.8, max_body_bytes: 64 * 1024 * 1024 },
    }),
  );
  const generatorEnv = { GENERATOR_CONFIG: generatorConfig, GENERATOR_HOST: HOST, GENERATOR_PORT: String(generatorPort) };
  const metrics = ['bandwidth_mbps', 'latency_ms', 'packet_errors', 'link_status', 'tx_queue_depth', 'utilization_percent'];
  process.stdout.write(`soak: ${seconds} s, ${SWITCHES} switches, ${CONNECTIONS} connections, logs in ${dir}${leak === undefined ? '' : `, INJECTED LEAK ${leak}`}\n`);

  // The server first, so the reads begin before any snapshot exists (those 503s are expected).
  const server = startProcess(
    'metrics_server/src/main.js',
    { METRICS_SERVER_CONFIG: serverConfig, METRICS_SERVER_HOST: HOST, METRICS_SERVER_PORT: String(serverPort), ...(leak === undefined ? {} : { [LEAK_ENV]: leak }) },
    serverLog,
    ['--expose-gc'],
  );
  const probe = new http.Agent({ keepAlive: false });
  const upBy = Date.now() + 15_000;
  for (;;) {
    const reply = await get(probe, serverPort, '/healthz', 1000).catch(() => undefined);
    if (reply?.status === 200) break;
    if (Date.now() > upBy || server.exitCode !== null) throw new Error(`the metrics server did not come up; see ${serverLog}`);
    await sleep(50);
  }
  let generator = startProcess('telemetry_generator/src/main.js', generatorEnv, generatorLog);

  const stats = { requests: 0, ok: 0, expected503: 0, errors: 0, torn: 0, lists: 0, gets: 0, statuses: 0 };
  const errorSamples: string[] = [];
  const tornSamples: string[] = [];
  let firstSnapshotSeen = false;
  const versions = new Map<string, { fingerprint: string; body: string; timestamp: number }>();
  const getSamples: { etag: string; id: string; metric: string; value: number }[] = [];
  const generatorFingerprints = new Set<string>();
  const error = (what: string): void => {
    stats.errors += 1;
    if (errorSamples.length < 10) errorSamples.push(what);
  };
  const torn = (what: string): void => {
    stats.torn += 1;
    if (tornSamples.length < 10) tornSamples.push(what);
  };

  const started = Date.now();
  const deadline = started + seconds * 1000;
  let running = true;

  // Sample the generator's CSV ten times a tick, so every tick it served is known.
  // Each new tick the sampler sees wakes whoever waits for one (the restarts, below).
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

  const reader = async (n: number): Promise<void> => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    let i = n;
    while (running && Date.now() < deadline) {
      i += 1;
      const kind = i % 10 < 5 ? 'get' : i % 10 < 8 ? 'list' : 'status';
      const id = `sw${1 + ((i * 7919) % SWITCHES)}`;
      const metric = metrics[i % metrics.length]!;
      const path = kind === 'get' ? `/telemetry/GetMetric?switch=${id}&metric=${metric}` : kind === 'list' ? '/telemetry/ListMetrics' : '/telemetry/Status';
      let reply: Reply;
      try {
        reply = await get(agent, serverPort, path);
      } catch (err) {
        stats.requests += 1;
        error(`${path}: ${err instanceof Error ? err.message : String(err)}`);
        continue;
      }
      stats.requests += 1;
      if (reply.status === 503 && !firstSnapshotSeen && kind !== 'status') {
        stats.expected503 += 1;
        continue;
      }
      if (reply.status !== 200) {
        error(`${path}: HTTP ${reply.status} ${reply.body.slice(0, 100)}`);
        continue;
      }
      stats.ok += 1;
      if (kind === 'status') {
        stats.statuses += 1;
        JSON.parse(reply.body);
        continue;
      }
      firstSnapshotSeen = true;
      if (reply.etag === undefined) {
        error(`${path}: no ETag`);
        continue;
      }
      if (kind === 'get') {
        stats.gets += 1;
        const doc = JSON.parse(reply.body) as { switch: string; metric: string; value: number; timestamp: number };
        if (getSamples.length < 200_000) getSamples.push({ etag: reply.etag, id: doc.switch, metric: doc.metric, value: doc.value });
        continue;
      }
      stats.lists += 1;
      const list = JSON.parse(reply.body) as Record<string, Record<string, number>>;
      const entries = Object.values(list);
      const timestamps = new Set(entries.map((e) => e['timestamp']));
      if (entries.length !== SWITCHES) torn(`${reply.etag}: ${entries.length} switches`);
      if (timestamps.size !== 1) torn(`${reply.etag}: ${timestamps.size} timestamps in one answer`);
      const known = versions.get(reply.etag);
      if (known === undefined) versions.set(reply.etag, { fingerprint: listFingerprint(list, metrics), body: reply.body, timestamp: entries[0]?.['timestamp'] ?? 0 });
      else if (known.body !== reply.body) torn(`${reply.etag}: two different bodies under one ETag`);
    }
    agent.destroy();
  };

  // Memory: cold (first snapshot), warm (after a warm-up under load), end. Growth is judged warm to end.
  const samples: { atS: number; rssKb: number }[] = [];
  const sampleRss = (): number => {
    const kb = rssKb(server.pid!);
    samples.push({ atS: Math.round((Date.now() - started) / 100) / 10, rssKb: kb });
    return kb;
  };
  const warmupMs = Math.min(10_000, seconds * 250);
  let rssCold = 0;
  let rssWarm = 0;
  const monitor = (async () => {
    while (!firstSnapshotSeen && Date.now() < deadline) await sleep(20);
    rssCold = sampleRss();
    await sleep(Math.max(0, started + warmupMs - Date.now()));
    rssWarm = sampleRss();
    while (Date.now() < deadline) {
      await sleep(1000);
      sampleRss();
    }
  })();

  // Live memory: a full collection and a log line on each SIGUSR2; memory held by design (the
  // history, when Status reports it) is read at the same moment and subtracted.
  const designBytes: { atS: number; bytes: number }[] = [];
  const prober = (async () => {
    while (Date.now() < deadline) {
      await sleep(PROBE_EVERY_S * 1000);
      if (server.pid === undefined || server.exitCode !== null) break;
      process.kill(server.pid, 'SIGUSR2');
      const reply = await get(probe, serverPort, '/telemetry/Status', 2000).catch(() => undefined);
      const held = reply?.status === 200 ? ((JSON.parse(reply.body) as { history?: { bytes?: number } }).history?.bytes ?? 0) : 0;
      designBytes.push({ atS: (Date.now() - started) / 1000, bytes: held });
    }
  })();

  // The generator is stopped and restarted twice, at a third and two thirds of the run.
  const restarts = (async () => {
    for (const at of [1 / 3, 2 / 3]) {
      await sleep(Math.max(0, started + seconds * 1000 * at - Date.now()));
      // Stop right after the sampler has seen a new tick, so the run's last tick (which the server
      // may have ingested) is one the sampler holds: a tick served in the last moments before a stop
      // and never sampled would count as a torn read (seen once under a load average of 20).
      await nextTickSampled(5000);
      await stopProcess(generator);
      process.stdout.write(`soak: generator stopped at ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
      await sleep(2500);
      generator = startProcess('telemetry_generator/src/main.js', generatorEnv, generatorLog);
      process.stdout.write(`soak: generator restarted at ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    }
  })();

  await Promise.all(Array.from({ length: CONNECTIONS }, (_, n) => reader(n)));
  const elapsed = (Date.now() - started) / 1000;
  const rssEnd = sampleRss();
  running = false;
  await Promise.all([sampler, monitor, restarts, prober]);
  const status = JSON.parse((await get(probe, serverPort, '/telemetry/Status')).body) as {
    snapshot: { version: number } | null;
    ingestion: { polls: Record<string, number>; rows_rejected: Record<string, number> };
  };

  // Every snapshot served must be one the generator really produced; GetMetric agrees with ListMetrics.
  let unmatched = 0;
  for (const [etag, v] of versions) if (!generatorFingerprints.has(v.fingerprint)) {
    unmatched += 1;
    torn(`${etag}: matches no CSV the generator served`);
  }
  let getsChecked = 0;
  // Each ListMetrics body parsed once, not once per GetMetric sample (200,000 parses took minutes).
  const parsedBodies = new Map<string, Record<string, Record<string, number>>>();
  for (const s of getSamples) {
    const v = versions.get(s.etag);
    if (v === undefined) continue;
    getsChecked += 1;
    let parsed = parsedBodies.get(s.etag);
    if (parsed === undefined) {
      parsed = JSON.parse(v.body) as Record<string, Record<string, number>>;
      parsedBodies.set(s.etag, parsed);
    }
    const expected = parsed[s.id]?.[s.metric];
    if (expected !== s.value) torn(`${s.etag}: GetMetric ${s.id}.${s.metric}=${s.value}, ListMetrics says ${String(expected)}`);
  }

  await sleep(300); // the server's log batcher writes within 100 ms
  const log = readFileSync(serverLog, 'utf8').split('\n');
  const pollFailures = log.filter((l) => l.includes('[poller]') && l.includes(' ERROR ')).length;
  const internal = log.filter((l) => l.includes('internal error')).length;
  await stopAll();

  // Memory (memory-verdict.ts): live memory after full collections is the verdict; RSS troughs
  // are reported, and judged on runs of 5 minutes or more.
  const heldAt = (atS: number): number => designBytes.reduce((best, d) => (Math.abs(d.atS - atS) < Math.abs(best.atS - atS) ? d : best), { atS: Infinity, bytes: 0 }).bytes;
  const live: MemoryPoint[] = [];
  for (const line of log) {
    if (!line.includes(HEAP_PROBE_MESSAGE)) continue;
    const at = Date.parse(line.slice(0, line.indexOf(' ')));
    const heap = /heap_used_bytes=(\d+)/.exec(line);
    const external = /external_bytes=(\d+)/.exec(line);
    if (Number.isNaN(at) || heap === null || external === null) continue;
    const atS = (at - started) / 1000;
    live.push({ atS, bytes: Number(heap[1]) + Number(external[1]) - heldAt(atS) });
  }
  const liveVerdict = judgeLiveMemory(live, elapsed);
  const rssVerdict = judgeRssMinima(samples.map((x) => ({ atS: x.atS, bytes: x.rssKb * 1024 })), elapsed);
  const mb = (kb: number): string => `${(kb / 1024).toFixed(1)} MB`;
  const report = [
    `load duration       ${elapsed.toFixed(1)} s`,
    `requests            ${stats.requests} (${Math.round(stats.requests / elapsed)}/s): ${stats.gets} GetMetric, ${stats.lists} ListMetrics, ${stats.statuses} Status`,
    `errors              ${stats.errors}${errorSamples.length > 0 ? ` e.g. ${errorSamples.join(' | ')}` : ''}`,
    `expected 503        ${stats.expected503} (before the first snapshot)`,
    `snapshots seen      ${versions.size} distinct ETags; server at v${status.snapshot?.version ?? 0}; polls ${JSON.stringify(status.ingestion.polls)}`,
    `generator ticks     ${generatorFingerprints.size} distinct CSVs sampled; ${versions.size - unmatched}/${versions.size} snapshots matched one`,
    `GetMetric checked   ${getsChecked} answers against ListMetrics of the same ETag`,
    `torn reads          ${stats.torn}${tornSamples.length > 0 ? ` e.g. ${tornSamples.join(' | ')}` : ''}`,
    `poll failures       ${pollFailures} logged (generator down twice); internal errors ${internal}`,
    `server RSS          cold ${mb(rssCold)}, after ${(warmupMs / 1000).toFixed(0)} s warm-up ${mb(rssWarm)}, end ${mb(rssEnd)}, max ${mb(Math.max(...samples.map((s) => s.rssKb)))}`,
    `live memory         ${live.length} probes; first ${live.length > 0 ? mb(live[0]!.bytes / 1024) : '-'}, last ${live.length > 0 ? mb(live[live.length - 1]!.bytes / 1024) : '-'}`,
    `memory verdict      ${describeVerdict(liveVerdict)}`,
    `RSS troughs         ${describeVerdict(rssVerdict)}`,
  ];
  report.push(`RSS samples (s:MB)   ${samples.map((x) => `${x.atS.toFixed(0)}:${(x.rssKb / 1024).toFixed(0)}`).join(' ')}`);
  process.stdout.write(report.map((l) => `soak: ${l}`).join('\n') + '\n');

  const failures: string[] = [];
  if (stats.requests === 0 || stats.ok === 0) failures.push('no request served');
  if (stats.errors > 0) failures.push(`${stats.errors} errors`);
  if (stats.torn > 0) failures.push(`${stats.torn} torn reads`);
  if (versions.size < seconds / 4) failures.push(`only ${versions.size} snapshots seen in ${seconds} s`);
  if (!liveVerdict.judged) failures.push(`memory not judged: ${liveVerdict.reason}`);
  if (liveVerdict.leak) failures.push(`live memory rising ${(liveVerdict.slopeBytesPerMinute / 1024 / 1024).toFixed(2)} MiB/min (limit ${(liveVerdict.limitBytesPerMinute / 1024 / 1024).toFixed(2)})`);
  if (rssVerdict.leak) failures.push(`RSS troughs rising ${(rssVerdict.slopeBytesPerMinute / 1024 / 1024).toFixed(2)} MiB/min (limit ${(rssVerdict.limitBytesPerMinute / 1024 / 1024).toFixed(2)})`);
  if (internal > 0) failures.push(`${internal} internal errors logged`);
  if (pollFailures === 0) failures.push('the generator restarts caused no logged poll failure (were they real?)');
  process.stdout.write(failures.length === 0 ? 'soak: PASS\n' : `soak: FAIL: ${failures.join('; ')}\n`);
  return failures.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  async (err: unknown) => {
    process.stderr.write(`soak: ${err instanceof Error ? err.message : String(err)}\n`);
    await stopAll();
    process.exit(1);
  },
);
