/**
 * The history's figures (issue 12), measured in process on the simulator's data: bytes per sample
 * all-in after one hour at a 5 s tick (720 snapshots) at 10,000 and 100,000 switches; the event-loop
 * cost of a sliced append; GetHistory of one series over the hour; Top by max, avg and p99 and
 * Aggregate over the whole fabric for the hour, each with the longest time it held the event loop.
 *
 * Snapshots go the server's way (simulator → CSV → byte parser → MemoryStore), and queries run the
 * jobs the HTTP routes run, so the figures are the history's own work without HTTP around it.
 * Every sliced job is timed slice by slice, in CPU time (how long the code held the event loop) and
 * wall time (that, plus any time the process was not scheduled: on a machine shared with other
 * work, wall figures measure the machine as much as the code). Goals are judged on CPU time.
 *
 * Queries run on a sliding hour, as a live server sees it: after the hour is filled (and its bytes
 * counted) another half chunk of snapshots arrives, so the window's oldest chunk is cut by retention
 * and its newest is open (both decoded), and the chunks between are covered whole. A percentile's
 * first run over a chunk also makes that chunk's tails (percentiles.ts): the first run of Top p99
 * over the filled hour is timed on its own ("cold"), and the bytes are counted again with the tails
 * of every metric made.
 *
 * The server runs the history in its own worker thread (history-thread.ts), so the same snapshots are
 * also handed to a HistoryThread, and its figures are the server's: what a handover costs the main
 * thread, the main thread's longest event-loop delay while the worker appends and while it answers
 * Top, Aggregate and GetHistory (wall time as the main thread sees it; CPU time of all threads, the
 * worker's work included), and at 100,000 switches GetMetric's latency over HTTP (a worker thread as
 * the client, one request at a time) idle and while a Top p99 loop runs in the history worker. These
 * are taken after the in-process history is dropped (a server's main thread holds no chunks, and a
 * collection of the bench's copy would show as the worker's loop delay), on ten more snapshots whose
 * blocks are made before the clock starts (in the server, the ingestion worker makes them).
 */
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { createLogger, MemorySink } from '../common/logger.js';
import { METRIC_NAMES } from '../common/telemetry-schema.js';
import { decodeCheckpoint, encodeCheckpoint } from '../metrics_server/src/history/checkpoint-codec.js';
import { answerJob, type GetHistoryQuery, type HistoryQuery } from '../metrics_server/src/history/answers.js';
import { HistoryThread } from '../metrics_server/src/history/history-thread.js';
import { HistoryStore } from '../metrics_server/src/history/history-store.js';
import { aggregateJob, topJob, type AggregateFn } from '../metrics_server/src/history/queries.js';
import { DEFAULT_SLICE_MS, QUERY_SLICE_MS, runNow, runSliced, type SlicedJob } from '../metrics_server/src/history/slices.js';
import { startMetricsServer } from '../metrics_server/src/metrics-server.js';
import { prepareBody } from '../metrics_server/src/ingest/prepare.js';
import type { Snapshot } from '../metrics_server/src/snapshot/snapshot.js';
import { MemoryStore } from '../metrics_server/src/store/memory-store.js';
import { DEFAULT_SIMULATION } from '../telemetry_generator/src/config.js';
import { renderCsv } from '../telemetry_generator/src/csv-writer.js';
import { Simulator } from '../telemetry_generator/src/simulator.js';
import { cpuMs } from './codec-bench.js';
import { SEED } from './settings.js';

/** The goals. */
export const HISTORY_GOALS = { checkpointLoadMs: 1000, bytesPerSample: 1.5, getHistoryP99Ms: 1, topMaxAvgMs: 20, topP99Ms: 100, aggregateMs: 100, appendLoopMs: 5, queryLoopMs: 20 } as const;

/** One timed query: medians of wall and CPU time over the runs, longest slices over all runs. */
export interface QueryRow extends Timing {
  readonly what: string;
  readonly switches: number;
  readonly runs: number;
}

/** Everything measured at one size. */
export interface HistorySizeResult {
  readonly switches: number;
  readonly snapshots: number;
  readonly samples: number;
  readonly bytes: number;
  readonly bytesPerSample: number;
  /** Bytes per sample once every metric's tails and value histograms are made (a Top p99 and an Aggregate p50 over the hour on each). */
  readonly bytesPerSampleWithTails?: number;
  /** The first Top p99 over the filled hour, which makes the latency chunks' tails. */
  readonly topP99Cold?: Timing;
  /** The first Aggregate fabric p50 over the filled hour, which makes the latency chunks' value histograms. */
  readonly aggregateP50Cold?: Timing;
  /** GetMetric over HTTP, idle and while a Top p99 loop runs (ms; p50/p99 of each phase). */
  readonly getMetricUnderTop?: GetMetricUnderTop;
  /** Sliced appends of the last snapshots. */
  readonly append: Timing;
  /** GetHistory of one series over the hour (samples and their JSON text): see GetHistoryTiming. */
  readonly getHistory?: GetHistoryTiming;
  readonly queries: readonly QueryRow[];
  /** The same through the history worker, as the server runs it (absent when not measured). */
  readonly worker?: WorkerFigures;
  /** Checkpoint: encoded bytes, the sliced encode, and decode + restore (wall and CPU). */
  readonly checkpoint: { readonly bytes: number; readonly encode: Timing; readonly loadMs: number; readonly loadCpuMs: number };
}

/**
 * GetHistory's cost per call. Wall p50/p99 over every call, and p99 over the calls no garbage
 * collection overlapped (a young-generation pause lands on whichever call allocates when it is due);
 * CPU time as the mean of batches of calls (`process.cpuUsage` ticks too coarsely for one call, and it
 * counts the GC's helper threads too, which inflated the earlier per-call CPU p99).
 */
export interface GetHistoryTiming {
  readonly calls: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p99NoGcMs: number;
  readonly callsWithGc: number;
  readonly cpuMeanMs: number;
}

/** One kind of query through the history worker. */
export interface WorkerQueryRow {
  readonly what: string;
  readonly runs: number;
  /** Median wall time as the main thread awaits it, and median CPU time of all threads. */
  readonly ms: number;
  readonly cpuMs: number;
  /** The main thread's longest event-loop delay over all runs (perf_hooks monitor, 1 ms resolution). */
  readonly loopMaxMs: number;
}

/** The history worker's figures at one size. */
export interface WorkerFigures {
  /** Handing a snapshot over (the main thread's whole part of an append), over the worker-only appends: p50, p99, max (wall: a preemption lands here too). */
  readonly handover: { readonly count: number; readonly p50Ms: number; readonly p99Ms: number; readonly maxMs: number };
  /** Append of snapshots in the worker (blocks made beforehand, as the ingestion worker would): median wall, median CPU (all threads), and the main thread's longest loop delay meanwhile. */
  readonly append: { readonly ms: number; readonly cpuMs: number; readonly loopMaxMs: number; readonly handoverCpuMaxMs: number };
  readonly queries: readonly WorkerQueryRow[];
  /** GetHistory of one series over the hour through the worker: wall p50/p99 per call. */
  readonly getHistory: { readonly calls: number; readonly p50Ms: number; readonly p99Ms: number; readonly loopMaxMs: number; readonly p99NoGcMs: number; readonly callsWithGc: number };
}

/** GetMetric latency idle and under a Top p99 loop. */
export interface GetMetricUnderTop {
  readonly idle: { readonly requests: number; readonly p50Ms: number; readonly p99Ms: number };
  readonly loaded: { readonly requests: number; readonly p50Ms: number; readonly p99Ms: number };
  /** Top queries completed during the loaded phase. */
  readonly tops: number;
}

const TICK_SECONDS = 5;
/** Snapshots past the hour before queries are timed: half a chunk, so the window slides (header). */
const SLIDE_SNAPSHOTS = 90;
const START = 1_766_500_000;

/** The longest slice of the last sliced runs: wall time (includes being preempted) and CPU time (our own work). */
const slices = { wallMaxMs: 0, cpuMaxMs: 0 };

/**
 * `runSliced` (metrics_server/src/history/slices.ts) step for step, timing each slice in wall and
 * CPU time: on a machine shared with other work, a slice's wall time includes the time the process
 * was not scheduled, which the code cannot help; its CPU time is what the code itself held the loop.
 */
async function runSlicedMeasured<T>(job: SlicedJob<T>, budgetMs: number): Promise<T> {
  for (;;) {
    const started = performance.now();
    const cpu0 = cpuMs();
    let done: { value: T } | undefined;
    for (;;) {
      const step = job.next();
      if (step.done === true) {
        done = { value: step.value };
        break;
      }
      if (performance.now() - started >= budgetMs) break;
    }
    slices.wallMaxMs = Math.max(slices.wallMaxMs, performance.now() - started);
    slices.cpuMaxMs = Math.max(slices.cpuMaxMs, cpuMs() - cpu0);
    if (done !== undefined) return done.value;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Wall and CPU time of a piece of work, and its longest slice (wall and CPU). */
export interface Timing {
  readonly ms: number;
  readonly cpuMs: number;
  readonly sliceWallMaxMs: number;
  readonly sliceCpuMaxMs: number;
}

/** Runs a sliced job alone on the loop, timed, in slices of `budgetMs` (queries' and checkpoints' by default, as the server runs them). */
async function timed<T>(job: SlicedJob<T>, budgetMs: number = QUERY_SLICE_MS): Promise<{ timing: Timing; value: T }> {
  slices.wallMaxMs = 0;
  slices.cpuMaxMs = 0;
  const t0 = performance.now();
  const c0 = cpuMs();
  const value = await runSlicedMeasured(job, budgetMs);
  return { timing: { ms: performance.now() - t0, cpuMs: cpuMs() - c0, sliceWallMaxMs: slices.wallMaxMs, sliceCpuMaxMs: slices.cpuMaxMs }, value };
}

/** The worst of several timings (max of each figure; `ms` and `cpuMs` as medians). */
function summarize(timings: readonly Timing[]): Timing {
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  return {
    ms: median(timings.map((t) => t.ms)),
    cpuMs: median(timings.map((t) => t.cpuMs)),
    sliceWallMaxMs: Math.max(...timings.map((t) => t.sliceWallMaxMs)),
    sliceCpuMaxMs: Math.max(...timings.map((t) => t.sliceCpuMaxMs)),
  };
}

/** A history being filled from the simulator, the server's way. */
interface Filling {
  readonly switches: number;
  readonly simulator: Simulator;
  readonly store: MemoryStore;
  /** The in-process history (dropped before the worker's figures are taken: the server's main thread holds none). */
  history: HistoryStore | undefined;
  /** The server's way: the same snapshots handed to the history worker. */
  readonly thread: HistoryThread;
  /** Each handover of a snapshot to the worker (main thread), ms. */
  readonly handovers: number[];
  /** CPU time of the last handover (all threads: meaningful only while the worker is idle). */
  lastHandoverCpuMs: number;
  /** Snapshots appended so far. */
  appended: number;
  last: Snapshot | undefined;
}

/**
 * Watches this thread's garbage collections; `stop` (after a turn of the loop: GC entries arrive late)
 * returns a test of whether a call [start, start + ms] overlapped one.
 */
function gcWatch(): { stop: () => Promise<(call: { start: number; ms: number }) => boolean> } {
  const gcs: { start: number; end: number }[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcs.push({ start: e.startTime, end: e.startTime + e.duration });
  });
  observer.observe({ entryTypes: ['gc'] });
  return {
    stop: async () => {
      await new Promise((resolve) => setTimeout(resolve, 200));
      observer.disconnect();
      return (c) => gcs.some((g) => g.start < c.start + c.ms && g.end > c.start);
    },
  };
}

/** A monitor of the main thread's event-loop delay (1 ms resolution): its longest delay in ms when stopped. */
function loopMonitor(): () => number {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  return () => {
    h.disable();
    return h.max / 1e6;
  };
}

/** The next tick's column block, made on this thread (the server's ingestion worker makes it there). */
function nextBlock(f: Filling): Uint8Array {
  const prepared = prepareBody(renderCsv(f.simulator.state, METRIC_NAMES));
  if (!prepared.ok) throw new Error(prepared.reason);
  f.simulator.step();
  return prepared.block;
}

/** Publishes `block` as the next tick and hands it to the worker, timing the handover. */
function publish(f: Filling, block: Uint8Array): Snapshot {
  f.last = f.store.publishNow({ block, ingestedAtMs: (START + f.appended * TICK_SECONDS) * 1000 });
  f.appended += 1;
  const h0 = performance.now();
  const c0 = cpuMs();
  f.thread.append(f.last);
  f.lastHandoverCpuMs = cpuMs() - c0;
  f.handovers.push(performance.now() - h0);
  return f.last;
}

/** Appends `snapshots` more ticks to both histories; the last `slicedTail` in process in slices, timed. */
async function extend(f: Filling, snapshots: number, slicedTail: number, total: number): Promise<Timing[]> {
  const appends: Timing[] = [];
  for (let n = 0; n < snapshots; n++) {
    const snapshot = publish(f, nextBlock(f));
    if (f.history !== undefined) {
      if (n >= snapshots - slicedTail) {
        await f.thread.idle();
        appends.push((await timed(f.history.appendSlices(snapshot), DEFAULT_SLICE_MS)).timing);
      } else f.history.appendNow(snapshot);
    }
    // Below MAX_PENDING_APPENDS: a burst beyond it is skipped by design.
    if (n % 4 === 3) await f.thread.idle();
    if (f.appended % 120 === 0) process.stderr.write(`  history @ ${f.switches}: ${f.appended}/${total} snapshots\n`);
  }
  await f.thread.idle();
  return appends;
}

/**
 * Appends `count` more ticks to the worker alone, the server's way: the blocks are made first (the
 * ingestion worker's work), then each is published and handed over while the main thread only waits.
 */
async function workerAppends(f: Filling, count: number): Promise<WorkerFigures['append']> {
  const blocks = Array.from({ length: count }, () => nextBlock(f));
  (globalThis as { gc?: () => void }).gc?.();
  // Handovers during the fill shared the loop with the bench's own CSV rendering and parsing (and its garbage): only these count.
  f.handovers.length = 0;
  const runs: WorkerFigures['append'][] = [];
  for (const block of blocks) {
    await f.thread.idle();
    const stop = loopMonitor();
    const t0 = performance.now();
    const c0 = cpuMs();
    publish(f, block);
    const handoverCpuMs = f.lastHandoverCpuMs;
    await f.thread.idle();
    runs.push({ ms: performance.now() - t0, cpuMs: cpuMs() - c0, loopMaxMs: stop(), handoverCpuMaxMs: handoverCpuMs });
  }
  return {
    ms: percentile(runs.map((r) => r.ms), 0.5),
    cpuMs: percentile(runs.map((r) => r.cpuMs), 0.5),
    loopMaxMs: Math.max(...runs.map((r) => r.loopMaxMs)),
    handoverCpuMaxMs: Math.max(...runs.map((r) => r.handoverCpuMaxMs)),
  };
}

/** Fills a history with `snapshots` ticks of `switches`; the last `slicedTail` are appended in slices and timed. */
async function fill(switches: number, snapshots: number, slicedTail: number, total: number): Promise<{ filling: Filling; append: Timing }> {
  const thread = new HistoryThread({ retentionSeconds: 3600, maxMemoryBytes: 64 * 1024 ** 3, checkpointPath: undefined, checkpointIntervalMs: 3_600_000 }, createLogger({ level: 'WARNING', format: 'text' }));
  await thread.start();
  const filling: Filling = {
    thread,
    handovers: [],
    lastHandoverCpuMs: 0,
    switches,
    simulator: new Simulator({ switchCount: switches, simulation: DEFAULT_SIMULATION, seed: SEED }),
    store: new MemoryStore(),
    history: new HistoryStore({ retentionSeconds: 3600, maxMemoryBytes: 64 * 1024 ** 3 }),
    appended: 0,
    last: undefined,
  };
  const appends = await extend(filling, snapshots, slicedTail, total);
  return { filling, append: summarize(appends) };
}

function percentile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function timeQuery(what: string, switches: number, runs: number, job: () => SlicedJob<unknown>): Promise<QueryRow> {
  const timings: Timing[] = [];
  for (let r = 0; r < runs; r++) timings.push((await timed(job())).timing);
  return { what, switches, runs, ...summarize(timings) };
}

/**
 * GetHistory calls timed per measurement, after GETHISTORY_WARMUP untimed: 10,000, so that p99 is the
 * 100th slowest call, not the 20th (with 2,000 it moved by ±0.3 ms between runs through the worker).
 */
const GETHISTORY_CALLS = 10_000;
const GETHISTORY_WARMUP = 500;

/** The i-th GetHistory of a run: one series over [since, until], switches and metrics spread over the fabric. */
function getHistoryQuery(i: number, switches: number, since: number, until: number): GetHistoryQuery {
  return { kind: 'getHistory', switch: `sw${1 + ((i * 7919) % switches)}`, metric: METRIC_NAMES[i % METRIC_NAMES.length]!, since, until, step: null, maxPoints: 11_000, suggestedStep: '1m', tooManyBuckets: null, known: { switch: true, metric: true } };
}

/** Top `fn` of latency over [since, until], k = 10, as the Top route hands it to the history. */
function topQuery(fn: AggregateFn, since: number, until: number): HistoryQuery {
  return { kind: 'top', metric: 'latency_ms', fn, window: '1h', k: 10, order: 'desc', from: since, to: until, known: { switch: true, metric: true } };
}

/** GetHistory of GETHISTORY_CALLS series (the route's work without HTTP: the answer's JSON body, as the history worker makes it). */
async function measureGetHistory(history: HistoryStore, switches: number, since: number, until: number): Promise<GetHistoryTiming> {
  const gc = gcWatch();
  const calls: { start: number; ms: number }[] = [];
  const batchCpu: number[] = [];
  const BATCH = 100;
  let c0 = cpuMs();
  for (let i = 0; i < GETHISTORY_WARMUP + GETHISTORY_CALLS; i++) {
    const query = getHistoryQuery(i, switches, since, until);
    const t0 = performance.now();
    const answer = runNow(answerJob(history, query));
    if (!answer.ok || answer.body.length < 100) throw new Error(`no samples for ${query.switch}`);
    // The first GETHISTORY_WARMUP calls warm the code up.
    if (i >= GETHISTORY_WARMUP) calls.push({ start: t0, ms: performance.now() - t0 });
    if (i % BATCH === BATCH - 1) {
      const c1 = cpuMs();
      if (i >= GETHISTORY_WARMUP) batchCpu.push((c1 - c0) / BATCH);
      c0 = c1;
    }
  }
  const overlapsGc = await gc.stop();
  const clean = calls.filter((c) => !overlapsGc(c)).map((c) => c.ms);
  const all = calls.map((c) => c.ms);
  return {
    calls: calls.length,
    p50Ms: percentile(all, 0.5),
    p99Ms: percentile(all, 0.99),
    p99NoGcMs: percentile(clean, 0.99),
    callsWithGc: calls.length - clean.length,
    cpuMeanMs: percentile(batchCpu, 0.5),
  };
}

/** Runs `query` through the history worker `runs` times: wall and CPU medians, the main thread's longest loop delay. */
async function timeWorkerQuery(thread: HistoryThread, what: string, runs: number, query: HistoryQuery): Promise<WorkerQueryRow> {
  const walls: number[] = [];
  const cpus: number[] = [];
  const stop = loopMonitor();
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    const c0 = cpuMs();
    const answer = await thread.answer(query);
    if (!answer.ok) throw new Error(`${what}: ${answer.message}`);
    walls.push(performance.now() - t0);
    cpus.push(cpuMs() - c0);
  }
  return { what, runs, ms: percentile(walls, 0.5), cpuMs: percentile(cpus, 0.5), loopMaxMs: stop() };
}

/** GetHistory of GETHISTORY_CALLS series through the worker, one at a time: wall time per call as the main thread awaits it. */
async function workerGetHistory(thread: HistoryThread, switches: number, since: number, until: number): Promise<WorkerFigures['getHistory']> {
  const calls: { start: number; ms: number }[] = [];
  const stop = loopMonitor();
  const gc = gcWatch();
  for (let i = 0; i < GETHISTORY_WARMUP + GETHISTORY_CALLS; i++) {
    const query = getHistoryQuery(i, switches, since, until);
    const t0 = performance.now();
    const answer = await thread.answer(query);
    if (!answer.ok || answer.body.length < 100) throw new Error(`GetHistory through the worker: ${answer.ok ? 'no samples' : answer.message}`);
    if (i >= GETHISTORY_WARMUP) calls.push({ start: t0, ms: performance.now() - t0 });
  }
  const loopMaxMs = stop();
  const overlapsGc = await gc.stop();
  const times = calls.map((c) => c.ms);
  const clean = calls.filter((c) => !overlapsGc(c)).map((c) => c.ms);
  return { calls: times.length, p50Ms: percentile(times, 0.5), p99Ms: percentile(times, 0.99), loopMaxMs, p99NoGcMs: percentile(clean, 0.99), callsWithGc: times.length - clean.length };
}

/** The worker thread's client: GetMetric one request at a time over one keep-alive connection for `durationMs`. */
const CLIENT = `
const { parentPort, workerData } = require('node:worker_threads');
const http = require('node:http');
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const { url, paths } = workerData;
const get = (path) => new Promise((resolve, reject) => {
  const t0 = performance.now();
  http.get(url + path, { agent }, (res) => { res.resume(); res.on('end', () => resolve(performance.now() - t0)); res.on('error', reject); }).on('error', reject);
});
parentPort.on('message', async (durationMs) => {
  const times = [];
  const end = performance.now() + durationMs;
  let i = 0;
  while (performance.now() < end) times.push(await get(paths[i++ % paths.length]));
  parentPort.postMessage(times);
});
`;

/**
 * GetMetric's latency at this size over HTTP from a worker thread, idle and while Top p99 over the
 * hour runs back to back in the history worker (the query the Top route hands it), as in the server.
 */
async function getMetricUnderTop(f: Filling, since: number, until: number): Promise<GetMetricUnderTop> {
  const sink = new MemorySink();
  const server = await startMetricsServer(
    {
      source: 'bench',
      host: '127.0.0.1',
      port: 0,
      logging: { level: 'ERROR', format: 'text' },
      // Nothing listens on port 9: the poll fails once a minute and the store keeps the bench's snapshot.
      ingestion: { mode: 'poll', streamUrl: new URL('http://127.0.0.1:9/counters/stream?delta=1'), generatorUrl: new URL('http://127.0.0.1:9/counters'), pollIntervalMs: 60_000, fetchTimeoutMs: 1000, maxBodyBytes: 1024 * 1024, format: 'csv' },
      readiness: { maxAgeMs: 3_600_000 },
      http: { maxQueryBytes: 2048, maxHeaderBytes: 16384, requestTimeoutMs: 10_000, keepAliveTimeoutMs: 60_000, fastReadPath: true },
      prometheus: { fabricSeries: false },
      stream: { maxClients: 10, maxBufferedBytes: undefined, keepAliveMs: 15_000, compression: 'deflate' },
      history: { enabled: false, retentionSeconds: 3600, maxMemoryBytes: 64 * 1024 * 1024, checkpointPath: undefined, checkpointIntervalMs: 300_000 },
    },
    { store: f.store, logger: createLogger({ level: 'ERROR', format: 'text', sink }) },
  );
  const switches = f.switches;
  const paths: string[] = [];
  for (let i = 0; i < 1000; i++) paths.push(`/telemetry/GetMetric?switch=sw${1 + ((i * 7919) % switches)}&metric=${METRIC_NAMES[i % METRIC_NAMES.length]!}`);
  const client = new Worker(CLIENT, { eval: true, workerData: { url: server.url, paths } });
  const phase = (ms: number): Promise<number[]> =>
    new Promise((resolve) => {
      client.once('message', (times: number[]) => resolve(times));
      client.postMessage(ms);
    });
  const stats = (times: number[]): { requests: number; p50Ms: number; p99Ms: number } => ({ requests: times.length, p50Ms: percentile(times, 0.5), p99Ms: percentile(times, 0.99) });
  try {
    await phase(1000); // warm-up
    const idle = await phase(8000);
    let running = true;
    let tops = 0;
    const loop = (async (): Promise<void> => {
      while (running) {
        const answer = await f.thread.answer(topQuery('p99', since, until));
        if (!answer.ok) throw new Error(answer.message);
        tops += 1;
      }
    })();
    const loaded = await phase(8000);
    running = false;
    await loop;
    return { idle: stats(idle), loaded: stats(loaded), tops };
  } finally {
    await client.terminate();
    await server.stop();
  }
}

/** The in-process figures of one size (queries: the query rows too); the worker is kept in step. */
async function inProcessFigures(filling: Filling, queries: boolean, total: number): Promise<Pick<HistorySizeResult, 'bytesPerSampleWithTails' | 'topP99Cold' | 'aggregateP50Cold' | 'getHistory' | 'queries' | 'checkpoint'>> {
  const history = filling.history!;
  const switches = filling.switches;
  const out: QueryRow[] = [];
  let getHistory: HistorySizeResult['getHistory'];
  let topP99Cold: Timing | undefined;
  let aggregateP50Cold: Timing | undefined;
  let bytesPerSampleWithTails: number | undefined;
  if (queries) {
    const runs = switches >= 100_000 ? 3 : 7;
    // The filled hour, every chunk whole: the first p99 makes the tails (cold); then every metric's, for the bytes.
    const filledUntil = filling.last!.timestamp;
    topP99Cold = (await timed(topJob(history.view(), 'latency_ms', 'p99', filledUntil - 3600, filledUntil, 10, 'desc'))).timing;
    aggregateP50Cold = (await timed(aggregateJob(history.view(), 'latency_ms', 'p50', filledUntil - 3600, filledUntil))).timing;
    for (const metric of METRIC_NAMES) {
      await runSliced(topJob(history.view(), metric, 'p99', filledUntil - 3600, filledUntil, 10, 'desc'));
      await runSliced(aggregateJob(history.view(), metric, 'p50', filledUntil - 3600, filledUntil));
    }
    bytesPerSampleWithTails = history.stats().bytes / history.stats().samples;
    // The hour aligned on chunks (every chunk whole, as the earlier figures were taken): summaries and tails only.
    for (const fn of ['max', 'avg', 'p99'] as const) out.push(await timeQuery(`Top fn=${fn} k=10 window=1h (aligned)`, switches, runs, () => topJob(history.view(), 'latency_ms', fn, filledUntil - 3600, filledUntil, 10, 'desc')));
    out.push(await timeQuery('Aggregate fabric fn=p95 window=1h (aligned)', switches, runs, () => aggregateJob(history.view(), 'latency_ms', 'p95', filledUntil - 3600, filledUntil)));
    // Slide the window: the oldest chunk cut by retention, the newest half full.
    await extend(filling, SLIDE_SNAPSHOTS, 0, total);
    const chunks = history.view();
    const until = filling.last!.timestamp;
    const since = until - 3600;
    getHistory = await measureGetHistory(history, switches, since, until);
    for (const fn of ['max', 'avg', 'p99', 'p95', 'last'] as const) out.push(await timeQuery(`Top fn=${fn} k=10 window=1h`, switches, runs, () => topJob(chunks, 'latency_ms', fn, since, until, 10, 'desc')));
    for (const fn of ['avg', 'max', 'p95', 'p99', 'p50'] as const) out.push(await timeQuery(`Aggregate fabric fn=${fn} window=1h`, switches, runs, () => aggregateJob(chunks, 'latency_ms', fn, since, until)));
    // The worker holds the same snapshots: its answer is the in-process one, byte for byte.
    const query = topQuery('p99', since, until);
    const [inProcess, viaWorker] = [await history.answer(query), await filling.thread.answer(query)];
    if (!inProcess.ok || !viaWorker.ok || inProcess.body !== viaWorker.body) throw new Error('Top p99 through the worker differs from the in-process answer');
  }
  // Checkpoint: what a save costs the loop, and what a start spends reading it back (file I/O aside).
  const encoded = await timed(encodeCheckpoint(history.view(), Date.now()));
  const file = Buffer.concat(encoded.value);
  const t0 = performance.now();
  const c0 = cpuMs();
  const decoded = decodeCheckpoint(file);
  if (!decoded.ok) throw new Error(decoded.reason);
  const restored = new HistoryStore({ retentionSeconds: 3600, maxMemoryBytes: 64 * 1024 ** 3 });
  restored.restore(decoded.chunks, filling.last!.timestamp);
  const loadMs = performance.now() - t0;
  const loadCpuMs = cpuMs() - c0;
  if (restored.stats().samples !== history.stats().samples) throw new Error('the restored history differs');
  return {
    ...(bytesPerSampleWithTails !== undefined ? { bytesPerSampleWithTails } : {}),
    ...(topP99Cold !== undefined ? { topP99Cold } : {}),
    ...(aggregateP50Cold !== undefined ? { aggregateP50Cold } : {}),
    ...(getHistory !== undefined ? { getHistory } : {}),
    queries: out,
    checkpoint: { bytes: file.byteLength, encode: encoded.timing, loadMs, loadCpuMs },
  };
}

/**
 * The worker's figures, once the in-process history is dropped (the server's main thread holds no
 * chunks, and their garbage collection must not count as the worker's): appends, queries and
 * GetHistory through the worker, and at 100,000 switches GetMetric under a Top p99 loop in it.
 */
async function workerFigures(filling: Filling, underLoad: boolean): Promise<{ worker: WorkerFigures; underTop: GetMetricUnderTop | undefined }> {
  const switches = filling.switches;
  const runs = switches >= 100_000 ? 3 : 7;
  const append = await workerAppends(filling, 10);
  const until = filling.last!.timestamp;
  const since = until - 3600;
  const known = { switch: true, metric: true };
  const queries: WorkerQueryRow[] = [];
  for (const fn of ['max', 'avg', 'p99'] as const) queries.push(await timeWorkerQuery(filling.thread, `Top fn=${fn} k=10 window=1h`, runs, topQuery(fn, since, until)));
  for (const fn of ['avg', 'max', 'p95'] as const) queries.push(await timeWorkerQuery(filling.thread, `Aggregate fabric fn=${fn} window=1h`, runs, { kind: 'aggregate', metric: 'latency_ms', fn, window: '1h', switch: null, from: since, to: until, known }));
  const getHistory = await workerGetHistory(filling.thread, switches, since, until);
  const underTop = underLoad ? await getMetricUnderTop(filling, since, until) : undefined;
  const h = filling.handovers;
  return { worker: { handover: { count: h.length, p50Ms: percentile(h, 0.5), p99Ms: percentile(h, 0.99), maxMs: Math.max(...h) }, append, queries, getHistory }, underTop };
}

/** Measures one size: fill, bytes, append cost, and (when `queries`) the query rows, in process and through the history worker. */
export async function historyBenchSize(switches: number, snapshots: number, queries: boolean, underLoad = false): Promise<HistorySizeResult> {
  process.stderr.write(`history @ ${switches}: ${snapshots} snapshots (+${queries ? SLIDE_SNAPSHOTS : 0} sliding)\n`);
  const total = snapshots + (queries ? SLIDE_SNAPSHOTS : 0);
  const { filling, append } = await fill(switches, snapshots, 10, total);
  const stats = filling.history!.stats();
  try {
    const inProcess = await inProcessFigures(filling, queries, total);
    filling.history = undefined;
    (globalThis as { gc?: () => void }).gc?.();
    const viaWorker = queries ? await workerFigures(filling, underLoad) : undefined;
    return {
      switches,
      snapshots: stats.snapshots,
      samples: stats.samples,
      bytes: stats.bytes,
      bytesPerSample: stats.bytes / stats.samples,
      ...inProcess,
      ...(viaWorker?.underTop !== undefined ? { getMetricUnderTop: viaWorker.underTop } : {}),
      append,
      ...(viaWorker !== undefined ? { worker: viaWorker.worker } : {}),
    };
  } finally {
    await filling.thread.stop();
  }
}

/** The history rows of the bench: 10,000 switches (all figures) and 100,000 (bytes, append, heavy queries). */
export async function runHistoryBench(quick: boolean, only?: number): Promise<HistorySizeResult[]> {
  const out: HistorySizeResult[] = [];
  if (only === undefined || only === 10_000) out.push(await historyBenchSize(10_000, 720, true));
  if (only === undefined || only === 100_000) out.push(await historyBenchSize(100_000, quick ? 180 : 720, true, true));
  return out;
}

const f2 = (x: number): string => x.toFixed(2);
const verdict = (ok: boolean): string => (ok ? 'met' : 'NOT met');

/** Longest slice, CPU (what the code held the loop) and wall (also time not scheduled on a busy machine). */
const sliceText = (t: Timing): string => `slice max ${f2(t.sliceCpuMaxMs)} ms CPU / ${f2(t.sliceWallMaxMs)} ms wall`;

/** The rows as `| what | switches | figure | goal |` lines. Goals on time are judged on CPU time (see README). */
export function historyRows(results: readonly HistorySizeResult[]): string[][] {
  const rows: string[][] = [];
  for (const r of results) {
    const n = r.switches.toLocaleString('en-US');
    const at10k = r.switches === 10_000;
    const span = `${((r.snapshots * TICK_SECONDS) / 60).toFixed(0)} min at ${TICK_SECONDS} s`;
    rows.push([`history bytes per sample (${span})`, n, `${r.bytesPerSample.toFixed(3)} B (${(r.bytes / 1e6).toFixed(1)} MB for ${r.samples.toLocaleString('en-US')} samples)`, at10k ? `<= ${HISTORY_GOALS.bytesPerSample} B: ${verdict(r.bytesPerSample <= HISTORY_GOALS.bytesPerSample)}` : '']);
    const tails = r.bytesPerSampleWithTails;
    if (tails !== undefined) rows.push(['history bytes per sample, tails and value histograms of every metric made', n, `${tails.toFixed(3)} B`, at10k ? `<= ${HISTORY_GOALS.bytesPerSample} B: ${verdict(tails <= HISTORY_GOALS.bytesPerSample)}` : '']);
    const cold = r.topP99Cold;
    if (cold !== undefined) rows.push(['Top fn=p99 1 h, first run (makes the tails)', n, `${f2(cold.cpuMs)} ms CPU, ${f2(cold.ms)} ms wall; ${sliceText(cold)}`, `slice <= ${HISTORY_GOALS.queryLoopMs} ms: ${verdict(cold.sliceCpuMaxMs <= HISTORY_GOALS.queryLoopMs)}`]);
    const coldP50 = r.aggregateP50Cold;
    if (coldP50 !== undefined) rows.push(['Aggregate fabric fn=p50 1 h, first run (makes the value histograms)', n, `${f2(coldP50.cpuMs)} ms CPU, ${f2(coldP50.ms)} ms wall; ${sliceText(coldP50)}`, `slice <= ${HISTORY_GOALS.queryLoopMs} ms: ${verdict(coldP50.sliceCpuMaxMs <= HISTORY_GOALS.queryLoopMs)}`]);
    const u = r.getMetricUnderTop;
    if (u !== undefined) {
      const ratio = u.loaded.p99Ms / u.idle.p99Ms;
      rows.push(['GetMetric over HTTP, idle vs a Top p99 loop (history worker)', n, `idle p50 ${f2(u.idle.p50Ms)} / p99 ${f2(u.idle.p99Ms)} ms (${u.idle.requests} req); under Top p50 ${f2(u.loaded.p50Ms)} / p99 ${f2(u.loaded.p99Ms)} ms (${u.loaded.requests} req, ${u.tops} Tops)`, `p99 <= 2x idle: ${verdict(ratio <= 2)} (${ratio.toFixed(2)}x)`]);
    }
    const w = r.worker;
    if (w !== undefined) {
      rows.push(['history worker: snapshot handover (main thread)', n, `p50 ${w.handover.p50Ms.toFixed(3)} ms, p99 ${w.handover.p99Ms.toFixed(3)} ms, max ${f2(w.handover.maxMs)} ms wall (${w.handover.count} snapshots)`, `p99 <= ${HISTORY_GOALS.appendLoopMs} ms: ${verdict(w.handover.p99Ms <= HISTORY_GOALS.appendLoopMs)}`]);
      rows.push(['history worker: append', n, `median ${f2(w.append.cpuMs)} ms CPU (all threads), ${f2(w.append.ms)} ms wall; main loop delay max ${f2(w.append.loopMaxMs)} ms; handover max ${w.append.handoverCpuMaxMs.toFixed(3)} ms CPU (worker idle)`, `handover CPU <= ${HISTORY_GOALS.appendLoopMs} ms: ${verdict(w.append.handoverCpuMaxMs <= HISTORY_GOALS.appendLoopMs)}; loop <= ${HISTORY_GOALS.appendLoopMs} ms: ${verdict(w.append.loopMaxMs <= HISTORY_GOALS.appendLoopMs)}`]);
      rows.push(['history worker: GetHistory one series 1 h', n, `wall p50 ${f2(w.getHistory.p50Ms)} ms, p99 ${f2(w.getHistory.p99Ms)} ms (${w.getHistory.calls} calls; p99 ${f2(w.getHistory.p99NoGcMs)} ms over the calls no main-thread GC overlapped, ${w.getHistory.callsWithGc} were); main loop delay max ${f2(w.getHistory.loopMaxMs)} ms`, at10k ? `p99 <= ${HISTORY_GOALS.getHistoryP99Ms} ms: ${verdict(w.getHistory.p99Ms <= HISTORY_GOALS.getHistoryP99Ms)}` : '']);
      for (const q of w.queries) {
        rows.push([`history worker: ${q.what}`, n, `median ${f2(q.cpuMs)} ms CPU (all threads), ${f2(q.ms)} ms wall (${q.runs} runs); main loop delay max ${f2(q.loopMaxMs)} ms`, `loop <= ${HISTORY_GOALS.queryLoopMs} ms: ${verdict(q.loopMaxMs <= HISTORY_GOALS.queryLoopMs)}`]);
      }
    }
    const a = r.append;
    rows.push(['history append (sliced, in-process)', n, `${f2(a.cpuMs)} ms CPU, ${f2(a.ms)} ms wall per snapshot; ${sliceText(a)}`, `slice <= ${HISTORY_GOALS.appendLoopMs} ms: ${verdict(a.sliceCpuMaxMs <= HISTORY_GOALS.appendLoopMs)}`]);
    const c = r.checkpoint;
    rows.push(['history checkpoint write (sliced)', n, `${(c.bytes / 1e6).toFixed(1)} MB; ${f2(c.encode.cpuMs)} ms CPU; ${sliceText(c.encode)}`, `slice <= ${HISTORY_GOALS.queryLoopMs} ms: ${verdict(c.encode.sliceCpuMaxMs <= HISTORY_GOALS.queryLoopMs)}`]);
    rows.push(['history checkpoint load (decode + restore)', n, `${f2(c.loadCpuMs)} ms CPU, ${f2(c.loadMs)} ms wall`, at10k ? `<= ${HISTORY_GOALS.checkpointLoadMs} ms: ${verdict(c.loadCpuMs <= HISTORY_GOALS.checkpointLoadMs)}` : '']);
    const g = r.getHistory;
    if (g !== undefined) rows.push(['GetHistory one series 1 h (in-process)', n, `wall p50 ${f2(g.p50Ms)} ms, p99 ${f2(g.p99Ms)} ms (p99 ${f2(g.p99NoGcMs)} ms over the calls no GC overlapped; ${g.callsWithGc} of ${g.calls} were); CPU mean ${f2(g.cpuMeanMs)} ms`, at10k ? `p99 <= ${HISTORY_GOALS.getHistoryP99Ms} ms: ${verdict(g.p99Ms <= HISTORY_GOALS.getHistoryP99Ms)}` : '']);
    for (const q of r.queries) {
      // The goals: Aggregate over the fabric; Top by max or avg, and by p99 (none for p95 or last).
      const goal = q.what.startsWith('Aggregate') ? HISTORY_GOALS.aggregateMs : q.what.includes('p99') ? HISTORY_GOALS.topP99Ms : q.what.includes('fn=max') || q.what.includes('fn=avg') ? HISTORY_GOALS.topMaxAvgMs : undefined;
      const timeGoal = goal !== undefined && at10k ? `<= ${goal} ms: ${verdict(q.cpuMs <= goal)}; ` : '';
      rows.push([q.what, n, `median ${f2(q.cpuMs)} ms CPU, ${f2(q.ms)} ms wall (${q.runs} runs); ${sliceText(q)}`, `${timeGoal}slice <= ${HISTORY_GOALS.queryLoopMs} ms: ${verdict(q.sliceCpuMaxMs <= HISTORY_GOALS.queryLoopMs)}`]);
    }
  }
  return rows;
}
