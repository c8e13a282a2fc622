/**
 * Aggregate and Top's functions (history/aggregate-fns.ts) against their definitions, directly:
 * selection against a sort, both quantile forms against Prometheus' `quantile_over_time` rule on a
 * sorted copy, and the small tables (which fn is which quantile, which a summary answers). The store
 * tests reach these through whole queries, where a pool of a few equal values hides a wrong index.
 * Written for `npm run mutation -- history-aggregates`.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { AGGREGATE_FNS, isAggregateFn, quantileOf, round15, selectKth, summaryAnswers, type AggregateFn } from '../src/history/aggregate-fns.js';
import { ArrayCandidates, DenseCounts, MapCounts, PercentileQuery, interpolate, rankOf, wholeCount, type Candidates } from '../src/history/percentiles.js';
import type { HistoryChunk } from '../src/history/history-chunk.js';
import { MetricChunk, slotBytesFor } from '../src/history/metric-chunk.js';
import { runNow } from '../src/history/slices.js';
import type { Piece } from '../src/history/window.js';

/** The q-quantile of what `candidates` holds, as the percentile query takes it (rank, order statistics, interpolation). */
function quantileFrom(candidates: Candidates, n: number, q: number): number {
  const rank = rankOf(n, q);
  const [lo, hi] = candidates.orderStats(rank.lower);
  return interpolate(rank, lo, hi);
}

/** The q-quantile of the first n values (selected in an array, as for one series). */
function quantile(values: Float64Array, n: number, q: number): number {
  const candidates = new ArrayCandidates();
  candidates.add(values, 0, n, 1);
  return quantileFrom(candidates, n, q);
}

/** The q-quantile of the multiset `counts` describes (value → how many), counted in a map as for a fabric. */
function quantileOfCounts(counts: ReadonlyMap<number, number>, n: number, q: number): number {
  const candidates = new MapCounts();
  // `mult` scales values to common units (1 here); a value counted c times is added c times.
  for (const [value, count] of counts) candidates.add(new Float64Array(count).fill(value), 0, count, 1);
  return quantileFrom(candidates, n, q);
}
import { runSeed } from './fuzz-seeds.js';

/** Prometheus' rule on a sorted array: rank q·(n − 1), linear between the two neighbours. */
function reference(sorted: readonly number[], q: number): number {
  const rank = q * (sorted.length - 1);
  const lower = Math.floor(rank);
  const upper = Math.min(sorted.length - 1, lower + 1);
  const weight = rank - lower;
  return sorted[lower]! * (1 - weight) + sorted[upper]! * weight;
}

const valuesArb = fc.array(fc.oneof(fc.integer({ min: -50, max: 50 }), fc.integer({ min: 0, max: 3 }), fc.double({ min: -1e6, max: 1e6, noNaN: true })).map((v) => v + 0), { minLength: 1, maxLength: 60 }); // + 0: -0 is 0 (the sort does not order them)
/** FUZZ_SEED when set (the mutation run sets it, so every mutant meets the same inputs), else fresh; fast-check prints it on failure. */
const seed = runSeed();

const qArb = fc.oneof(fc.constantFrom(0, 0.5, 0.9, 0.95, 0.99, 1), fc.double({ min: 0, max: 1, noNaN: true }));

test('the fn table: names, quantiles, and which a closed chunk summary answers', () => {
  assert.deepEqual([...AGGREGATE_FNS], ['min', 'max', 'avg', 'sum', 'count', 'last', 'changes', 'p50', 'p90', 'p95', 'p99']);
  for (const fn of AGGREGATE_FNS) assert.equal(isAggregateFn(fn), true);
  for (const name of ['', 'P50', 'median', 'p75', 'min ', 'toString']) assert.equal(isAggregateFn(name), false, name);
  assert.deepEqual(
    AGGREGATE_FNS.map((fn) => quantileOf(fn)),
    [undefined, undefined, undefined, undefined, undefined, undefined, undefined, 0.5, 0.9, 0.95, 0.99],
  );
  assert.deepEqual(
    AGGREGATE_FNS.filter((fn) => summaryAnswers(fn)),
    ['min', 'max', 'avg', 'sum', 'count'],
  );
});

test('round15 keeps 15 significant digits: binary noise goes, real digits stay', () => {
  assert.equal(round15(4.869999999999999), 4.87);
  assert.equal(round15(0.1 + 0.2), 0.3);
  assert.equal(round15(123456789012345), 123456789012345);
  assert.equal(round15(1.23456789012345), 1.23456789012345);
  assert.equal(round15(1.234567890123456), 1.23456789012346);
  assert.equal(round15(-2.5), -2.5);
  assert.equal(round15(0), 0);
});

test('selectKth returns the k-th smallest, duplicates and all, like a sort', () => {
  fc.assert(
    fc.property(valuesArb, fc.nat(), (values, kSeed) => {
      const k = kSeed % values.length;
      const sorted = [...values].sort((a, b) => a - b);
      const buf = Float64Array.from([...values, 1e300, -1e300]); // beyond n: must not be looked at
      assert.equal(selectKth(buf, values.length, k), sorted[k]);
      // It only rearranges: the first n still hold the same multiset.
      assert.deepEqual([...buf.subarray(0, values.length)].sort((a, b) => a - b), sorted);
    }),
    { seed },
  );
  // Every k of one fixed array with many ties.
  const values = [5, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2, 3, 8, 4];
  const sorted = [...values].sort((a, b) => a - b);
  for (let k = 0; k < values.length; k++) assert.equal(selectKth(Float64Array.from(values), values.length, k), sorted[k], `k=${k}`);
});

test('quantile follows quantile_over_time: rank q·(n − 1), linear interpolation', () => {
  fc.assert(
    fc.property(valuesArb, qArb, (values, q) => {
      const sorted = [...values].sort((a, b) => a - b);
      const got = quantile(Float64Array.from(values), values.length, q);
      const want = reference(sorted, q);
      assert.ok(Math.abs(got - want) <= 1e-9 * Math.max(1, Math.abs(want)), `q=${q}: ${got} vs ${want}`);
    }),
    { seed },
  );
  // Worked cases: [10, 20, 30, 40] p50 is rank 1.5, halfway between 20 and 30; p90 rank 2.7.
  assert.equal(quantile(Float64Array.from([40, 10, 30, 20]), 4, 0.5), 25);
  assert.equal(round15(quantile(Float64Array.from([40, 10, 30, 20]), 4, 0.9)), 37);
  assert.equal(quantile(Float64Array.from([40, 10, 30, 20]), 4, 0), 10);
  assert.equal(quantile(Float64Array.from([40, 10, 30, 20]), 4, 1), 40);
  assert.equal(quantile(Float64Array.from([7]), 1, 0.99), 7);
  assert.equal(quantile(Float64Array.from([3, 1]), 2, 0.25), 1.5);
});

test('quantileOfCounts gives the quantile of the multiset its counts describe', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.integer({ min: -20, max: 20 }), fc.integer({ min: 1, max: 5 })), { minLength: 1, maxLength: 15 }), qArb, (pairs, q) => {
      const counts = new Map<number, number>();
      for (const [value, count] of pairs) counts.set(value, (counts.get(value) ?? 0) + count);
      const expanded = [...counts].flatMap(([value, count]) => Array.from({ length: count }, () => value));
      const got = quantileOfCounts(counts, expanded.length, q);
      const want = reference([...expanded].sort((a, b) => a - b), q);
      assert.ok(Math.abs(got - want) <= 1e-9 * Math.max(1, Math.abs(want)), `q=${q}: ${got} vs ${want}`);
    }),
    { seed },
  );
  // Worked: {10×1, 20×2, 30×1} is [10, 20, 20, 30]; keys out of order in the map.
  const counts = new Map([
    [30, 1],
    [10, 1],
    [20, 2],
  ]);
  assert.equal(quantileOfCounts(counts, 4, 0.5), 20);
  assert.equal(quantileOfCounts(counts, 4, 0), 10);
  assert.equal(quantileOfCounts(counts, 4, 1), 30);
  assert.equal(round15(quantileOfCounts(counts, 4, 0.9)), 27);
  assert.equal(round15(quantileOfCounts(counts, 4, 0.25)), 17.5);
});

// ---- percentiles.ts directly: the three candidate multisets, and PercentileQuery on real chunks ----
//
// The store tests reach PercentileQuery only through whole queries, whose few series and regular
// values let a wrong index or a skipped tail go unseen. Here every order statistic of each multiset
// is checked against a sort, and the query runs twice over the same chunks (the first keeps the
// tails, the second offers them), against Prometheus' rule on all the samples, with the decodes and
// the candidates it took counted: the module's point is to read few samples, and a query that reads
// more (or fewer) than its header promises is wrong too.
//
// Planted by hand in src/ (percentiles.ts), each seen failing here (FUZZ_SEED=1), then restored with
// git checkout: `tailMin * piece.mult` → `/`; `truncatedMins[t]! <= x` → `<`; `size >= fromTop` → `>`
// in finish; `selectKth` before adding what a truncated tail hides, removed; finish's
// `Math.min(TAIL_VALUES, count)` → `max`; `keepTail` removed; begin's `<= n * TAIL_VALUES` → `<`; its
// `added = 0` and `truncated = 0` removed; `kept < count` → `<=`; `useTails && tailable` → `||`;
// tailable's `&&` → `||`; `to - from` → `to + from` in addPiece; the `added === 0` check removed; the
// yield removed; wholeCount's `max` → `min`; decodedFor's `max` → `min`; `mult === 1` → `true` in
// ArrayCandidates.add; DenseCounts.indexOf's `seen > fromTop` → `>=` and `v >= 0` → `v > 0`; the
// not-a-percentile message emptied. (`kept >= 0` → `> 0` passes: a whole chunk has a sample, so kept ≥ 1.)

/** A metric chunk that counts its decodes (the samples a query read, a series at a time). */
class CountingChunk extends MetricChunk {
  decodes = 0;

  override decode(s: number, count: number, out: Float64Array, outAt: number): void {
    this.decodes++;
    super.decode(s, count, out, outAt);
  }
}

/** A chunk of `decimals` (−1: raw doubles) holding `series` (stored units: value × 10^decimals), all of one length. */
function chunkOf(series: readonly (readonly number[])[], decimals: number): CountingChunk {
  const capacity = series[0]!.length;
  const metric = new CountingChunk('m', decimals, series.length, capacity, slotBytesFor(capacity));
  const scale = decimals < 0 ? 1 : 10 ** decimals;
  const column = new Float64Array(series.length);
  for (let index = 0; index < capacity; index++) {
    for (let s = 0; s < series.length; s++) column[s] = series[s]![index]! / scale;
    metric.appendRange(column, index, 0, series.length);
  }
  metric.summaryCount = capacity;
  return metric;
}

/** A piece of `metric` (percentiles.ts never reads `chunk`: the window code does). */
function pieceOf(metric: MetricChunk, from: number, to: number, whole: boolean, mult: number): Piece {
  return { chunk: undefined as unknown as HistoryChunk, metric, from, to, whole, mult };
}

/** What one query over (piece, row) pairs gave, and what it took. */
interface QueryRun {
  readonly value: number | null;
  readonly yields: number;
  readonly size: number;
}

/** Runs `fn` over `rows` of each piece (begin, addPiece, finish to the end), counting the finish's yields. */
function runQuery(fn: AggregateFn, pieces: readonly Piece[], rows: readonly (readonly number[])[], candidates: Candidates, perYield?: number): QueryRun {
  let n = 0;
  for (let p = 0; p < pieces.length; p++) n += (pieces[p]!.to - pieces[p]!.from) * rows[p]!.length;
  const query = new PercentileQuery(fn, candidates);
  query.begin(n, wholeCount({ pieces, commonScale: 1, exact: true }));
  for (let p = 0; p < pieces.length; p++) for (const row of rows[p]!) query.addPiece(pieces[p]!, row);
  const job = query.finish(perYield);
  let yields = 0;
  for (;;) {
    const step = job.next();
    if (step.done === true) return { value: step.value, yields, size: candidates.size };
    yields++;
  }
}

/** The samples (common units) a query over these pieces and rows sees, from the stored series. */
function samplesOf(pieces: readonly Piece[], series: readonly (readonly (readonly number[])[])[], rows: readonly (readonly number[])[]): number[] {
  const out: number[] = [];
  for (let p = 0; p < pieces.length; p++) {
    const { from, to, mult } = pieces[p]!;
    for (const row of rows[p]!) for (let i = from; i < to; i++) out.push(series[p]![row]![i]! * mult);
  }
  return out.sort((a, b) => a - b);
}

/** 0 … n−1 in a fixed scrambled order (7919 is prime: i ↦ 7919·i mod n is a permutation for n < 7919). */
function scrambled(n: number, offset: number): number[] {
  return Array.from({ length: n }, (_, i) => offset + ((i * 7919) % n));
}

/** Checks `orderStats(i)` for every i against a sort, and that asking past the end is refused. */
function checkOrderStats(candidates: Candidates, sorted: readonly number[], label: string): void {
  assert.equal(candidates.size, sorted.length, `${label}: size`);
  for (let i = 0; i < sorted.length; i++) {
    assert.deepEqual(candidates.orderStats(i), [sorted[i], sorted[Math.min(i + 1, sorted.length - 1)]], `${label}: i=${i} of ${sorted.length}`);
  }
}

/** Batches of values (each with values outside [from, to) that must not be added) and a multiplier. */
const batchesArb = fc.record({
  lo: fc.integer({ min: -30, max: 30 }),
  width: fc.integer({ min: 0, max: 40 }),
  mult: fc.constantFrom(1, 2, 3),
  batches: fc.array(fc.tuple(fc.array(fc.nat(), { minLength: 0, maxLength: 40 }), fc.nat({ max: 3 }), fc.nat({ max: 3 })), { minLength: 1, maxLength: 4 }),
});

test('PercentileQuery decodes a chunk longer than its scratch (3000 samples > the first 1024)', () => {
  // The first test in this file to decode (the scratch is the module's, kept between queries), so it needs
  // the growth; raw, so it is decoded whole, in one piece.
  const long = [scrambled(3000, 0).map((v) => v / 8)];
  const chunk = chunkOf(long, -1);
  const pieces = [pieceOf(chunk, 0, 3000, true, 1)];
  for (const fn of ['p50', 'p99'] as const) {
    assert.equal(runQuery(fn, pieces, [[0]], new ArrayCandidates()).value, reference(samplesOf(pieces, [long], [[0]]), quantileOf(fn)!), fn);
  }
});

test('DenseCounts, MapCounts and ArrayCandidates hold what was added (× mult, [from, to) only), DenseCounts also as value histograms: every order statistic as a sort gives it', () => {
  fc.assert(
    fc.property(batchesArb, ({ lo, width, mult, batches }) => {
      // Stored values v with v × mult in [lo·mult, (lo + width)·mult]: the dense range in common units.
      const dense = new DenseCounts(lo * mult, (lo + width) * mult);
      // The same batches as closed chunks' value histograms (stored units from their own lo; × mult
      // into common units, as a chunk with fewer decimals than the window's is read). Seen failing
      // with `(histogram.lo + v) / mult` planted in addHistogram, which every test with mult 1 missed.
      const fromHistograms = new DenseCounts(lo * mult, (lo + width) * mult);
      const map = new MapCounts();
      const array = new ArrayCandidates();
      const added: number[] = [];
      for (const [raw, before, after] of batches) {
        const stored = raw.map((r) => lo + (r % (width + 1)));
        // Padding inside the range (lo and lo + width), so an add that strays past [from, to) counts it visibly.
        const buf = Float64Array.from([...Array<number>(before).fill(lo + width), ...stored, ...Array<number>(after).fill(lo)]);
        for (const candidates of [dense, map, array]) candidates.add(buf, before, before + stored.length, mult);
        for (const v of stored) added.push(v * mult + 0);
        if (stored.length > 0) {
          const low = Math.min(...stored);
          const counts = new Uint32Array(Math.max(...stored) - low + 1);
          for (const v of stored) counts[v - low]! += 1;
          fromHistograms.addHistogram({ lo: low, counts }, mult);
        }
      }
      if (added.length === 0) {
        assert.equal(dense.size + map.size + array.size + fromHistograms.size, 0);
        return;
      }
      const sorted = added.sort((a, b) => a - b);
      checkOrderStats(dense, sorted, 'dense');
      checkOrderStats(fromHistograms, sorted, 'dense from histograms');
      checkOrderStats(map, sorted, 'map');
      checkOrderStats(array, sorted, 'array');
      assert.throws(() => map.orderStats(sorted.length), new RangeError(`order statistic ${sorted.length} of ${sorted.length} counted values`));
    }),
    { seed },
  );
});

test('DenseCounts at the ends of its range: all at lo, all at hi, gaps, a single value', () => {
  const cases: [number, number, number[]][] = [
    [-5, 5, [-5, -5, -5, -5, -5]], // the upper half is found walking down to index 0
    [-5, 5, [5, 5, 5, 5]], // the lower half walks up to the last index
    [0, 100, [0, 100, 0, 100, 50]],
    [7, 7, [7]],
    [-3, 10, [10, -3]],
  ];
  for (const [lo, hi, values] of cases) {
    const dense = new DenseCounts(lo, hi);
    dense.add(Float64Array.from(values), 0, values.length, 1);
    checkOrderStats(dense, [...values].sort((a, b) => a - b), `[${lo}, ${hi}] ${values.join(' ')}`);
  }
});

test('ArrayCandidates grows past its first 1024 values (at once, and keeping what it held), and clear empties it', () => {
  const big = Float64Array.from(scrambled(3000, -1500));
  const array = new ArrayCandidates();
  array.add(big, 0, 3000, 1); // more than twice the 1024 it starts with, in one add
  checkOrderStats(array, [...big].sort((a, b) => a - b), 'one add of 3000');
  const grown = new ArrayCandidates();
  grown.add(big, 0, 1000, 2);
  grown.add(big, 1000, 2500, 2); // 2500 > 2 × 1024: the 1000 held must move to the new array
  checkOrderStats(grown, [...big.subarray(0, 2500)].map((v) => v * 2).sort((a, b) => a - b), 'two adds, × 2');
  grown.clear();
  assert.equal(grown.size, 0);
  grown.add(Float64Array.from([3, 1, 2]), 1, 3, 1);
  checkOrderStats(grown, [1, 2], 'after clear');
});

test('rankOf and interpolate: rank q·(n − 1), both order statistics among the fromTop largest', () => {
  for (let n = 1; n <= 40; n++) {
    for (const q of [0, 0.25, 0.5, 0.9, 0.95, 0.99, 1]) {
      const rank = rankOf(n, q);
      const exact = q * (n - 1);
      assert.deepEqual(rank, { n, lower: Math.floor(exact), upper: Math.min(n - 1, Math.floor(exact) + 1), weight: exact - Math.floor(exact), fromTop: n - Math.floor(exact) }, `n=${n} q=${q}`);
    }
  }
  assert.equal(interpolate(rankOf(2, 0.5), 10, 20), 15);
  assert.equal(interpolate(rankOf(5, 0.9), 10, 20), 16); // rank 3.6: 10 × 0.4 + 20 × 0.6
  assert.equal(interpolate(rankOf(5, 0.5), 10, 20), 10); // rank 2: the lower one
  assert.equal(interpolate(rankOf(5, 1), 20, 20), 20);
});

test('wholeCount: the largest closed, packed chunk covered whole (raw and cut pieces do not count)', () => {
  const packed = chunkOf([scrambled(100, 0)], 0);
  const small = chunkOf([scrambled(40, 0)], 0);
  const raw = chunkOf([scrambled(500, 0)], -1);
  const cut = chunkOf([scrambled(300, 0)], 0);
  const window = (pieces: Piece[]): number => wholeCount({ pieces, commonScale: 1, exact: false });
  assert.equal(window([pieceOf(small, 0, 40, true, 1), pieceOf(raw, 0, 500, true, 1), pieceOf(packed, 0, 100, true, 1), pieceOf(cut, 5, 300, false, 1)]), 100);
  assert.equal(window([pieceOf(raw, 0, 500, true, 1), pieceOf(cut, 0, 300, false, 1)]), 0);
  assert.equal(window([]), 0);
});

test('PercentileQuery: p90 of ten series decodes again only the series whose truncated tail may hide a value that matters', () => {
  // Row 0 is hot (1000 … 1099), rows 1-9 cold (0 … 99 or 1 … 100); a small chunk of 20 hotter samples besides.
  // n = 1020, fromTop = 1020 − ⌊0.9 × 1019⌋ = 103 > TAIL_VALUES, and 103 × 100 ≤ 1020 × 32: tails are offered.
  const series = [scrambled(100, 1000), ...Array.from({ length: 9 }, (_, r) => scrambled(100, r % 2))];
  const hotter = [scrambled(20, 2000)];
  for (const [decimals, mult] of [
    [0, 1],
    [1, 10], // the small chunk in another unit: its stored units × 10 are common units
  ] as const) {
    const big = chunkOf(series, 0);
    const small = chunkOf(hotter, decimals);
    const pieces = [pieceOf(big, 0, 100, true, 1), pieceOf(small, 0, 20, true, mult)];
    const rows = [series.map((_, r) => r), [0]];
    const sorted = samplesOf(pieces, [series, hotter], rows);
    const want = reference(sorted, 0.9);
    // First query: no tail is kept yet; every series is decoded whole, all 1020 are candidates, and the tails are kept.
    const first = runQuery('p90', pieces, rows, new ArrayCandidates());
    assert.deepEqual([first.value, first.size, big.decodes, small.decodes], [want, 1020, 10, 1]);
    // Second: 10 × 32 tails + the 20; x = the 103rd largest = 94 (the 20, the hot 32, then 51 of the cold
    // tails 68 … 99 and 69 … 100). Only the hot row's tail (smallest 1068 > 94) may hide one of the 103:
    // it alone is decoded, its 68 others added; the cold tails (smallest 68 or 69) and the untruncated 20 are not.
    big.decodes = small.decodes = 0;
    const second = runQuery('p90', pieces, rows, new ArrayCandidates(), 1);
    assert.deepEqual([second.value, second.size, big.decodes, small.decodes, second.yields], [want, 340 + 68, 1, 0, 1]);
    // The same with the default yield interval (one decode: no yield), and counted in a map and densely.
    assert.deepEqual(runQuery('p90', pieces, rows, new MapCounts()), { value: want, yields: 0, size: 408 });
    assert.deepEqual(runQuery('p90', pieces, rows, new DenseCounts(0, 2019 * mult)), { value: want, yields: 0, size: 408 });
    // p99: fromTop = 1020 − ⌊0.99 × 1019⌋ = 12 ≤ TAIL_VALUES: no tail can matter, nothing decoded.
    big.decodes = small.decodes = 0;
    const p99 = runQuery('p99', pieces, rows, new ArrayCandidates());
    assert.deepEqual([p99.value, p99.size, big.decodes, small.decodes], [reference(sorted, 0.99), 340, 0, 0]);
  }
});

test('PercentileQuery: a truncated tail in other units is compared with x in common units', () => {
  // The hot series is stored in whole units (× 10 to the common tenths), the cold ones in tenths (× 1).
  const hot = [scrambled(100, 100)]; // 100 … 199 stored = 1000 … 1990 common
  const cold = Array.from({ length: 9 }, () => scrambled(100, 0)); // 0 … 99 tenths
  const hotChunk = chunkOf(hot, 0);
  const coldChunk = chunkOf(cold, 1);
  const pieces = [pieceOf(coldChunk, 0, 100, true, 1), pieceOf(hotChunk, 0, 100, true, 10)];
  const rows = [cold.map((_, r) => r), [0]];
  const want = reference(samplesOf(pieces, [cold, hot], rows), 0.9);
  assert.equal(runQuery('p90', pieces, rows, new ArrayCandidates()).value, want);
  hotChunk.decodes = coldChunk.decodes = 0;
  // Hot tail's smallest: 168 stored = 1680 common > x = 92 (÷ 10 it would be 16.8, below x, and skipped).
  const second = runQuery('p90', pieces, rows, new ArrayCandidates());
  assert.deepEqual([second.value, hotChunk.decodes, coldChunk.decodes], [want, 1, 0]);
});

test('PercentileQuery at the edge of offering tails: fromTop × wholeCount = n × TAIL_VALUES', () => {
  // One series of 62: p50 has fromTop 32, 32 × 62 = 62 × 32: the tail (32 values) is offered and is enough.
  const one = [scrambled(62, 0)];
  const chunk = chunkOf(one, 0);
  const piece = [pieceOf(chunk, 0, 62, true, 1)];
  const want = reference(samplesOf(piece, [one], [[0]]), 0.5);
  assert.deepEqual(runQuery('p50', piece, [[0]], new ArrayCandidates()), { value: want, yields: 0, size: 62 });
  chunk.decodes = 0;
  assert.deepEqual(runQuery('p50', piece, [[0]], new ArrayCandidates()), { value: want, yields: 0, size: 32 });
  assert.equal(chunk.decodes, 0);
  // Two series of 63: p50 of 126 has fromTop 64 (64 × 63 = 126 × 32) > TAIL_VALUES: the truncated pass runs.
  // x = the 64th largest of the tails 31 … 62 and 131 … 162 = 31: the second series' tail (smallest 131)
  // is decoded for its 31 others, the first's (smallest 31, not above x) is not.
  const two = [scrambled(63, 0), scrambled(63, 100)];
  const pair = chunkOf(two, 0);
  const pieces = [pieceOf(pair, 0, 63, true, 1)];
  const want2 = reference(samplesOf(pieces, [two], [[0, 1]]), 0.5);
  assert.equal(want2, 81);
  assert.deepEqual(runQuery('p50', pieces, [[0, 1]], new ArrayCandidates()), { value: want2, yields: 0, size: 126 });
  pair.decodes = 0;
  assert.deepEqual(runQuery('p50', pieces, [[0, 1]], new ArrayCandidates()), { value: want2, yields: 0, size: 64 + 31 });
  assert.equal(pair.decodes, 1);
  // One series of 100: p50 has fromTop 51, 51 × 100 > 100 × 32: no tail is offered, the series is decoded.
  const wide = [scrambled(100, 0)];
  const wideChunk = chunkOf(wide, 0);
  const widePiece = [pieceOf(wideChunk, 0, 100, true, 1)];
  runQuery('p50', widePiece, [[0]], new ArrayCandidates());
  wideChunk.decodes = 0;
  assert.deepEqual(runQuery('p50', widePiece, [[0]], new ArrayCandidates()), { value: reference(samplesOf(widePiece, [wide], [[0]]), 0.5), yields: 0, size: 100 });
  assert.equal(wideChunk.decodes, 1);
});

test('PercentileQuery without samples is null; cut and raw pieces are decoded, never offered as tails', () => {
  const query = new PercentileQuery('p99', new ArrayCandidates());
  query.begin(0, 0);
  assert.equal(runNow(query.finish()), null);
  // A piece with no samples (from = to) adds none.
  const chunk = chunkOf([scrambled(100, 0)], 0);
  assert.equal(runQuery('p99', [pieceOf(chunk, 40, 40, false, 1)], [[0]], new ArrayCandidates()).value, null);
  assert.throws(() => new PercentileQuery('max', new ArrayCandidates()), RangeError);
  // Cut pieces of a packed chunk (a window's edge) and a raw chunk with fractions, beside a whole packed one:
  // only the whole packed chunk may keep and offer a tail; the others are decoded each time.
  const whole = [scrambled(100, 0)];
  const cut = [scrambled(100, 500)];
  const raw = [scrambled(100, 0).map((v) => v + 0.5)];
  const wholeChunk = chunkOf(whole, 0);
  const cutChunk = chunkOf(cut, 0);
  const rawChunk = chunkOf(raw, -1);
  const pieces = [pieceOf(cutChunk, 30, 100, false, 1), pieceOf(wholeChunk, 0, 100, true, 1), pieceOf(rawChunk, 0, 100, true, 1)];
  const rows = [[0], [0], [0]];
  const sorted = samplesOf(pieces, [cut, whole, raw], rows);
  for (let run = 0; run < 3; run++) {
    wholeChunk.decodes = cutChunk.decodes = rawChunk.decodes = 0;
    const got = runQuery('p99', pieces, rows, new ArrayCandidates());
    assert.equal(got.value, reference(sorted, 0.99), `run ${run}`);
    assert.deepEqual([got.size, cutChunk.decodes, wholeChunk.decodes, rawChunk.decodes], [70 + (run === 0 ? 100 : 32) + 100, 1, run === 0 ? 1 : 0, 1], `run ${run}`);
  }
});

/** Series for a query: chunks of rows at a few levels (so some rows are hot), some pieces cut, some raw. */
const queryArb = fc.record({
  fn: fc.constantFrom('p50', 'p90', 'p95', 'p99'),
  chunks: fc.array(
    fc.record({
      rows: fc.integer({ min: 1, max: 5 }),
      count: fc.integer({ min: 1, max: 120 }),
      kind: fc.constantFrom('whole', 'whole', 'whole', 'cut', 'open', 'raw', 'tenths'),
      levels: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 5, maxLength: 5 }),
      spread: fc.integer({ min: 1, max: 300 }),
      cutAt: fc.nat(),
      salt: fc.nat({ max: 1000 }),
    }),
    { minLength: 1, maxLength: 4 },
  ),
});

test('PercentileQuery equals quantile_over_time over all samples, with and without kept tails, in each candidate multiset', () => {
  fc.assert(
    fc.property(queryArb, ({ fn, chunks }) => {
      const pieces: Piece[] = [];
      const series: number[][][] = [];
      const rows: number[][] = [];
      for (const c of chunks) {
        // Stored integers, scrambled by a salt; a raw chunk holds fractions; tenths are × 1 against whole units × 10.
        const data = Array.from({ length: c.rows }, (_, r) => Array.from({ length: c.count }, (_, i) => c.levels[r]! * 1000 + ((i * 7919 + c.salt * (r + 1)) % c.spread)));
        const decimals = c.kind === 'raw' ? -1 : c.kind === 'tenths' ? 1 : 0;
        const stored = c.kind === 'raw' ? data.map((row) => row.map((v) => v / 4)) : data;
        const metric = chunkOf(stored, decimals);
        const from = c.kind === 'cut' ? c.cutAt % c.count : 0;
        const to = c.kind === 'open' ? 1 + (c.cutAt % c.count) : c.count;
        pieces.push(pieceOf(metric, from, to, c.kind !== 'cut' && c.kind !== 'open', c.kind === 'tenths' || c.kind === 'raw' ? 1 : 10));
        series.push(stored);
        rows.push(stored.map((_, r) => r));
      }
      const sorted = samplesOf(pieces, series, rows);
      const want = reference(sorted, quantileOf(fn)!);
      const integral = chunks.every((c) => c.kind !== 'raw');
      for (let run = 0; run < 2; run++) {
        const all: Candidates[] = [new ArrayCandidates(), new MapCounts()];
        if (integral) all.push(new DenseCounts(sorted[0]!, sorted[sorted.length - 1]!));
        for (const candidates of all) {
          const got = runQuery(fn, pieces, rows, candidates, 1);
          assert.equal(got.value, want, `${fn} run ${run} ${candidates.constructor.name}`);
          assert.ok(got.size <= sorted.length, 'never more candidates than samples');
        }
      }
    }),
    { seed },
  );
});

test('PercentileQuery reused as Top reuses it (clear, begin per switch): nothing of the last switch carries over', () => {
  assert.throws(() => new PercentileQuery('max', new ArrayCandidates()), new RangeError('max is not a percentile'));
  // Switch A: the p90 case above (a truncated hot tail decoded in finish); then switch B, cold only; then C, no samples.
  const series = [scrambled(100, 1000), ...Array.from({ length: 9 }, () => scrambled(100, 0))];
  const big = chunkOf(series, 0);
  const pieces = [pieceOf(big, 0, 100, true, 1)];
  const candidates = new ArrayCandidates();
  const query = new PercentileQuery('p90', candidates);
  const run = (rows: readonly number[]): number | null => {
    candidates.clear();
    query.begin(rows.length * 100, wholeCount({ pieces, commonScale: 1, exact: true }));
    for (const row of rows) query.addPiece(pieces[0]!, row);
    return runNow(query.finish());
  };
  const all = series.map((_, r) => r);
  for (let round = 0; round < 2; round++) {
    assert.equal(run(all), reference(samplesOf(pieces, [series], [all]), 0.9), `round ${round}, all`);
    big.decodes = 0;
    // B: four cold series, p90 of 400 (fromTop 41: the truncated pass runs, x = 89, no cold tail above it);
    // A's truncated hot tail, had it been left in the list, would be decoded and its samples added.
    assert.equal(run([1, 2, 3, 4]), reference(samplesOf(pieces, [series], [[1, 2, 3, 4]]), 0.9), `round ${round}, cold`);
    assert.equal(big.decodes, 0);
    assert.equal(run([]), null, `round ${round}, none`);
  }
});

