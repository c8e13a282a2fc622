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

/** Switches between two yields when summaries answer (cheap), and when samples are decoded. */
const SWITCHES_PER_YIELD_SUMMARIES = 64;
const SWITCHES_PER_YIELD_DECODING = 4;
/**
 * A fabric percentile counts values in an array indexed by value (in common units) when the values
 * span at most this many units (16 MB of counts); otherwise, or for raw doubles, in a value → count map.
 */
export const DEFAULT_MAX_COUNTING_RANGE = 2 ** 22;

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

/** How a percentile keeps its values: all in an array (one switch), counted by value in an array, or in a map. */
type Pool =
  | { readonly kind: 'array'; values: Float64Array }
  | { readonly kind: 'counts'; readonly lo: number; readonly counts: Uint32Array }
  | { readonly kind: 'map'; readonly counts: Map<number, number> };

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
  private readonly quantile: number | undefined;

  constructor(
    private readonly fn: AggregateFn,
    private readonly pool: Pool | undefined,
  ) {
    this.quantile = quantileOf(fn);
  }

  /** Starts again for another switch (Top), keeping the pool's memory. */
  reset(): void {
    this.count = 0;
    this.sum = 0;
    this.min = Infinity;
    this.max = -Infinity;
    this.last = NaN;
    this.lastAt = -Infinity;
    this.changes = 0;
    this.prev = NaN;
  }

  /** Adds a piece's summaries (a whole closed piece, for a fn the summaries answer). */
  addSummary(piece: Piece, row: number): void {
    const { metric, mult } = piece;
    this.count += piece.to - piece.from;
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
    if (this.quantile !== undefined) {
      this.addToPool(units, from, to, mult);
      this.count += to - from;
      return;
    }
    if (fn === 'last') {
      // Ties at one timestamp: the later switch in row order wins, as the fabric's samples are ordered (time, switch).
      const t = times[to - 1]!;
      if (t >= this.lastAt) {
        this.lastAt = t;
        this.last = units[to - 1]! * mult;
      }
      this.count += to - from;
      return;
    }
    for (let i = from; i < to; i++) {
      const v = units[i]! * mult;
      this.sum += v;
      if (v < this.min) this.min = v;
      if (v > this.max) this.max = v;
      if (v !== this.prev && this.prev === this.prev) this.changes += 1;
      this.prev = v;
    }
    this.count += to - from;
  }

  private addToPool(units: Float64Array, from: number, to: number, mult: number): void {
    const pool = this.pool!;
    if (pool.kind === 'counts') {
      const { lo, counts } = pool;
      for (let i = from; i < to; i++) counts[units[i]! * mult - lo]! += 1;
    } else if (pool.kind === 'map') {
      for (let i = from; i < to; i++) {
        const v = units[i]! * mult;
        pool.counts.set(v, (pool.counts.get(v) ?? 0) + 1);
      }
    } else {
      const filled = this.count;
      const needed = filled + to - from;
      if (pool.values.length < needed) {
        const grown = new Float64Array(Math.max(needed, pool.values.length * 2));
        grown.set(pool.values.subarray(0, filled));
        pool.values = grown;
      }
      const values = pool.values;
      for (let i = from; i < to; i++) values[filled + i - from] = units[i]! * mult;
    }
  }

  /** The fn's value (count and changes as they are), or null without samples. */
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
        const pool = this.pool!;
        const q = this.quantile!;
        const value =
          pool.kind === 'array' ? quantile(pool.values, this.count, q) : pool.kind === 'map' ? quantileOfCounts(pool.counts, this.count, q) : pool.lo + quantileOfDenseCounts(pool.counts, this.count, q);
        return round15(value / scale);
      }
    }
  }
}

/** The q-quantile of the index multiset `counts` (index i counted counts[i] times) holding n values. */
function quantileOfDenseCounts(counts: Uint32Array, n: number, q: number): number {
  const rank = q * (n - 1);
  const lower = Math.max(0, Math.floor(rank));
  const upper = Math.min(n - 1, lower + 1);
  const weight = rank - Math.floor(rank);
  let seen = 0;
  let lo = -1;
  for (let i = 0; i < counts.length; i++) {
    seen += counts[i]!;
    if (lo === -1 && lower < seen) lo = i;
    if (upper < seen) return weight === 0 || upper === lower ? lo : lo * (1 - weight) + i * weight;
  }
  return lo;
}

/**
 * The pool for a percentile over the fabric: the summaries bound every value of the window (a
 * chunk's min and max cover at least its committed samples), so exact values spanning at most
 * `maxRange` units are counted in an array indexed by value; others in a map.
 */
function fabricPool(window: MetricWindow, maxRange: number): Pool {
  if (!window.exact) return { kind: 'map', counts: new Map() };
  let lo = Infinity;
  let hi = -Infinity;
  for (const piece of window.pieces) {
    const { metric, mult } = piece;
    const rows = piece.chunk.ids.count;
    for (let r = 0; r < rows; r++) {
      const a = metric.min[r]! * mult;
      const b = metric.max[r]! * mult;
      if (a < lo) lo = a;
      if (b > hi) hi = b;
    }
  }
  if (hi - lo + 1 > maxRange || !(hi >= lo)) return { kind: 'map', counts: new Map() };
  return { kind: 'counts', lo, counts: new Uint32Array(hi - lo + 1) };
}

/** The row of the switch in piece `p`: from the precomputed rows, or by id (-1: absent). */
function rowIn(window: MetricWindow, rows: readonly Int32Array[] | undefined, p: number, row: number, id: string | undefined): number {
  if (rows !== undefined) return rows[p]![row]!;
  return id === undefined ? row : window.pieces[p]!.chunk.ids.rowOf(id);
}

/** Feeds one switch's samples of every piece into `acc`. */
function accumulateSeries(acc: Accumulator, fn: AggregateFn, window: MetricWindow, rows: readonly Int32Array[] | undefined, row: number, id: string | undefined): void {
  acc.newSeries();
  const useSummaries = summaryAnswers(fn);
  // `last` needs only the newest piece that has the switch; the others only count.
  let newest = window.pieces.length;
  if (fn === 'last') {
    for (let p = window.pieces.length - 1; p >= 0; p--) {
      if (rowIn(window, rows, p, row, id) !== -1) {
        newest = p;
        break;
      }
    }
  }
  for (let p = 0; p < window.pieces.length; p++) {
    const piece = window.pieces[p]!;
    const r = rowIn(window, rows, p, row, id);
    if (r === -1) continue;
    if (fn === 'last' && p !== newest) {
      acc.count += piece.to - piece.from;
      continue;
    }
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
  /** Fabric percentiles count values in an array when they span at most this many units (default DEFAULT_MAX_COUNTING_RANGE). */
  readonly maxCountingRange?: number;
}

/** `fn` over one switch's samples in [since, until], or over every switch's when `switchId` is undefined. */
export function* aggregateJob(chunks: readonly HistoryChunk[], metric: string, fn: AggregateFn, since: number, until: number, switchId?: string, options: QueryOptions = {}): SlicedJob<AggregateResult> {
  const window = metricWindow(chunks, metric, since, until);
  const percentile = quantileOf(fn) !== undefined;
  const pool = !percentile ? undefined : switchId !== undefined ? { kind: 'array' as const, values: new Float64Array(256) } : fabricPool(window, options.maxCountingRange ?? DEFAULT_MAX_COUNTING_RANGE);
  const acc = new Accumulator(fn, pool);
  if (switchId !== undefined) {
    accumulateSeries(acc, fn, window, undefined, -1, switchId);
  } else {
    // The fabric: for `last`, samples are ordered (time, switch); a chunk-major walk keeps that for ties.
    const { ids, rows } = switchOrder(window);
    const perYield = summaryAnswers(fn) ? SWITCHES_PER_YIELD_SUMMARIES : SWITCHES_PER_YIELD_DECODING;
    for (let s = 0; s < ids.length; s++) {
      accumulateSeries(acc, fn, window, rows, s, undefined);
      if (s % perYield === perYield - 1) yield;
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
  const acc = new Accumulator(fn, quantileOf(fn) === undefined ? undefined : { kind: 'array', values: new Float64Array(256) });
  const perYield = summaryAnswers(fn) ? SWITCHES_PER_YIELD_SUMMARIES : SWITCHES_PER_YIELD_DECODING;
  for (let s = 0; s < ids.length; s++) {
    acc.reset();
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
    if (s % perYield === perYield - 1) yield;
  }
  return keptValues.map((value, i) => ({ switch: ids[keptIds[i]!]!, value }));
}
