/**
 * The history's questions: one series' samples (GetHistory), the same in time buckets, one `fn`
 * over one switch or the whole fabric (Aggregate), and the k switches ranked by `fn` (Top).
 *
 * Closed chunks answer min, max, sum, count and avg from their summaries when the window covers
 * them whole, and high percentiles from their tails (percentiles.ts); anything else is decoded. Aggregate and Top are jobs (slices.ts) that yield between
 * switches, so a query over 100,000 switches never holds the event loop for long; they read the
 * chunk list and counts taken when they start (window.ts), so appends in between do not change them.
 */
import { AGGREGATE_FNS, quantileOf, round15, summaryAnswers, type AggregateFn } from './aggregate-fns.js';
import type { HistoryChunk } from './history-chunk.js';
import type { IdSource } from './id-source.js';
import type { HistogramPolicy } from './metric-chunk.js';
import { ArrayCandidates, DenseCounts, MapCounts, PercentileQuery, interpolate, rankOf, wholeCount, type Candidates } from './percentiles.js';
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

/** One piece of a series' window, with the switch's row in that chunk. */
export interface SeriesPiece {
  readonly piece: Piece;
  readonly row: number;
}

/** The pieces of one series with since ≤ timestamp ≤ until, oldest first (chunks without the switch left out). */
export function seriesPieces(chunks: readonly HistoryChunk[], switchId: string, metric: string, since: number, until: number): SeriesPiece[] {
  const out: SeriesPiece[] = [];
  for (const piece of metricWindow(chunks, metric, since, until).pieces) {
    const row = piece.chunk.ids.rowOf(switchId);
    if (row !== -1) out.push({ piece, row });
  }
  return out;
}

/** How many samples those pieces hold (no decoding). */
export function sampleCount(pieces: readonly SeriesPiece[]): number {
  let n = 0;
  for (const { piece } of pieces) n += piece.to - piece.from;
  return n;
}

/**
 * Visits a series' samples a piece at a time, in time order: `units[i]` (i in [from, to)) is the
 * value × `piece.metric.scale` of the sample taken at `piece.chunk.timestamps[i]`. `units` is
 * scratch, valid during the call only.
 */
export function visitSeries(pieces: readonly SeriesPiece[], visit: (piece: Piece, units: Float64Array) => void): void {
  for (const { piece, row } of pieces) {
    const units = scratchFor(piece.to);
    piece.metric.decodeRange(row, piece.from, piece.to, units);
    visit(piece, units);
  }
}

/** Samples of one series with since ≤ timestamp ≤ until, in time order, values exactly as stored. */
export function seriesSamples(chunks: readonly HistoryChunk[], switchId: string, metric: string, since: number, until: number): HistorySample[] {
  const out: HistorySample[] = [];
  visitSeries(seriesPieces(chunks, switchId, metric, since, until), (piece, units) => {
    const scale = piece.metric.scale;
    for (let i = piece.from; i < piece.to; i++) out.push({ timestamp: piece.chunk.timestamps[i]!, value: units[i]! / scale });
  });
  return out;
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
    piece.metric.decodeRange(row, piece.from, piece.to, units);
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

  constructor(private readonly fn: AggregateFn) {}

  /** Starts again for another switch (Top). */
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
    const { metric } = piece;
    this.addRange(metric.min[row]!, metric.max[row]!, metric.sum[row]!, piece.to - piece.from, piece.mult);
  }

  /** Adds min, max and sum of `count` samples in stored units (× mult: common units). */
  addRange(min: number, max: number, sum: number, count: number, mult: number): void {
    this.count += count;
    this.sum += sum * mult;
    if (min * mult < this.min) this.min = min * mult;
    if (max * mult > this.max) this.max = max * mult;
  }

  /** Starts a new series (Aggregate over the fabric: `changes` never compares two switches). */
  newSeries(): void {
    this.prev = NaN;
  }

  /** Adds samples [from, to) of `units` (stored units × mult = common units) taken at `times`. */
  addSamples(units: Float64Array, from: number, to: number, mult: number, times: Float64Array): void {
    const fn = this.fn;
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
      default:
        // 'last' (percentiles never reach an Accumulator: percentiles.ts).
        return this.last / scale;
    }
  }
}

/**
 * The candidates of a percentile over the fabric: the summaries bound every value of the window (a
 * chunk's min and max cover at least its committed samples), so exact values spanning at most
 * `maxRange` units are counted in an array indexed by value; others in a map.
 */
function fabricCandidates(window: MetricWindow, maxRange: number): Candidates {
  if (!window.exact) return new MapCounts();
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
  if (hi - lo + 1 > maxRange || !(hi >= lo)) return new MapCounts();
  return new DenseCounts(lo, hi);
}

/** A percentile in common units back to a value (null stays null). */
function percentileValue(window: MetricWindow, units: number | null): number | null {
  return units === null ? null : round15(units / window.commonScale);
}

/** Samples of one switch in the window (`rows`/`row` or `id` as in rowIn). */
function seriesCount(window: MetricWindow, rows: readonly Int32Array[] | undefined, row: number, id: string | undefined): number {
  let n = 0;
  for (let p = 0; p < window.pieces.length; p++) if (rowIn(window, rows, p, row, id) !== -1) n += window.pieces[p]!.to - window.pieces[p]!.from;
  return n;
}

/** Feeds one switch's pieces to a percentile. */
function addSeriesPieces(query: PercentileQuery, window: MetricWindow, rows: readonly Int32Array[] | undefined, row: number, id: string | undefined): void {
  for (let p = 0; p < window.pieces.length; p++) {
    const r = rowIn(window, rows, p, row, id);
    if (r !== -1) query.addPiece(window.pieces[p]!, r);
  }
}

/** The row of the switch in piece `p`: from the precomputed rows, or by id (-1: absent). */
function rowIn(window: MetricWindow, rows: readonly Int32Array[] | undefined, p: number, row: number, id: string | undefined): number {
  if (rows !== undefined) return rows[p]![row]!;
  return id === undefined ? row : window.pieces[p]!.chunk.ids.rowOf(id);
}

/**
 * True when a piece is every committed sample of a chunk still open (or closed since the query began)
 * and the chunk's running summaries cover exactly those: the newest edge of a sliding window is then
 * read from summaries, not decoded. Checked at the read itself: an append that started since then
 * marks the summaries in flux, and the samples are decoded instead.
 */
function summarizedOpen(piece: Piece): boolean {
  return piece.from === 0 && piece.chunk.summariesTrusted && piece.metric.summaryCount === piece.to;
}

/** True when a piece is the samples of a closed chunk (trusted summaries) from a cut inside it to its end: block summaries apply (metric-chunk.ts suffixSummary). */
function cutClosed(piece: Piece): boolean {
  return piece.from > 0 && piece.chunk.closed && piece.chunk.summariesTrusted && piece.to === piece.chunk.count;
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
    if (useSummaries && (piece.whole || summarizedOpen(piece))) {
      acc.addSummary(piece, r);
      continue;
    }
    if (useSummaries && fn !== 'count' && cutClosed(piece)) {
      // The oldest edge of a sliding window: block summaries after the cut, the samples before the first whole block decoded.
      const range = { min: Infinity, max: -Infinity, sum: 0 };
      piece.metric.suffixSummary(r, piece.from, piece.to, scratchFor(piece.to), range);
      acc.addRange(range.min, range.max, range.sum, piece.to - piece.from, piece.mult);
      continue;
    }
    if (fn === 'count') {
      acc.count += piece.to - piece.from;
      continue;
    }
    const units = scratchFor(piece.to);
    piece.metric.decodeRange(r, piece.from, piece.to, units);
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
  /** Which closed chunks a fabric percentile reads from value histograms (default 'auto': by size). */
  readonly histograms?: HistogramPolicy;
}

/**
 * A fabric percentile counted in `counts`: every closed chunk the window covers whole adds its value
 * histogram (made on first need, the one time its samples are decoded), so only the window's edges
 * (a cut oldest chunk, from its restart points when it has them, and the open chunk) are decoded
 * series by series. Exact: the same multiset as decoding every sample.
 */
function* histogramPercentile(window: MetricWindow, counts: DenseCounts, quantile: number, options: QueryOptions): SlicedJob<AggregateResult> {
  const policy = options.histograms ?? 'auto';
  const maxRange = options.maxCountingRange ?? DEFAULT_MAX_COUNTING_RANGE;
  const decoded: Piece[] = [];
  for (const piece of window.pieces) {
    const range = piece.whole ? piece.metric.histogramRange(policy, maxRange) : undefined;
    if (range === undefined) {
      decoded.push(piece);
      continue;
    }
    const histogram = piece.metric.valueHistogram ?? (yield* piece.metric.makeHistogram(piece.to, range, scratchFor(piece.to)));
    counts.addHistogram(histogram, piece.mult);
    yield;
  }
  for (const piece of decoded) {
    const rows = piece.chunk.ids.count;
    const units = scratchFor(piece.to);
    for (let r = 0; r < rows; r++) {
      piece.metric.decodeRange(r, piece.from, piece.to, units);
      counts.add(units, piece.from, piece.to, piece.mult);
      if (r % SWITCHES_PER_YIELD_DECODING === SWITCHES_PER_YIELD_DECODING - 1) yield;
    }
  }
  const n = counts.size;
  if (n === 0) return { samples: 0, value: null };
  const rank = rankOf(n, quantile);
  const [lo, hi] = counts.orderStats(rank.lower);
  return { samples: n, value: percentileValue(window, interpolate(rank, lo, hi)) };
}

/** `fn` over one switch's samples in [since, until], or over every switch's when `switchId` is undefined. */
export function* aggregateJob(chunks: readonly HistoryChunk[], metric: string, fn: AggregateFn, since: number, until: number, switchId?: string, options: QueryOptions = {}): SlicedJob<AggregateResult> {
  const window = metricWindow(chunks, metric, since, until);
  const quantile = quantileOf(fn);
  if (quantile !== undefined) {
    // Percentiles: every series' pieces into one multiset, tails where they suffice (percentiles.ts);
    // over the fabric, counted by value with whole chunks from their histograms.
    const candidates = switchId !== undefined ? new ArrayCandidates() : fabricCandidates(window, options.maxCountingRange ?? DEFAULT_MAX_COUNTING_RANGE);
    if (candidates instanceof DenseCounts) return yield* histogramPercentile(window, candidates, quantile, options);
    const query = new PercentileQuery(fn, candidates);
    if (switchId !== undefined) {
      const n = seriesCount(window, undefined, -1, switchId);
      query.begin(n, wholeCount(window));
      addSeriesPieces(query, window, undefined, -1, switchId);
      return { samples: n, value: percentileValue(window, yield* query.finish()) };
    }
    let n = 0;
    for (const piece of window.pieces) n += (piece.to - piece.from) * piece.chunk.ids.count;
    query.begin(n, wholeCount(window));
    const { ids, rows } = switchOrder(window);
    for (let s = 0; s < ids.length; s++) {
      addSeriesPieces(query, window, rows, s, undefined);
      if (s % SWITCHES_PER_YIELD_DECODING === SWITCHES_PER_YIELD_DECODING - 1) yield;
    }
    return { samples: n, value: percentileValue(window, yield* query.finish()) };
  }
  const acc = new Accumulator(fn);
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
  const acc = new Accumulator(fn);
  const candidates = new ArrayCandidates();
  const percentile = quantileOf(fn) === undefined ? undefined : new PercentileQuery(fn, candidates);
  const most = wholeCount(window);
  const perYield = summaryAnswers(fn) ? SWITCHES_PER_YIELD_SUMMARIES : SWITCHES_PER_YIELD_DECODING;
  for (let s = 0; s < ids.length; s++) {
    let value: number | null;
    if (percentile !== undefined) {
      candidates.clear();
      percentile.begin(seriesCount(window, rows, s, undefined), most);
      addSeriesPieces(percentile, window, rows, s, undefined);
      value = percentileValue(window, yield* percentile.finish());
    } else {
      acc.reset();
      accumulateSeries(acc, fn, window, rows, s, undefined);
      value = acc.result(window);
    }
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
