/**
 * The history's figures (issue 12), measured in process on the simulator's data: bytes per sample
 * all-in after one hour at a 5 s tick (720 snapshots) at 10,000 and 100,000 switches; the event-loop
 * cost of a sliced append; GetHistory of one series over the hour; Top by max, avg and p99 and
 * Aggregate over the whole fabric for the hour, each with the longest time it held the event loop.
 *
 * Snapshots go the server's way (simulator → CSV → byte parser → MemoryStore), and queries run the
 * jobs the HTTP routes run, so the figures are the history's own work without HTTP around it.
 * Event-loop figures come from `monitorEventLoopDelay` (1 ms resolution, subtracted) while the
 * work runs alone.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { METRIC_NAMES } from '../common/telemetry-schema.js';
import { decodeCheckpoint, encodeCheckpoint } from '../metrics_server/src/history/checkpoint-codec.js';
import { HistoryStore } from '../metrics_server/src/history/history-store.js';
import { aggregateJob, seriesSamples, topJob } from '../metrics_server/src/history/queries.js';
import { runSliced } from '../metrics_server/src/history/slices.js';
import { prepareBody } from '../metrics_server/src/ingest/prepare.js';
import type { Snapshot } from '../metrics_server/src/snapshot/snapshot.js';
import { MemoryStore } from '../metrics_server/src/store/memory-store.js';
import { DEFAULT_SIMULATION } from '../telemetry_generator/src/config.js';
import { renderCsv } from '../telemetry_generator/src/csv-writer.js';
import { Simulator } from '../telemetry_generator/src/simulator.js';
import { SEED } from './settings.js';

/** The goals. */
export const HISTORY_GOALS = { checkpointLoadMs: 1000, bytesPerSample: 1.5, getHistoryP99Ms: 1, topMaxAvgMs: 20, topP99Ms: 100, aggregateMs: 100, appendLoopMs: 5, queryLoopMs: 20 } as const;

/** One timed query. */
export interface QueryRow {
  readonly what: string;
  readonly switches: number;
  /** Median wall time over the runs, and the longest event-loop block seen in any run. */
  readonly medianMs: number;
  readonly loopMaxMs: number;
  readonly runs: number;
}

/** Everything measured at one size. */
export interface HistorySizeResult {
  readonly switches: number;
  readonly snapshots: number;
  readonly samples: number;
  readonly bytes: number;
  readonly bytesPerSample: number;
  /** Longest event-loop block during sliced appends of the last snapshots, and their mean CPU time. */
  readonly appendLoopMaxMs: number;
  readonly appendMeanMs: number;
  readonly getHistoryP99Ms?: number;
  readonly queries: readonly QueryRow[];
  /** Checkpoint: encoded bytes, encode (sliced) time and its longest event-loop block, decode + restore time. */
  readonly checkpoint: { readonly bytes: number; readonly encodeMs: number; readonly encodeLoopMaxMs: number; readonly loadMs: number };
}

const TICK_SECONDS = 5;
const START = 1_766_500_000;

/** Runs `work` alone on the loop; its wall time and the longest event-loop delay seen meanwhile. */
async function measured<T>(work: () => Promise<T>): Promise<{ ms: number; loopMaxMs: number; value: T }> {
  const monitor = monitorEventLoopDelay({ resolution: 1 });
  monitor.enable();
  const t0 = performance.now();
  const value = await work();
  const ms = performance.now() - t0;
  // One more turn so a block at the very end is recorded.
  await new Promise((resolve) => setTimeout(resolve, 2));
  monitor.disable();
  return { ms, loopMaxMs: Math.max(0, monitor.max / 1e6 - 1), value };
}

/** Fills a history with `snapshots` ticks of `switches`; the last `slicedTail` are appended in slices and measured. */
async function fill(switches: number, snapshots: number, slicedTail: number): Promise<{ history: HistoryStore; appendLoopMaxMs: number; appendMeanMs: number; last: Snapshot }> {
  const simulator = new Simulator({ switchCount: switches, simulation: DEFAULT_SIMULATION, seed: SEED });
  const store = new MemoryStore();
  const history = new HistoryStore({ retentionSeconds: 3600, maxMemoryBytes: 64 * 1024 ** 3 });
  let loopMax = 0;
  let appendMs = 0;
  let last: Snapshot | undefined;
  for (let i = 0; i < snapshots; i++) {
    const prepared = prepareBody(renderCsv(simulator.state, METRIC_NAMES));
    if (!prepared.ok) throw new Error(prepared.reason);
    last = store.publishNow({ block: prepared.block, ingestedAtMs: (START + i * TICK_SECONDS) * 1000 });
    if (i >= snapshots - slicedTail) {
      const snapshot = last;
      const run = await measured(() => history.append(snapshot));
      loopMax = Math.max(loopMax, run.loopMaxMs);
      appendMs += run.ms;
    } else history.appendNow(last);
    simulator.step();
    if (i % 120 === 119) process.stderr.write(`  history @ ${switches}: ${i + 1}/${snapshots} snapshots\n`);
  }
  return { history, appendLoopMaxMs: loopMax, appendMeanMs: appendMs / slicedTail, last: last! };
}

function p99(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(0.99 * sorted.length))]!;
}

async function timeQuery(what: string, switches: number, runs: number, job: () => Generator<void, unknown, void>): Promise<QueryRow> {
  const times: number[] = [];
  let loopMaxMs = 0;
  for (let r = 0; r < runs; r++) {
    const run = await measured(() => runSliced(job()));
    times.push(run.ms);
    loopMaxMs = Math.max(loopMaxMs, run.loopMaxMs);
  }
  const sorted = [...times].sort((a, b) => a - b);
  return { what, switches, medianMs: sorted[sorted.length >> 1]!, loopMaxMs, runs };
}

/** Measures one size: fill, bytes, append cost, and (when `queries`) the query rows. */
export async function historyBenchSize(switches: number, snapshots: number, queries: boolean): Promise<HistorySizeResult> {
  process.stderr.write(`history @ ${switches}: ${snapshots} snapshots\n`);
  const { history, appendLoopMaxMs, appendMeanMs, last } = await fill(switches, snapshots, 10);
  const stats = history.stats();
  const out: QueryRow[] = [];
  let getHistoryP99Ms: number | undefined;
  if (queries) {
    const chunks = history.view();
    const until = last.timestamp;
    const since = until - 3600;
    const times: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const id = `sw${1 + ((i * 7919) % switches)}`;
      const metric = METRIC_NAMES[i % METRIC_NAMES.length]!;
      const t0 = performance.now();
      const samples = seriesSamples(history.view(), id, metric, since, until);
      // The route's body text too: what a request costs beyond HTTP.
      const body = samples.map((s) => `{"timestamp":${s.timestamp},"value":${s.value}}`).join(',');
      times.push(performance.now() - t0);
      if (body.length === 0) throw new Error(`no samples for ${id}`);
    }
    getHistoryP99Ms = p99(times.slice(100));
    const runs = switches >= 100_000 ? 3 : 7;
    for (const fn of ['max', 'avg', 'p99', 'last'] as const) out.push(await timeQuery(`Top fn=${fn} k=10 window=1h`, switches, runs, () => topJob(chunks, 'latency_ms', fn, since, until, 10, 'desc')));
    for (const fn of ['avg', 'max', 'p95'] as const) out.push(await timeQuery(`Aggregate fabric fn=${fn} window=1h`, switches, runs, () => aggregateJob(chunks, 'latency_ms', fn, since, until)));
  }
  // Checkpoint: what a save costs the loop, and what a start spends reading it back (file I/O aside).
  const encoded = await measured(() => runSliced(encodeCheckpoint(history.view(), Date.now())));
  const file = Buffer.concat(encoded.value);
  const t0 = performance.now();
  const decoded = decodeCheckpoint(file);
  if (!decoded.ok) throw new Error(decoded.reason);
  const restored = new HistoryStore({ retentionSeconds: 3600, maxMemoryBytes: 64 * 1024 ** 3 });
  restored.restore(decoded.chunks, last.timestamp);
  const loadMs = performance.now() - t0;
  if (restored.stats().samples !== stats.samples) throw new Error('the restored history differs');
  const checkpoint = { bytes: file.byteLength, encodeMs: encoded.ms, encodeLoopMaxMs: encoded.loopMaxMs, loadMs };
  return { switches, snapshots: stats.snapshots, samples: stats.samples, bytes: stats.bytes, bytesPerSample: stats.bytes / stats.samples, appendLoopMaxMs, appendMeanMs, ...(getHistoryP99Ms !== undefined ? { getHistoryP99Ms } : {}), queries: out, checkpoint };
}

/** The history rows of the bench: 10,000 switches (all figures) and 100,000 (bytes, append, heavy queries). */
export async function runHistoryBench(quick: boolean): Promise<HistorySizeResult[]> {
  return [await historyBenchSize(10_000, 720, true), await historyBenchSize(100_000, quick ? 180 : 720, true)];
}

const f2 = (x: number): string => x.toFixed(2);
const verdict = (ok: boolean): string => (ok ? 'met' : 'NOT met');

/** The rows as `| what | switches | figure | goal |` lines. */
export function historyRows(results: readonly HistorySizeResult[]): string[][] {
  const rows: string[][] = [];
  for (const r of results) {
    const n = r.switches.toLocaleString('en-US');
    const span = `${((r.snapshots * TICK_SECONDS) / 60).toFixed(0)} min at ${TICK_SECONDS} s`;
    rows.push([`history bytes per sample (${span})`, n, `${r.bytesPerSample.toFixed(3)} B (${(r.bytes / 1e6).toFixed(1)} MB for ${r.samples.toLocaleString('en-US')} samples)`, r.switches === 10_000 ? `<= ${HISTORY_GOALS.bytesPerSample} B: ${verdict(r.bytesPerSample <= HISTORY_GOALS.bytesPerSample)}` : '']);
    rows.push(['history append, event-loop block', n, `max ${f2(r.appendLoopMaxMs)} ms (wall ${f2(r.appendMeanMs)} ms per snapshot, in slices)`, `<= ${HISTORY_GOALS.appendLoopMs} ms: ${verdict(r.appendLoopMaxMs <= HISTORY_GOALS.appendLoopMs)}`]);
    const c = r.checkpoint;
    rows.push(['history checkpoint', n, `${(c.bytes / 1e6).toFixed(1)} MB; write ${f2(c.encodeMs)} ms (loop block max ${f2(c.encodeLoopMaxMs)} ms); load ${f2(c.loadMs)} ms`, r.switches === 10_000 ? `load <= ${HISTORY_GOALS.checkpointLoadMs} ms: ${verdict(c.loadMs <= HISTORY_GOALS.checkpointLoadMs)}` : '']);
    if (r.getHistoryP99Ms !== undefined) rows.push(['GetHistory one series 1 h (in-process)', n, `p99 ${f2(r.getHistoryP99Ms)} ms`, r.switches === 10_000 ? `<= ${HISTORY_GOALS.getHistoryP99Ms} ms: ${verdict(r.getHistoryP99Ms <= HISTORY_GOALS.getHistoryP99Ms)}` : '']);
    for (const q of r.queries) {
      const goal = q.what.startsWith('Aggregate') ? HISTORY_GOALS.aggregateMs : q.what.includes('p99') ? HISTORY_GOALS.topP99Ms : q.what.includes('last') ? undefined : HISTORY_GOALS.topMaxAvgMs;
      const timeGoal = goal !== undefined && r.switches === 10_000 ? `<= ${goal} ms: ${verdict(q.medianMs <= goal)}; ` : '';
      rows.push([q.what, n, `median ${f2(q.medianMs)} ms over ${q.runs}, event-loop block max ${f2(q.loopMaxMs)} ms`, `${timeGoal}block <= ${HISTORY_GOALS.queryLoopMs} ms: ${verdict(q.loopMaxMs <= HISTORY_GOALS.queryLoopMs)}`]);
    }
  }
  return rows;
}
