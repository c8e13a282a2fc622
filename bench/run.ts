/**
 * `npm run bench` (`--quick` for a short run): the performance figures of issue 5, measured on this
 * machine in one run.
 *
 * - The real services are started as a user starts them (`node dist/...main.js`, default INFO text
 *   logging, written to a file, not a terminal) on free loopback ports, with config files of the
 *   benchmark's own. Load comes from autocannon in another process (`bench/load.ts`); the ceiling is
 *   a bare `node:http` server in a third (`bench/bare-server.ts`) that answers a constant body of the
 *   same size as the response under test. It gets the same request stream (the same query strings)
 *   and, for REST answers, sends the same header set as the metrics server (ETag, Last-Modified,
 *   X-Snapshot-Age-Seconds, Cache-Control): the ratio is then the server's own work, not the cost of
 *   longer requests or of the headers it chose. Throughput rows run against a generator that does not
 *   tick (its 100,000-switch tick landed in some runs and not others). Every throughput figure is printed next to the ceiling's,
 *   as a ratio: the median of per-pair ratios over a fixed number of pairs of back-to-back runs (see
 *   `compare`).
 * - Scenarios at 4, 1,000, 10,000 and 100,000 switches: GetMetric over a rotating set of switches and
 *   metrics; at 1,000 and 100,000 also GetMetric with the server's read fast path turned off
 *   (`http.fast_read_path: false`, every request through the Fastify routes: a reference row that
 *   keeps the framework-only figure measured); ListMetrics; /metrics (10,000 and 100,000, when the
 *   server has it); ingestion (fetch to swap, from Status `last_poll.duration_ms`, and main-thread
 *   event-loop delay, from Status `event_loop`, over a window with several polls at a 1 s interval);
 *   GetMetric latency at a fixed rate while ingesting against idle; resident memory over 50
 *   snapshots at 100,000.
 * - In-process: the byte parser against the reference string parser and csv-parse on the same body,
 *   the byte renderers against the string ones, the snapshot wire form; and the generator benchmark.
 * - CSV against Arrow IPC at 100,000 switches (arrow-bench.ts, also `npm run bench:arrow` alone).
 * - Streams (streams.ts, also `npm run bench:streams`): delta vs full event bytes, freshness from tick
 *   to GetMetric in push and poll mode, fan-out to stream clients, idle stream connections.
 * - CPU per request (cpu-per-request.ts): server process CPU time over fixed request counts, against
 *   the bare ceiling and with the read fast path off, in alternating rounds; steadier than req/s.
 *
 * Every process it starts is tracked and stopped by PID at the end, on error and on Ctrl-C. All load
 * is bounded in time. Results: one table on stdout, JSON in `bench/results/` (machine, Node version,
 * date, load average before and after, and every comparison's per-pair ratios). Another process on
 * this machine skews absolute figures, and consecutive runs of the same target differ by up to ±15%;
 * the ratios are what to read: each pair is measured back to back, and the median of a fixed number
 * of pairs is taken whatever it turns out to be (nothing is measured again because it looks wrong).
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { METRIC_NAMES } from '../common/telemetry-schema.js';
import { arrowBench, formatArrowBench } from './arrow-bench.js';
import { codecBench, median } from './codec-bench.js';
import { CPU_FULL, CPU_QUICK, cpuPerRequest, formatCpuRows } from './cpu-per-request.js';
import { INSTRUCTIONS_FULL, INSTRUCTIONS_QUICK, callgrindAvailable, formatInstructionRows, instructionsPerRequest, type InstructionRow } from './instructions-per-request.js';
import { formatGeneratorBench, runGeneratorBench } from './generator-bench.js';
import { historyRows, runHistoryBench } from './history-bench.js';
import type { LoadResult } from './load.js';
import { runLoad, setRunDir, sleep, startBare, startGenerator, startMetricsServer, stopAll, stopChild, type Service } from './processes.js';
import { render, table } from './report.js';
import { streamsBench, streamsTable } from './streams.js';
import type { Comparison, Side, SizeResult } from './results.js';
import { FULL, QUICK, SCENARIO, root, type Settings } from './settings.js';
import { GZIP, bodyLength, gzipBodyLength, rssMb, status, type EventLoopWindow } from './server-probe.js';
// ---------------------------------------------------------------------------------------------
// Measurements



export function mean(runs: readonly LoadResult[]): Side {
  const avg = (f: (r: LoadResult) => number): number => runs.reduce((s, r) => s + f(r), 0) / runs.length;
  return {
    requestsPerSecond: avg((r) => r.requestsPerSecond),
    p50: avg((r) => r.latencyMs.p50),
    p99: avg((r) => r.latencyMs.p99),
    max: Math.max(...runs.map((r) => r.latencyMs.max)),
    failures: runs.reduce((s, r) => s + r.failures, 0),
  };
}

/**
 * Server against its bare ceiling: after a 1-second warm-up of each, `settings.pairs` pairs of runs
 * of `settings.secondsPerRun`, the two runs of a pair back to back, bare first in even pairs and
 * server first in odd ones, so neither side systematically gets the second slot (warmer caches,
 * a CPU another process has just released); the count is even, so both orders occur equally often.
 * Each pair gives a ratio server/bare; the reported ratio is their median (with an even count, the
 * mean of the middle two).
 *
 * Why: the machine is noisy (other work shares its 2 cores; consecutive 3-second
 * runs of one target differ by up to ±15%). Noise that moves both runs of a pair cancels in that
 * pair's ratio, and the median discards a pair a burst hit on one side only, where a ratio of means
 * lets one bad run move the figure. The number of pairs is fixed in advance: measuring again only
 * when a ratio looks too low or too high would bias the figure towards what was expected.
 */
/**
 * The ceiling's response shape (bare-server.ts): `snapshot` sends the header set of a metrics server
 * answer built from a snapshot, `plain` a content type, a length and an ETag.
 */
export type CeilingShape = 'snapshot' | 'plain';

function queryOf(path: string): string {
  const q = path.indexOf('?');
  return q === -1 ? '' : path.slice(q);
}

export async function compare(
  settings: Settings,
  scenario: string,
  switches: number,
  server: { url: string; paths: readonly string[]; headers?: Readonly<Record<string, string>> },
  bareUrl: string,
  bodyBytes: number,
  connections: number,
  ceiling: CeilingShape = 'plain',
): Promise<Comparison> {
  if (settings.pairs < 2 || settings.pairs % 2 !== 0) throw new Error(`settings.pairs must be even and at least 2 (each order as often), not ${settings.pairs}`);
  // The ceiling gets the same request stream (each path's query string kept, so the load generator
  // does the same work on both sides) and answers with a body of the same size.
  const bare = { url: bareUrl, paths: server.paths.map((path) => `/${ceiling === 'snapshot' ? 'snapshot-bytes' : 'bytes'}/${Math.round(bodyBytes)}${queryOf(path)}`) };
  const seconds = settings.secondsPerRun;
  const serverRuns: LoadResult[] = [];
  const bareRuns: LoadResult[] = [];
  const pairRatios: number[] = [];
  await runLoad({ ...server, connections, seconds: 1 });
  await runLoad({ ...bare, connections, seconds: 1 });
  for (let pair = 0; pair < settings.pairs; pair++) {
    let b: LoadResult;
    let s: LoadResult;
    if (pair % 2 === 0) {
      b = await runLoad({ ...bare, connections, seconds });
      s = await runLoad({ ...server, connections, seconds });
    } else {
      s = await runLoad({ ...server, connections, seconds });
      b = await runLoad({ ...bare, connections, seconds });
    }
    bareRuns.push(b);
    serverRuns.push(s);
    pairRatios.push(s.requestsPerSecond / b.requestsPerSecond);
  }
  const ratio = median(pairRatios);
  const result: Comparison = { scenario, switches, bodyBytes, connections, pairs: pairRatios.length, secondsPerRun: seconds, server: mean(serverRuns), bare: mean(bareRuns), pairRatios, ratio };
  const failures = result.server.failures + result.bare.failures;
  process.stderr.write(
    `  ${scenario} @ ${switches}: ${result.server.requestsPerSecond.toFixed(0)} vs ${result.bare.requestsPerSecond.toFixed(0)} req/s (means), ratio ${ratio.toFixed(2)}x = median of ${pairRatios.length} pairs [${pairRatios.map((r) => r.toFixed(2)).join(' ')}]${failures > 0 ? `, ${result.server.failures} server / ${result.bare.failures} bare failures` : ''}\n`,
  );
  return result;
}

export function getMetricPaths(switches: number): string[] {
  const paths: string[] = [];
  const count = Math.min(1000, switches * METRIC_NAMES.length);
  for (let i = 0; i < count; i++) {
    const sw = 1 + ((i * 7919) % switches);
    paths.push(`/telemetry/GetMetric?switch=sw${sw}&metric=${METRIC_NAMES[i % METRIC_NAMES.length]}`);
  }
  return paths;
}

/** The typical GetMetric body size over the rotating set (ids have different lengths). */
export async function typicalBytes(url: string, paths: readonly string[]): Promise<number> {
  const sizes: number[] = [];
  for (const path of paths.slice(0, 50)) sizes.push((await bodyLength(`${url}${path}`)).bytes);
  return median(sizes);
}


export interface Watch {
  readonly durations: Map<number, number>;
  readonly windows: Map<number, EventLoopWindow>;
  bytes: number;
  lastVersion: number;
}

export async function watch(url: string, until: () => boolean, into: Watch, onVersion?: (version: number) => void): Promise<void> {
  while (!until()) {
    const doc = await status(url);
    const poll = doc.ingestion.last_poll;
    const version = doc.snapshot?.version ?? 0;
    if (poll !== null && poll.outcome === 'ok' && !into.durations.has(version)) {
      into.durations.set(version, poll.duration_ms);
      into.bytes = poll.bytes;
    }
    for (const w of [doc.event_loop?.last_window, doc.event_loop?.current_window]) if (w != null) into.windows.set(w.started_at_ms, w);
    if (version !== into.lastVersion) {
      into.lastVersion = version;
      onVersion?.(version);
    }
    await sleep(200);
  }
}

/** Event-loop windows that lie entirely inside [from, to]. */
export function loopDelay(windows: Map<number, EventLoopWindow>, from: number, to: number): { max: number; p99: number; windows: number } {
  const inside = [...windows.values()].filter((w) => w.started_at_ms >= from && w.ended_at_ms <= to && w.ended_at_ms - w.started_at_ms >= 1000);
  return { max: Math.max(...inside.map((w) => w.delay_ms.max)), p99: Math.max(...inside.map((w) => w.delay_ms.p99)), windows: inside.length };
}

// ---------------------------------------------------------------------------------------------
// The run



/**
 * The GetMetric row again against a second idle server started with its read fast path off
 * (`http.fast_read_path: false`), so every request goes through the Fastify routes: the
 * framework-only figure, kept as a reference next to the default one. Same rotating paths, same
 * ceiling body size and connections as the GetMetric row. The server runs only for this row (the
 * default idle one stays up, idle, polling nothing); it is stopped before anything else is measured.
 */
async function fastPathOff(settings: Settings, switches: number, generatorUrl: string, paths: readonly string[], bareUrl: string, bodyBytes: number): Promise<Comparison> {
  const off = await startMetricsServer(generatorUrl, 3600, switches, { fastReadPath: false });
  try {
    // Its own snapshot (the generator has ticked since): bodies of the same typical size expected.
    const bytes = await typicalBytes(off.url, paths);
    if (bytes !== bodyBytes) process.stderr.write(`  note: fast path off, typical GetMetric body ${bytes} B against ${bodyBytes} B with it on; the ceiling stays at ${bodyBytes} B\n`);
    return await compare(settings, SCENARIO.getMetricFastPathOff, switches, { url: off.url, paths }, bareUrl, bodyBytes, 10, 'snapshot');
  } finally {
    await stopChild(off.child);
  }
}

/**
 * The fixed-rate load runs this long before the measured window opens (load.ts `warmupSeconds`): the
 * load generator's own start-up (a Node process, its JIT) used to fall on the window's first polls
 * (184-370 ms fetch→swap at 100,000 switches against 50-117 ms for the rest of the same window).
 */
const LOAD_WARMUP_SECONDS = 2;

export async function benchSize(settings: Settings, switches: number, bareUrl: string): Promise<SizeResult> {
  process.stderr.write(`switches ${switches.toLocaleString('en-US')}\n`);
  const out: SizeResult = { switches, comparisons: [] };
  // Throughput rows: a generator that does not tick (at 100,000 switches a tick is ~60 ms of CPU each
  // second, landing in some runs and not others). From the fixed-rate baseline on, one that ticks
  // every second, so idle and ingesting latencies are measured against the same background.
  const quiet = await startGenerator(switches, 3600);
  let generator: Service | undefined;
  try {
    // Idle: one snapshot, no further polls.
    const idle = await startMetricsServer(quiet.url, 3600, switches);
    let idleFixed: Side;
    let idleLoop: { max: number; p99: number; windows: number };
    try {
      const paths = getMetricPaths(switches);
      const getBytes = await typicalBytes(idle.url, paths);
      out.comparisons.push(await compare(settings, SCENARIO.getMetric, switches, { url: idle.url, paths }, bareUrl, getBytes, 10, 'snapshot'));
      if (settings.fastPathOffSizes.includes(switches)) out.comparisons.push(await fastPathOff(settings, switches, quiet.url, paths, bareUrl, getBytes));
      const list = await bodyLength(`${idle.url}/telemetry/ListMetrics`);
      out.comparisons.push(await compare(settings, SCENARIO.listMetrics, switches, { url: idle.url, paths: ['/telemetry/ListMetrics'] }, bareUrl, list.bytes, switches >= 10_000 ? 4 : 10, 'snapshot'));
      if (switches >= 10_000) {
        const metrics = await bodyLength(`${idle.url}/metrics`);
        if (metrics.status === 200) {
          // Without Accept-Encoding (autocannon sends none): the stored gzip body decompressed as sent.
          out.comparisons.push(await compare(settings, '/metrics scrape', switches, { url: idle.url, paths: ['/metrics'] }, bareUrl, metrics.bytes, 2));
          // As Prometheus scrapes: Accept-Encoding gzip, the stored members sent as they are.
          const gzipped = await gzipBodyLength(`${idle.url}/metrics`);
          out.comparisons.push(await compare(settings, '/metrics scrape, gzip', switches, { url: idle.url, paths: ['/metrics'], headers: GZIP }, bareUrl, gzipped, 2));
          out.metricsEndpoint = 'measured';
        } else out.metricsEndpoint = `GET /metrics answered ${metrics.status}: not measured`;
      }
      // Latency at a fixed rate, no ingestion: the baseline for "while ingesting".
      await stopChild(quiet.child);
      generator = await startGenerator(switches, 1);
      const load = runLoad({ url: idle.url, paths, connections: 10, seconds: settings.windowSeconds, rate: settings.fixedRate, warmupSeconds: LOAD_WARMUP_SECONDS });
      await sleep(LOAD_WARMUP_SECONDS * 1000);
      const t0 = Date.now();
      const watched: Watch = { durations: new Map(), windows: new Map(), bytes: 0, lastVersion: 0 };
      let done = false;
      const watching = watch(idle.url, () => done, watched);
      idleFixed = mean([await load]);
      done = true;
      await watching;
      idleLoop = loopDelay(watched.windows, t0, Date.now());
    } finally {
      await stopChild(idle.child);
    }

    // Ingesting: a poll every second (the generator ticks every second too).
    if (generator === undefined) throw new Error('unreachable: the ticking generator starts with the idle baseline');
    const busy = await startMetricsServer(generator.url, 1, switches);
    try {
      const paths = getMetricPaths(switches);
      // Let two more polls pass (JIT warm-up of the worker and the main thread).
      const warm: Watch = { durations: new Map(), windows: new Map(), bytes: 0, lastVersion: 0 };
      const first = (await status(busy.url)).snapshot!.version;
      const warmDeadline = Date.now() + 15_000;
      await watch(busy.url, () => warm.lastVersion >= first + 2 || Date.now() > warmDeadline, warm);

      const load = runLoad({ url: busy.url, paths, connections: 10, seconds: settings.windowSeconds, rate: settings.fixedRate, warmupSeconds: LOAD_WARMUP_SECONDS });
      await sleep(LOAD_WARMUP_SECONDS * 1000);
      const t0 = Date.now();
      const watched: Watch = { durations: new Map(), windows: new Map(), bytes: 0, lastVersion: warm.lastVersion };
      let done = false;
      const watching = watch(busy.url, () => done, watched);
      const ingestingFixed = mean([await load]);
      done = true;
      await watching;
      const t1 = Date.now();
      const durations = [...watched.durations.values()];
      out.ingestion = {
        switches,
        windowSeconds: (t1 - t0) / 1000,
        polls: durations.length,
        fetchToSwapMs: { median: median(durations), max: Math.max(...durations), all: durations },
        eventLoopDelayMs: loopDelay(watched.windows, t0, t1),
        idleEventLoopDelayMs: idleLoop,
        getMetricAtFixedRate: { rate: settings.fixedRate, idle: idleFixed, ingesting: ingestingFixed, p99Factor: ingestingFixed.p99 / idleFixed.p99 },
        bytes: watched.bytes,
      };
      process.stderr.write(
        `  ingestion @ ${switches}: ${durations.length} polls, fetch→swap median ${median(durations).toFixed(1)} ms, loop delay max ${out.ingestion.eventLoopDelayMs.max} ms, p99 ${ingestingFixed.p99.toFixed(2)} vs idle ${idleFixed.p99.toFixed(2)} ms\n`,
      );

      if (switches === Math.max(...settings.sizes)) {
        // Resident memory across a steady stream of snapshots.
        const samples: number[] = [];
        const start = watched.lastVersion;
        const rssWatch: Watch = { durations: new Map(), windows: new Map(), bytes: 0, lastVersion: start };
        const deadline = Date.now() + settings.rssSnapshots * 4000;
        await watch(
          busy.url,
          () => samples.length >= settings.rssSnapshots || Date.now() > deadline,
          rssWatch,
          () => samples.push(rssMb(busy.child.pid!)),
        );
        const avg = (xs: readonly number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;
        const settled = samples.slice(5, 15);
        out.rss = {
          switches,
          snapshots: samples.length,
          samplesMb: samples.map((x) => Math.round(x * 10) / 10),
          firstMb: samples[0]!,
          lastMb: samples[samples.length - 1]!,
          maxMb: Math.max(...samples),
          growth: avg(samples.slice(-10)) / avg(settled.length > 0 ? settled : samples.slice(0, 5)),
        };
        process.stderr.write(`  RSS @ ${switches} over ${samples.length} snapshots: first ${out.rss.firstMb.toFixed(0)} MB, last ${out.rss.lastMb.toFixed(0)} MB, max ${out.rss.maxMb.toFixed(0)} MB\n`);
      }
    } finally {
      await stopChild(busy.child);
    }
  } finally {
    await stopChild(quiet.child);
    if (generator !== undefined) await stopChild(generator.child);
  }
  return out;
}

async function main(): Promise<void> {
  const settings = process.argv.includes('--quick') ? QUICK : FULL;
  const started = new Date();
  const load0 = loadavg();
  const runDir = mkdtempSync(join(tmpdir(), 'fabric-bench-'));
  setRunDir(runDir);
  process.stderr.write(`bench${settings.quick ? ' --quick' : ''}: logs and configs in ${runDir}\n`);

  const codecSwitches = 100_000;
  process.stderr.write('codec: byte parser and renderers vs reference and csv-parse\n');
  const codec = await codecBench(settings, codecSwitches);

  const bare = await startBare();
  const sizes: SizeResult[] = [];
  try {
    // The framework's own share of the gap: Fastify with no hooks, no logging, one route and a
    // constant GetMetric-sized body, against the same bare server (shown as 0 switches).
    const floor = await startBare('bench/fastify-floor.js');
    try {
      sizes.push({ switches: 0, comparisons: [await compare(settings, 'Fastify alone (no hooks, constant body)', 0, { url: floor.url, paths: ['/bytes/78'] }, bare.url, 78, 10)] });
    } finally {
      await stopChild(floor.child);
    }
    for (const switches of settings.sizes) sizes.push(await benchSize(settings, switches, bare.url));
  } finally {
    await stopChild(bare.child);
  }

  process.stderr.write('CPU per request (fixed request counts, alternating rounds)\n');
  const cpu = await cpuPerRequest(settings.quick ? CPU_QUICK : CPU_FULL);
  let instructions: InstructionRow[] | undefined;
  if (callgrindAvailable()) {
    process.stderr.write('instructions per request (callgrind)\n');
    instructions = await instructionsPerRequest(settings.quick ? INSTRUCTIONS_QUICK : INSTRUCTIONS_FULL, runDir);
  } else process.stderr.write('instructions per request: skipped (valgrind is not installed)\n');

  process.stderr.write('generator bench\n');
  const generator = await runGeneratorBench(settings.quick ? { tickSamples: 3, rounds: 1, secondsPerRound: 1.5 } : {});

  process.stderr.write('CSV vs Arrow IPC (issue 14)\n');
  const arrow = await arrowBench(100_000, settings.quick ? 5 : 15, settings.quick ? 5 : 10);
  process.stderr.write('streams: payload, freshness (push and poll), fan-out, idle connections\n');
  const streams = await streamsBench(settings.quick);
  process.stderr.write('history (in-process)\n');
  const history = await runHistoryBench(settings.quick);

  const historyTable = table([['history (in-process, simulator data)', 'switches', 'figure', 'goal'], ...historyRows(history)]);
  const text = `${render(sizes, codec, codecSwitches, generator)}\n\n${streamsTable(streams)}\n\n${historyTable}\n\n${instructions === undefined ? 'instructions per request: not measured (valgrind is not installed)' : formatInstructionRows(instructions)}\n\n${formatCpuRows(cpu)}`;
  const machine = { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version, platform: process.platform };
  const header = `npm run bench${settings.quick ? ' -- --quick' : ''} · ${started.toISOString()} · ${machine.cpu}, ${machine.cores} cores · Node ${machine.node} · load average ${load0.map((x) => x.toFixed(2)).join(' ')} → ${loadavg().map((x) => x.toFixed(2)).join(' ')}`;
  process.stdout.write(`\n${header}\n\n${text}\n\n${formatGeneratorBench(generator)}\n\n${formatArrowBench(arrow)}\n`);

  const resultsDir = join(root, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  const name = `bench-${started.toISOString().replace(/[:.]/g, '-')}${settings.quick ? '-quick' : ''}.json`;
  const json = { date: started.toISOString(), settings, machine, loadAverage: { before: load0, after: loadavg() }, sizes, codec, cpu, instructions, generator, arrow, streams, history, table: text };
  writeFileSync(join(resultsDir, name), `${JSON.stringify(json, null, 2)}\n`);
  process.stdout.write(`\nwritten: bench/results/${name}\n`);
}

main().then(
  () => stopAll(),
  async (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    await stopAll();
    process.exitCode = 1;
  },
);

