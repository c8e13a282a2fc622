/**
 * The history's questions: one series' samples (GetHistory), the same in time buckets, one `fn`
 * over one switch or the whole fabric (Aggregate), and the k switches ranked by `fn` (Top).
 *
 * Closed chunks answer min, max, sum, count and avg from their summaries when the window covers
 * them whole; anything else is decoded. Aggregate and Top are jobs (slices.ts) that yield between
 * switches, so a query over 100,000 switches never holds the event loop for long; they read the
 * chunk list and counts taken when they start (window.ts), so appends in between do not change them.
 */
import { AGGREGATE_FNS, quantile, quantileOf, quantileOfCounts, round15, summaryAnswers, type AggregateFn } from './aggregate-fns.js';
import type { HistoryChunk } from './history-chunk.js';
import type { IdSource } from './id-source.js';
import type { SlicedJob } from './slices.js';
import { metricWindow, type MetricWindow, type Piece } from './window.js';

export { AGGREGATE_FNS, type AggregateFn };

/** One sample of a series. */
export interface HistorySample {
  readonly timestamp: number;
  readonly value: number;
}

/** One time bucket `[timestamp, timestamp + step)` of a series. */
export interface HistoryBucket {
  readonly timestamp: number;
  readonly min: number;
  readonly max: number;
  readonly avg: number;
  readonly count: number;
}

/** An aggregate's answer: how many samples it read, and its value (null when none). */
export interface AggregateResult {
  readonly samples: number;
  readonly value: number | null;
}

/** One line of Top. */
export interface TopEntry {
  readonly switch: string;
  readonly value: number;
}

/** Switches between two checks of a job's time budget. */
const SWITCHES_PER_YIELD = 64;
/** A fabric percentile pools its values in an array up to this many; beyond, as value → count. */
export const DEFAULT_POOL_LIMIT = 4_000_000;

/** Decoding scratch, grown on demand and reused (queries run one slice at a time on one thread). */
let scratch = new Float64Array(1024);
function scratchFor(n: number): Float64Array {
  if (scratch.length < n) scratch = new Float64Array(Math.max(n, scratch.length * 2));
  return scratch;
}

/** Samples of one series with since ≤ timestamp ≤ until, in time order, values exactly as stored. */
export function seriesSamples(chunks: readonly HistoryChunk[], switchId: string, metric: string, since: number, until: number): HistorySample[] {
  const out: HistorySample[] = [];
  for (const piece of metricWindow(chunks, metric, since, until).pieces) {
    const row = piece.chunk.ids.rowOf(switchId);
    if (row === -1) continue;
    const units = scratchFor(piece.to);
    piece.metric.decode(row, piece.to, units, 0);
    const scale = piece.metric.scale;
    for (let i = piece.from; i < piece.to; i++) out.push({ timestamp: piece.chunk.timestamps[i]!, value: units[i]! / scale });
  }
  return out;
}

/** How many samples one series has in [since, until] (no decoding). */
export function seriesSampleCount(chunks: readonly HistoryChunk[], switchId: string, metric: string, since: number, until: number): number {
  let n = 0;
  for (const piece of metricWindow(chunks, metric, since, until).pieces) if (piece.chunk.ids.rowOf(switchId) !== -1) n += piece.to - piece.from;
  return n;
}

/** One series in buckets `[t, t + step)` aligned to multiples of `step` since the epoch; empty buckets left out. */
export function seriesBuckets(chunks: readonly HistoryChunk[], switchId: string, metric: string, since: number, until: number, step: number): HistoryBucket[] {
  const window = metricWindow(chunks, metric, since, until);
  const out: HistoryBucket[] = [];
  let bucket = NaN;
  let min = 0;
  let max = 0;
  let sum = 0;
  let count = 0;
  const flush = (): void => {
    if (count > 0) out.push({ timestamp: bucket, min: min / window.commonScale, max: max / window.commonScale, avg: round15(sum / count / window.commonScale), count });
  };
  for (const piece of window.pieces) {
    const row = piece.chunk.ids.rowOf(switchId);
    if (row === -1) continue;
    const units = scratchFor(piece.to);
    piece.metric.decode(row, piece.to, units, 0);
    for (let i = piece.from; i < piece.to; i++) {
      const t = piece.chunk.timestamps[i]!;
      const start = Math.floor(t / step) * step;
      const v = units[i]! * piece.mult;
      if (start !== bucket) {
        flush();
        bucket = start;
        min = v;
        max = v;
        sum = 0;
        count = 0;
      }
      if (v < min) min = v;
      if (v > max) max = v;
      sum += v;
      count += 1;
    }
  }
  flush();
  return out;
}

/** Running state of one fn over samples in common units. */
class Accumulator {
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;
  last = NaN;
  lastAt = -Infinity;
  changes = 0;
  private prev = NaN;
  /** Percentile pool: an array, or value → count once it passes the limit. */
  pool: Float64Array;
  poolCounts: Map<number, number> | undefined;

  constructor(
    private readonly fn: AggregateFn,
    private readonly poolLimit: number,
  ) {
    this.pool = new Float64Array(quantileOf(fn) === undefined ? 0 : 256);
  }

  /** Adds a piece's summaries (a whole closed piece, for a fn the summaries answer). */
  addSummary(piece: Piece, row: number): void {
    const { metric, mult } = piece;
    const n = piece.to - piece.from;
    this.count += n;
    this.sum += metric.sum[row]! * mult;
    const lo = metric.min[row]! * mult;
    const hi = metric.max[row]! * mult;
    if (lo < this.min) this.min = lo;
    if (hi > this.max) this.max = hi;
  }

  /** Starts a new series (Aggregate over the fabric: `changes` never compares two switches). */
  newSeries(): void {
    this.prev = NaN;
  }

  /** Adds samples [from, to) of `units` (stored units × mult = common units) taken at `times`. */
  addSamples(units: Float64Array, from: number, to: number, mult: number, times: Float64Array): void {
    const fn = this.fn;
    if (fn === 'count') {
      this.count += to - from;
      return;
    }
    for (let i = from; i < to; i++) {
      const v = units[i]! * mult;
      this.count += 1;
      this.sum += v;
      if (v < this.min) this.min = v;
      if (v > this.max) this.max = v;
      if (this.prev === this.prev && v !== this.prev) this.changes += 1;
      this.prev = v;
      // Ties at one timestamp: the later switch in row order wins, as the fabric's samples are ordered (time, switch).
      if (times[i]! >= this.lastAt) {
        this.lastAt = times[i]!;
        this.last = v;
      }
    }
    if (this.pool.length > 0 || this.poolCounts !== undefined) this.addToPool(units, from, to, mult);
  }

  private addToPool(units: Float64Array, from: number, to: number, mult: number): void {
    const n = to - from;
    if (this.poolCounts === undefined) {
      const filled = this.count - n;
      if (filled + n <= this.poolLimit) {
        if (this.pool.length < filled + n) {
          const grown = new Float64Array(Math.min(this.poolLimit, Math.max(filled + n, this.pool.length * 2)));
          grown.set(this.pool.subarray(0, filled));
          this.pool = grown;
        }
        for (let i = from; i < to; i++) this.pool[filled + i - from] = units[i]! * mult;
        return;
      }
      this.poolCounts = new Map();
      for (let i = 0; i < filled; i++) this.poolCounts.set(this.pool[i]!, (this.poolCounts.get(this.pool[i]!) ?? 0) + 1);
      this.pool = new Float64Array(0);
    }
    for (let i = from; i < to; i++) {
      const v = units[i]! * mult;
      this.poolCounts.set(v, (this.poolCounts.get(v) ?? 0) + 1);
    }
  }

  /** The fn's value in common units (count and changes as they are), or null without samples. */
  result(window: MetricWindow): number | null {
    if (this.count === 0) return null;
    const scale = window.commonScale;
    switch (this.fn) {
      case 'count':
        return this.count;
      case 'changes':
        return this.changes;
      case 'min':
        return this.min / scale;
      case 'max':
        return this.max / scale;
      case 'sum':
        return window.exact ? this.sum / scale : round15(this.sum / scale);
      case 'avg':
        return round15(this.sum / this.count / scale);
      case 'last':
        return this.last / scale;
      default: {
        const q = quantileOf(this.fn)!;
        const value = this.poolCounts !== undefined ? quantileOfCounts(this.poolCounts, this.count, q) : quantile(this.pool, this.count, q);
        return round15(value / scale);
      }
    }
  }
}

/** Feeds one switch's samples of every piece into `acc`. */
function accumulateSeries(acc: Accumulator, fn: AggregateFn, window: MetricWindow, rows: readonly Int32Array[] | undefined, row: number, id: string | undefined): void {
  acc.newSeries();
  const useSummaries = summaryAnswers(fn);
  for (let p = 0; p < window.pieces.length; p++) {
    const piece = window.pieces[p]!;
    const r = rows === undefined ? (id === undefined ? row : piece.chunk.ids.rowOf(id)) : rows[p]![row]!;
    if (r === -1) continue;
    if (useSummaries && piece.whole) {
      acc.addSummary(piece, r);
      continue;
    }
    if (fn === 'count') {
      acc.count += piece.to - piece.from;
      continue;
    }
    const units = scratchFor(piece.to);
    piece.metric.decode(r, piece.to, units, 0);
    acc.addSamples(units, piece.from, piece.to, piece.mult, piece.chunk.timestamps);
  }
}

/**
 * The switches of a window in ranking order (the newest chunk's order, which is the snapshot's, then
 * switches only older chunks have, in their order), and per piece the row of each of them (-1: absent).
 */
function switchOrder(window: MetricWindow): { ids: readonly string[]; rows: Int32Array[] } {
  const pieces = window.pieces;
  const sources: IdSource[] = [];
  for (let p = pieces.length - 1; p >= 0; p--) if (!sources.includes(pieces[p]!.chunk.ids)) sources.push(pieces[p]!.chunk.ids);
  if (sources.length === 0) return { ids: [], rows: [] };
  let ids: readonly string[] = sources[0]!.ids;
  if (sources.length > 1) {
    const seen = new Set(ids);
    const all = [...ids];
    for (const source of sources.slice(1)) for (const id of source.ids) if (!seen.has(id)) {
      seen.add(id);
      all.push(id);
    }
    ids = all;
  }
  const identity = new Int32Array(ids.length);
  for (let i = 0; i < identity.length; i++) identity[i] = i < sources[0]!.count ? i : -1;
  const bySource = new Map<IdSource, Int32Array>([[sources[0]!, identity]]);
  const rowsFor = (source: IdSource): Int32Array => {
    let rows = bySource.get(source);
    if (rows === undefined) {
      rows = new Int32Array(ids.length);
      for (let i = 0; i < ids.length; i++) rows[i] = source.rowOf(ids[i]!);
      bySource.set(source, rows);
    }
    return rows;
  };
  return { ids, rows: pieces.map((piece) => rowsFor(piece.chunk.ids)) };
}

/** Options of the sliced queries. */
export interface QueryOptions {
  /** Fabric percentiles pool at most this many values in an array (default DEFAULT_POOL_LIMIT). */
  readonly poolLimit?: number;
}

/** `fn` over one switch's samples in [since, until], or over every switch's when `switchId` is undefined. */
export function* aggregateJob(chunks: readonly HistoryChunk[], metric: string, fn: AggregateFn, since: number, until: number, switchId?: string, options: QueryOptions = {}): SlicedJob<AggregateResult> {
  const window = metricWindow(chunks, metric, since, until);
  const acc = new Accumulator(fn, options.poolLimit ?? DEFAULT_POOL_LIMIT);
  if (switchId !== undefined) {
    accumulateSeries(acc, fn, window, undefined, -1, switchId);
  } else {
    // The fabric: for `last`, samples are ordered (time, switch); a chunk-major walk keeps that for ties.
    const { ids, rows } = switchOrder(window);
    for (let s = 0; s < ids.length; s++) {
      accumulateSeries(acc, fn, window, rows, s, undefined);
      if (s % SWITCHES_PER_YIELD === SWITCHES_PER_YIELD - 1) yield;
    }
  }
  return { samples: acc.count, value: acc.result(window) };
}

/**
 * The `k` switches ranked by `fn` over their own samples in [since, until]: highest first (`desc`)
 * or lowest first (`asc`); ties keep the snapshot's switch order; switches without samples are left out.
 */
export function* topJob(chunks: readonly HistoryChunk[], metric: string, fn: AggregateFn, since: number, until: number, k: number, order: 'asc' | 'desc'): SlicedJob<TopEntry[]> {
  const window = metricWindow(chunks, metric, since, until);
  const { ids, rows } = switchOrder(window);
  // The best k so far, best first; a newcomer equal to a kept value ranks after it (it comes later).
  const keptValues: number[] = [];
  const keptIds: number[] = [];
  const better = order === 'desc' ? (a: number, b: number): boolean => a > b : (a: number, b: number): boolean => a < b;
  for (let s = 0; s < ids.length; s++) {
    const acc = new Accumulator(fn, Infinity);
    accumulateSeries(acc, fn, window, rows, s, undefined);
    const value = acc.result(window);
    if (value !== null && (keptValues.length < k || better(value, keptValues[keptValues.length - 1]!))) {
      let at = keptValues.length;
      while (at > 0 && better(value, keptValues[at - 1]!)) at--;
      keptValues.splice(at, 0, value);
      keptIds.splice(at, 0, s);
      if (keptValues.length > k) {
        keptValues.pop();
        keptIds.pop();
      }
    }
    if (s % SWITCHES_PER_YIELD === SWITCHES_PER_YIELD - 1) yield;
  }
  return keptValues.map((value, i) => ({ switch: ids[keptIds[i]!]!, value }));
}
