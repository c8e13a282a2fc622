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
 */
import { METRIC_NAMES } from '../common/telemetry-schema.js';
import { decodeCheckpoint, encodeCheckpoint } from '../metrics_server/src/history/checkpoint-codec.js';
import { HistoryStore } from '../metrics_server/src/history/history-store.js';
import { aggregateJob, seriesSamples, topJob } from '../metrics_server/src/history/queries.js';
import { DEFAULT_SLICE_MS, type SlicedJob } from '../metrics_server/src/history/slices.js';
import { prepareBody } from '../metrics_server/src/ingest/prepare.js';
import type { Snapshot } from '../metrics_server/src/snapshot/snapshot.js';
import { MemoryStore } from '../metrics_server/src/store/memory-store.js';
import { DEFAULT_SIMULATION } from '../telemetry_generator/src/config.js';
import { renderCsv } from '../telemetry_generator/src/csv-writer.js';
import { Simulator } from '../telemetry_generator/src/simulator.js';
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
  /** Sliced appends of the last snapshots. */
  readonly append: Timing;
  /** GetHistory of one series over the hour: wall p50/p99 and CPU p99 per call. */
  readonly getHistory?: { readonly p50Ms: number; readonly p99Ms: number; readonly cpuP99Ms: number };
  readonly queries: readonly QueryRow[];
  /** Checkpoint: encoded bytes, the sliced encode, and decode + restore (wall and CPU). */
  readonly checkpoint: { readonly bytes: number; readonly encode: Timing; readonly loadMs: number; readonly loadCpuMs: number };
}

const TICK_SECONDS = 5;
const START = 1_766_500_000;

/** CPU time of this process in ms (all its threads; the bench starts none). */
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** The longest slice of the last sliced runs: wall time (includes being preempted) and CPU time (our own work). */
const slices = { wallMaxMs: 0, cpuMaxMs: 0 };

/**
 * `runSliced` (metrics_server/src/history/slices.ts) step for step, timing each slice in wall and
 * CPU time: on a machine shared with other work, a slice's wall time includes the time the process
 * was not scheduled, which the code cannot help; its CPU time is what the code itself held the loop.
 */
async function runSlicedMeasured<T>(job: SlicedJob<T>, budgetMs: number = DEFAULT_SLICE_MS): Promise<T> {
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

/** Runs a sliced job alone on the loop, timed. */
async function timed<T>(job: SlicedJob<T>): Promise<{ timing: Timing; value: T }> {
  slices.wallMaxMs = 0;
  slices.cpuMaxMs = 0;
  const t0 = performance.now();
  const c0 = cpuMs();
  const value = await runSlicedMeasured(job);
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

/** Fills a history with `snapshots` ticks of `switches`; the last `slicedTail` are appended in slices and timed. */
async function fill(switches: number, snapshots: number, slicedTail: number): Promise<{ history: HistoryStore; append: Timing; last: Snapshot }> {
  const simulator = new Simulator({ switchCount: switches, simulation: DEFAULT_SIMULATION, seed: SEED });
  const store = new MemoryStore();
  const history = new HistoryStore({ retentionSeconds: 3600, maxMemoryBytes: 64 * 1024 ** 3 });
  const appends: Timing[] = [];
  let last: Snapshot | undefined;
  for (let i = 0; i < snapshots; i++) {
    const prepared = prepareBody(renderCsv(simulator.state, METRIC_NAMES));
    if (!prepared.ok) throw new Error(prepared.reason);
    last = store.publishNow({ block: prepared.block, ingestedAtMs: (START + i * TICK_SECONDS) * 1000 });
    if (i >= snapshots - slicedTail) appends.push((await timed(history.appendSlices(last))).timing);
    else history.appendNow(last);
    simulator.step();
    if (i % 120 === 119) process.stderr.write(`  history @ ${switches}: ${i + 1}/${snapshots} snapshots\n`);
  }
  return { history, append: summarize(appends), last: last! };
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

/** Measures one size: fill, bytes, append cost, and (when `queries`) the query rows. */
export async function historyBenchSize(switches: number, snapshots: number, queries: boolean): Promise<HistorySizeResult> {
  process.stderr.write(`history @ ${switches}: ${snapshots} snapshots\n`);
  const { history, append, last } = await fill(switches, snapshots, 10);
  const stats = history.stats();
  const out: QueryRow[] = [];
  let getHistory: HistorySizeResult['getHistory'];
  if (queries) {
    const chunks = history.view();
    const until = last.timestamp;
    const since = until - 3600;
    const times: number[] = [];
    const cpus: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const id = `sw${1 + ((i * 7919) % switches)}`;
      const metric = METRIC_NAMES[i % METRIC_NAMES.length]!;
      const t0 = performance.now();
      const c0 = cpuMs();
      const samples = seriesSamples(history.view(), id, metric, since, until);
      // The route's body text too: what a request costs beyond HTTP.
      const body = samples.map((s) => `{"timestamp":${s.timestamp},"value":${s.value}}`).join(',');
      times.push(performance.now() - t0);
      cpus.push(cpuMs() - c0);
      if (body.length === 0) throw new Error(`no samples for ${id}`);
    }
    getHistory = { p50Ms: percentile(times.slice(100), 0.5), p99Ms: percentile(times.slice(100), 0.99), cpuP99Ms: percentile(cpus.slice(100), 0.99) };
    const runs = switches >= 100_000 ? 3 : 7;
    for (const fn of ['max', 'avg', 'p99', 'last'] as const) out.push(await timeQuery(`Top fn=${fn} k=10 window=1h`, switches, runs, () => topJob(chunks, 'latency_ms', fn, since, until, 10, 'desc')));
    for (const fn of ['avg', 'max', 'p95'] as const) out.push(await timeQuery(`Aggregate fabric fn=${fn} window=1h`, switches, runs, () => aggregateJob(chunks, 'latency_ms', fn, since, until)));
  }
  // Checkpoint: what a save costs the loop, and what a start spends reading it back (file I/O aside).
  const encoded = await timed(encodeCheckpoint(history.view(), Date.now()));
  const file = Buffer.concat(encoded.value);
  const t0 = performance.now();
  const c0 = cpuMs();
  const decoded = decodeCheckpoint(file);
  if (!decoded.ok) throw new Error(decoded.reason);
  const restored = new HistoryStore({ retentionSeconds: 3600, maxMemoryBytes: 64 * 1024 ** 3 });
  restored.restore(decoded.chunks, last.timestamp);
  const loadMs = performance.now() - t0;
  const loadCpuMs = cpuMs() - c0;
  if (restored.stats().samples !== stats.samples) throw new Error('the restored history differs');
  const checkpoint = { bytes: file.byteLength, encode: encoded.timing, loadMs, loadCpuMs };
  return { switches, snapshots: stats.snapshots, samples: stats.samples, bytes: stats.bytes, bytesPerSample: stats.bytes / stats.samples, append, ...(getHistory !== undefined ? { getHistory } : {}), queries: out, checkpoint };
}

/** The history rows of the bench: 10,000 switches (all figures) and 100,000 (bytes, append, heavy queries). */
export async function runHistoryBench(quick: boolean): Promise<HistorySizeResult[]> {
  return [await historyBenchSize(10_000, 720, true), await historyBenchSize(100_000, quick ? 180 : 720, true)];
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
    const a = r.append;
    rows.push(['history append (sliced)', n, `${f2(a.cpuMs)} ms CPU, ${f2(a.ms)} ms wall per snapshot; ${sliceText(a)}`, `slice <= ${HISTORY_GOALS.appendLoopMs} ms: ${verdict(a.sliceCpuMaxMs <= HISTORY_GOALS.appendLoopMs)}`]);
    const c = r.checkpoint;
    rows.push(['history checkpoint write (sliced)', n, `${(c.bytes / 1e6).toFixed(1)} MB; ${f2(c.encode.cpuMs)} ms CPU; ${sliceText(c.encode)}`, `slice <= ${HISTORY_GOALS.queryLoopMs} ms: ${verdict(c.encode.sliceCpuMaxMs <= HISTORY_GOALS.queryLoopMs)}`]);
    rows.push(['history checkpoint load (decode + restore)', n, `${f2(c.loadCpuMs)} ms CPU, ${f2(c.loadMs)} ms wall`, at10k ? `<= ${HISTORY_GOALS.checkpointLoadMs} ms: ${verdict(c.loadCpuMs <= HISTORY_GOALS.checkpointLoadMs)}` : '']);
    const g = r.getHistory;
    if (g !== undefined) rows.push(['GetHistory one series 1 h (in-process)', n, `p99 ${f2(g.cpuP99Ms)} ms CPU; wall p50 ${f2(g.p50Ms)} ms, p99 ${f2(g.p99Ms)} ms`, at10k ? `p99 <= ${HISTORY_GOALS.getHistoryP99Ms} ms: ${verdict(g.cpuP99Ms <= HISTORY_GOALS.getHistoryP99Ms)}` : '']);
    for (const q of r.queries) {
      const goal = q.what.startsWith('Aggregate') ? HISTORY_GOALS.aggregateMs : q.what.includes('p99') ? HISTORY_GOALS.topP99Ms : q.what.includes('last') ? undefined : HISTORY_GOALS.topMaxAvgMs;
      const timeGoal = goal !== undefined && at10k ? `<= ${goal} ms: ${verdict(q.cpuMs <= goal)}; ` : '';
      rows.push([q.what, n, `median ${f2(q.cpuMs)} ms CPU, ${f2(q.ms)} ms wall (${q.runs} runs); ${sliceText(q)}`, `${timeGoal}slice <= ${HISTORY_GOALS.queryLoopMs} ms: ${verdict(q.sliceCpuMaxMs <= HISTORY_GOALS.queryLoopMs)}`]);
    }
  }
  return rows;
}
