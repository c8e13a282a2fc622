/**
 * Percentiles (p50 … p99) of one series or of the whole fabric over a window, exact, reading as few
 * samples as the rank allows.
 *
 * A percentile of n values interpolates between the order statistics `lower` and `upper` = lower + 1
 * (aggregate-fns.ts); both lie among the `fromTop` = n − lower largest values. For a high percentile
 * that is few values (p99 of an hour of one series: 9 of 720), so a closed chunk that the window
 * covers whole offers only its tail, its TAIL_VALUES largest samples (metric-chunk.ts, kept on first
 * need), instead of all its samples. Every other piece is decoded whole.
 *
 * Why the answer stays exact: let x be the fromTop-th largest of the candidates (tails and decoded
 * samples). A chunk whose tail is truncated hides only values ≤ its tail's smallest. If that is ≤ x
 * for every such chunk, the values > x are the same in the candidates as in all samples, and at least
 * fromTop candidates are ≥ x, so the fromTop largest values, and hence both order statistics, are the
 * same. A chunk whose tail's smallest is > x may hide values that matter: it is decoded and its hidden
 * samples added (which only raises x, so no other chunk starts to matter), and x is taken again.
 */
import { quantileOf, selectKth, type AggregateFn } from './aggregate-fns.js';
import { TAIL_VALUES, type ValueHistogram } from './metric-chunk.js';
import type { SlicedJob } from './slices.js';
import type { MetricWindow, Piece } from './window.js';

/** Where a percentile of n values lies: between ascending order statistics `lower` and `upper`, at `weight`. */
export interface Rank {
  readonly n: number;
  readonly lower: number;
  readonly upper: number;
  readonly weight: number;
  /** How many of the largest values hold both order statistics: n − lower. */
  readonly fromTop: number;
}

/** The rank of the q-quantile of n ≥ 1 values, as Prometheus' `quantile_over_time` takes it. */
export function rankOf(n: number, q: number): Rank {
  const rank = q * (n - 1);
  const lower = Math.max(0, Math.floor(rank));
  return { n, lower, upper: Math.min(n - 1, lower + 1), weight: rank - Math.floor(rank), fromTop: n - lower };
}

/** The interpolated percentile from the order statistics at `lower` (lo) and `upper` (hi). */
export function interpolate(rank: Rank, lo: number, hi: number): number {
  return rank.upper === rank.lower || rank.weight === 0 ? lo : lo * (1 - rank.weight) + hi * rank.weight;
}

/** A multiset of values (common units) that a percentile is selected from. */
export interface Candidates {
  /** Values in the multiset. */
  readonly size: number;
  /** Adds `values[from, to)` × `mult`. */
  add(values: Float64Array, from: number, to: number, mult: number): void;
  /** The i-th smallest value (0-based, i < size) and the next one (the same when i is the last). */
  orderStats(i: number): readonly [number, number];
}

/** Candidates in an array (one series: at most a window's samples), selected with Hoare's selection. */
export class ArrayCandidates implements Candidates {
  size = 0;
  private values = new Float64Array(1024);

  /** Empties the multiset, keeping its memory. */
  clear(): void {
    this.size = 0;
  }

  add(values: Float64Array, from: number, to: number, mult: number): void {
    const needed = this.size + to - from;
    if (this.values.length < needed) {
      const grown = new Float64Array(Math.max(needed, this.values.length * 2));
      grown.set(this.values.subarray(0, this.size));
      this.values = grown;
    }
    const out = this.values;
    let at = this.size;
    if (mult === 1) {
      out.set(values.subarray(from, to), at);
      at += to - from;
    } else for (let i = from; i < to; i++) out[at++] = values[i]! * mult;
    this.size = at;
  }

  orderStats(i: number): readonly [number, number] {
    const lo = selectKth(this.values, this.size, i);
    // After the selection everything above index i is ≥ lo: the next order statistic is their minimum.
    let hi = i + 1 < this.size ? Infinity : lo;
    for (let j = i + 1; j < this.size; j++) if (this.values[j]! < hi) hi = this.values[j]!;
    return [lo, hi];
  }
}

/** Candidates counted in an array indexed by value − lo (exact integers in a known, small range). */
export class DenseCounts implements Candidates {
  size = 0;
  private readonly counts: Uint32Array;

  constructor(
    private readonly lo: number,
    hi: number,
  ) {
    this.counts = new Uint32Array(hi - lo + 1);
  }

  add(values: Float64Array, from: number, to: number, mult: number): void {
    const { counts, lo } = this;
    for (let i = from; i < to; i++) counts[values[i]! * mult - lo]! += 1;
    this.size += to - from;
  }

  /** Adds a closed chunk's value histogram (its stored units × mult are common units). */
  addHistogram(histogram: ValueHistogram, mult: number): void {
    const { counts, lo } = this;
    const from = histogram.counts;
    let added = 0;
    for (let v = 0; v < from.length; v++) {
      const c = from[v]!;
      if (c === 0) continue;
      counts[(histogram.lo + v) * mult - lo]! += c;
      added += c;
    }
    this.size += added;
  }

  /** The index of the i-th smallest counted value, walking from the nearer end. */
  private indexOf(i: number): number {
    const counts = this.counts;
    if (i < this.size / 2) {
      let seen = 0;
      for (let v = 0; v < counts.length; v++) {
        seen += counts[v]!;
        if (seen > i) return v;
      }
    } else {
      let seen = 0;
      const fromTop = this.size - 1 - i;
      for (let v = counts.length - 1; v >= 0; v--) {
        seen += counts[v]!;
        if (seen > fromTop) return v;
      }
    }
    throw new RangeError(`order statistic ${i} of ${this.size} counted values`);
  }

  orderStats(i: number): readonly [number, number] {
    const lo = this.indexOf(i);
    return [this.lo + lo, this.lo + (i + 1 < this.size ? this.indexOf(i + 1) : lo)];
  }
}

/** Candidates counted in a value → count map (raw doubles, or integers over too wide a range). */
export class MapCounts implements Candidates {
  size = 0;
  private readonly counts = new Map<number, number>();

  add(values: Float64Array, from: number, to: number, mult: number): void {
    for (let i = from; i < to; i++) {
      const v = values[i]! * mult;
      this.counts.set(v, (this.counts.get(v) ?? 0) + 1);
    }
    this.size += to - from;
  }

  orderStats(i: number): readonly [number, number] {
    const keys = [...this.counts.keys()].sort((a, b) => a - b);
    let seen = 0;
    let lo = NaN;
    for (const key of keys) {
      seen += this.counts.get(key)!;
      if (Number.isNaN(lo) && seen > i) {
        lo = key;
        if (i + 1 >= this.size) return [lo, lo];
      }
      if (seen > i + 1) return [lo, key];
    }
    throw new RangeError(`order statistic ${i} of ${this.size} counted values`);
  }
}

/** Decoding scratch, grown on demand and reused (queries run one slice at a time on one thread). */
let decoded = new Float64Array(1024);
function decodedFor(n: number): Float64Array {
  if (decoded.length < n) decoded = new Float64Array(Math.max(n, decoded.length * 2));
  return decoded;
}

/** True when a piece may offer its tail instead of its samples: a closed chunk covered whole, of scaled integers. */
function tailable(piece: Piece): boolean {
  return piece.whole && !piece.metric.isRaw;
}

/**
 * One percentile over the series fed to it: `begin` with the number of samples the window holds for
 * them, `addPiece` for each (piece, row), then `finish`. Reusable (Top calls `begin` per switch).
 */
export class PercentileQuery {
  readonly quantile: number;
  private rank: Rank = rankOf(1, 0.5);
  private useTails = false;
  private added = 0;
  /** Pieces that offered a truncated tail: the piece, its row, and the tail's smallest value (common units); `truncated` of them in use. */
  private readonly truncatedPieces: Piece[] = [];
  private readonly truncatedRows: number[] = [];
  private readonly truncatedMins: number[] = [];
  private truncated = 0;
  private tail = new Float64Array(TAIL_VALUES);

  constructor(
    fn: AggregateFn,
    private readonly candidates: Candidates,
  ) {
    const q = quantileOf(fn);
    if (q === undefined) throw new RangeError(`${fn} is not a percentile`);
    this.quantile = q;
  }

  /**
   * Starts a percentile over `n` samples whose closed chunks hold up to `wholeCount` samples a series:
   * tails are worth offering when the share of the fromTop largest values a chunk holds on average,
   * fromTop × wholeCount / n, is at most TAIL_VALUES (p99 and p95 of an hour at 5 s; not p90 or p50).
   */
  begin(n: number, wholeCount: number): void {
    this.rank = rankOf(Math.max(1, n), this.quantile);
    this.useTails = n > 0 && this.rank.fromTop * wholeCount <= n * TAIL_VALUES;
    this.added = 0;
    this.truncated = 0;
  }

  /** Adds the samples of `piece` for series `row`: its tail when that is enough, else every sample. */
  addPiece(piece: Piece, row: number): void {
    const metric = piece.metric;
    const count = piece.to - piece.from;
    this.added += count;
    if (this.useTails && tailable(piece)) {
      const kept = metric.tailInto(row, piece.to, this.tail, 0);
      if (kept >= 0) {
        this.candidates.add(this.tail, 0, kept, piece.mult);
        if (kept < count) {
          const t = this.truncated++;
          this.truncatedPieces[t] = piece;
          this.truncatedRows[t] = row;
          this.truncatedMins[t] = metric.tailMin * piece.mult;
        }
        return;
      }
      // First need of this series' tail: decode it whole (it is a candidate in full), then keep the tail.
      const values = decodedFor(piece.to);
      metric.decode(row, piece.to, values, 0);
      this.candidates.add(values, 0, piece.to, piece.mult);
      metric.keepTail(row, values, piece.to);
      return;
    }
    const values = decodedFor(piece.to);
    metric.decodeRange(row, piece.from, piece.to, values);
    this.candidates.add(values, piece.from, piece.to, piece.mult);
  }

  /**
   * The percentile in common units (null without samples), after adding what truncated tails hide
   * where it may matter (header comment); yields every `perYield` pieces decoded for that.
   */
  *finish(perYield = 64): SlicedJob<number | null> {
    if (this.added === 0) return null;
    const rank = this.rank;
    const candidates = this.candidates;
    // With fromTop ≤ TAIL_VALUES no tail can hide a value that matters: a tail whose smallest is > x
    // would put TAIL_VALUES ≥ fromTop values above x, but fewer than fromTop candidates are above x.
    if (this.truncated > 0 && rank.fromTop > TAIL_VALUES) {
      // x: the fromTop-th largest candidate (−∞ when there are fewer: every truncated tail then matters).
      const x = candidates.size >= rank.fromTop ? candidates.orderStats(candidates.size - rank.fromTop)[0] : -Infinity;
      let decodedPieces = 0;
      for (let t = 0; t < this.truncated; t++) {
        if (this.truncatedMins[t]! <= x) continue;
        const piece = this.truncatedPieces[t]!;
        const count = piece.to;
        const kept = Math.min(TAIL_VALUES, count);
        const values = decodedFor(count);
        piece.metric.decode(this.truncatedRows[t]!, count, values, 0);
        // The tail is the `kept` largest: what it hides is the rest, values[0, count − kept) once selected.
        selectKth(values, count, count - kept);
        candidates.add(values, 0, count - kept, piece.mult);
        if (++decodedPieces % perYield === 0) yield;
      }
    }
    const [lo, hi] = candidates.orderStats(candidates.size - rank.fromTop);
    return interpolate(rank, lo, hi);
  }
}

/** The largest sample count of a closed chunk covered whole in `window` (0 when none). */
export function wholeCount(window: MetricWindow): number {
  let most = 0;
  for (const piece of window.pieces) if (tailable(piece)) most = Math.max(most, piece.to);
  return most;
}
