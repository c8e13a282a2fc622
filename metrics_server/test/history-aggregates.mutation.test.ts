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
import { AGGREGATE_FNS, isAggregateFn, quantileOf, round15, selectKth, summaryAnswers } from '../src/history/aggregate-fns.js';
import { ArrayCandidates, MapCounts, interpolate, rankOf, type Candidates } from '../src/history/percentiles.js';

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
