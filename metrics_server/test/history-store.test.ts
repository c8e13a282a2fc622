/**
 * The history store and its queries (metrics_server/src/history/) against the brute-force reference
 * (reference/history.ts) on random histories: random values of each number kind (integers, one and two
 * decimals, exponent notation kept as raw doubles), random gaps and repeated timestamps, fabrics that
 * change mid-way, chunks of 2 to 6 samples so that chunks fill, close and fall out of retention
 * (the ring wraps) many times per history. Every value comes back as the same JSON text it went in as.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { AGGREGATE_FNS, type AggregateFn } from '../src/history/aggregate-fns.js';
import { HistoryStore } from '../src/history/history-store.js';
import { BLOCK_SAMPLES, TAIL_VALUES } from '../src/history/metric-chunk.js';
import { aggregateJob, seriesBuckets, seriesSamples, topJob, type QueryOptions } from '../src/history/queries.js';
import { answerJob, type GetHistoryQuery } from '../src/history/answers.js';
import { runNow, runSliced } from '../src/history/slices.js';
import { bitLength, decodeSeries, riceK, riceN, nextA, writeDelta, writeFirst, zigzag, RICE_INITIAL_A } from '../src/history/series-codec.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { contentFromCsv } from './helpers.js';
import { ReferenceHistory, type RefSnapshot } from './reference/history.js';

const IDS = ['sw1', 'sw2', 'sw3', 'sw4', 'sw5'];
/** One metric per number kind: `latency_ms` is a contract metric (2 decimals), the rest are not. */
const METRICS = ['ints', 'latency_ms', 'd1', 'sci'] as const;

function valueText(metric: (typeof METRICS)[number], n: number): string {
  switch (metric) {
    case 'ints':
      return String(n);
    case 'latency_ms':
      return String(Math.abs(n) / 100);
    case 'd1':
      return String(n / 10);
    case 'sci':
      return `${n}e-3`;
  }
}

interface Step {
  readonly gap: number;
  readonly ids: readonly string[];
  readonly values: readonly (readonly number[])[];
}

/** Integers that are mostly small steps, sometimes repeated, sometimes wild (a link going down). */
const valueArb = fc.oneof({ weight: 3, arbitrary: fc.integer({ min: -50, max: 50 }) }, { weight: 2, arbitrary: fc.constant(7) }, { weight: 1, arbitrary: fc.integer({ min: -2_000_000_000, max: 2_000_000_000 }) });

const stepArb: fc.Arbitrary<Step> = fc
  .tuple(fc.constantFrom(0, 1, 5, 5, 5, 5, 30), fc.oneof({ weight: 6, arbitrary: fc.constant(IDS.slice(0, 4)) }, { weight: 1, arbitrary: fc.shuffledSubarray(IDS, { minLength: 1 }) }))
  .chain(([gap, ids]) => fc.record({ gap: fc.constant(gap), ids: fc.constant(ids), values: fc.array(fc.array(valueArb, { minLength: METRICS.length, maxLength: METRICS.length }), { minLength: ids.length, maxLength: ids.length }) }));

const historyArb = fc.record({
  steps: fc.array(stepArb, { minLength: 1, maxLength: 40 }),
  chunkSamples: fc.integer({ min: 2, max: 6 }),
  retention: fc.integer({ min: 10, max: 200 }),
});

/** Builds the real history (through a MemoryStore, as the server does) and the reference. */
function build(h: { steps: readonly Step[]; chunkSamples: number; retention: number }): { history: HistoryStore; ref: ReferenceHistory; times: number[] } {
  const store = new MemoryStore();
  const ref = new ReferenceHistory(h.retention);
  let t = 1_766_500_000;
  const times: number[] = [];
  const followed = new HistoryStore({ retentionSeconds: h.retention, maxMemoryBytes: 2 ** 40, chunkSamples: h.chunkSamples });
  for (const step of h.steps) {
    t += step.gap;
    times.push(t);
    const lines = [`switch_id,${METRICS.join(',')}`, ...step.ids.map((id, r) => `${id},${METRICS.map((m, j) => valueText(m, step.values[r]![j]!)).join(',')}`)];
    const snapshot = store.publishNow(contentFromCsv(`${lines.join('\n')}\n`, t * 1000));
    followed.appendNow(snapshot);
    const values = new Map<string, number[]>(METRICS.map((m, j) => [m, step.ids.map((_, r) => Number(valueText(m, step.values[r]![j]!)))]));
    ref.append({ timestamp: t, ids: step.ids, values } satisfies RefSnapshot);
  }
  return { history: followed, ref, times };
}

/** A window edge: exactly on a sample, one second either side, or far out. */
const edgeArb = fc.tuple(fc.nat(), fc.constantFrom(-1, 0, 0, 1, -1000, 1000));
function edge(times: readonly number[], [i, d]: [number, number]): number {
  return times[i % times.length]! + d;
}

test('series codec: every sequence of scaled integers decodes to itself', () => {
  fc.assert(
    fc.property(fc.array(fc.oneof(fc.integer({ min: -100, max: 100 }), fc.integer({ min: -(2 ** 50), max: 2 ** 50 }), fc.constant(0)), { minLength: 1, maxLength: 300 }), (values) => {
      const buf = new Uint8Array(values.length * 10 + 16);
      let pos = writeFirst(buf, 3, values[0]!);
      let a = RICE_INITIAL_A;
      for (let i = 1; i < values.length; i++) {
        const zz = zigzag(values[i]! - values[i - 1]!);
        pos = writeDelta(buf, pos, zz, riceK(a, riceN(i)));
        a = nextA(a, zz, i);
      }
      const out = new Float64Array(values.length);
      assert.equal(decodeSeries(buf, 3, values.length, out, 0), pos);
      assert.deepEqual([...out], values);
    }),
  );
  assert.equal(bitLength(0), 0);
  assert.equal(bitLength(2 ** 52), 53);
});

test('an unchanged series costs one bit a sample once its Rice parameter has settled', () => {
  const buf = new Uint8Array(1024);
  let pos = writeFirst(buf, 0, 1);
  const afterFirst = pos;
  let a = RICE_INITIAL_A;
  for (let i = 1; i <= 720; i++) {
    pos = writeDelta(buf, pos, 0, riceK(a, riceN(i)));
    a = nextA(a, 0, i);
  }
  // A few bits while k falls from 2 to 0, then 1 bit per sample.
  assert.ok(pos - afterFirst <= 720 + 8, `${pos - afterFirst} bits for 720 unchanged samples`);
});

test('GetHistory samples: exactly the reference, the same JSON text, across gaps, fabric changes and wrap-around', () => {
  fc.assert(
    fc.property(historyArb, edgeArb, edgeArb, (h, a, b) => {
      const { history, ref, times } = build(h);
      const [since, until] = [edge(times, a), edge(times, b)].sort((x, y) => x - y) as [number, number];
      for (const id of IDS) {
        for (const metric of METRICS) {
          const got = seriesSamples(history.view(), id, metric, since, until);
          const want = ref.samples(id, metric, since, until);
          assert.deepEqual(got, want, `${id} ${metric} [${since}, ${until}]`);
          assert.deepEqual(got.map((x) => String(x.value)), want.map((x) => String(x.value)));
          // The answer's body, written digit by digit, is the text String gives for every sample.
          const query: GetHistoryQuery = { kind: 'getHistory', switch: id, metric, since, until, step: null, maxPoints: 100_000, suggestedStep: '1m', tooManyBuckets: null, known: { switch: true, metric: true } };
          const answer = runNow(answerJob(history, query));
          const text = `{"switch":"${id}","metric":"${metric}","since":${since},"until":${until},"step":null,"samples":[${want.map((x) => `{"timestamp":${x.timestamp},"value":${String(x.value)}}`).join(',')}]}`;
          assert.equal(answer.ok && answer.body, text);
        }
      }
      const stats = history.stats();
      assert.equal(stats.snapshots, ref.snapshots.length);
      assert.equal(stats.samples, ref.snapshots.reduce((n, s) => n + s.ids.length * METRICS.length, 0));
      assert.equal(stats.oldest, ref.snapshots[0]?.timestamp ?? null);
    }),
    { numRuns: 150 },
  );
});

function close(got: number | null, want: number | null, exact: boolean, what: string): void {
  if (exact || got === null || want === null) assert.equal(got, want, what);
  else assert.ok(Math.abs(got - want) <= 1e-9 * Math.max(1, Math.abs(want)), `${what}: ${got} vs ${want}`);
}

/**
 * The ways a fabric percentile counts: by value with every closed chunk covered whole read from its
 * value histogram (made on the first query, read on the next), by value decoding every sample, and
 * in a map (a counting range of 0 fits nothing).
 */
const COUNTING_OPTIONS: readonly QueryOptions[] = [
  { maxCountingRange: 2 ** 22, histograms: 'always' },
  { maxCountingRange: 2 ** 22, histograms: 'never' },
  { maxCountingRange: 0 },
];

test('Aggregate: every fn over one switch and over the fabric equals the reference, window edges included', () => {
  fc.assert(
    fc.property(historyArb, edgeArb, edgeArb, fc.constantFrom(...AGGREGATE_FNS), fc.constantFrom(...METRICS), fc.option(fc.constantFrom(...IDS)), (h, a, b, fn, metric, id) => {
      const { history, ref, times } = build(h);
      const [since, until] = [edge(times, a), edge(times, b)].sort((x, y) => x - y) as [number, number];
      const exact = metric !== 'sci';
      for (const options of COUNTING_OPTIONS) {
        const got = runNow(aggregateJob(history.view(), metric, fn, since, until, id ?? undefined, options));
        const series = id === null ? ref.switchOrder(metric, since, until).map((s) => ref.samples(s, metric, since, until)) : [ref.samples(id, metric, since, until)];
        const want = ReferenceHistory.apply(fn, series);
        assert.equal(got.samples, series.flat().length);
        close(got.value, want, exact, `${fn} ${metric} ${id ?? 'fabric'} [${since}, ${until}] ${JSON.stringify(options)}`);
      }
    }),
    { numRuns: 300 },
  );
});

test('Top: ranking, order and ties as the reference; switches without samples left out', () => {
  fc.assert(
    fc.property(historyArb, edgeArb, edgeArb, fc.constantFrom<AggregateFn>(...AGGREGATE_FNS), fc.constantFrom(...METRICS), fc.integer({ min: 1, max: 6 }), fc.constantFrom<'asc' | 'desc'>('asc', 'desc'), (h, a, b, fn, metric, k, order) => {
      const { history, ref, times } = build(h);
      const [since, until] = [edge(times, a), edge(times, b)].sort((x, y) => x - y) as [number, number];
      const got = runNow(topJob(history.view(), metric, fn, since, until, k, order));
      const ranked = ref
        .switchOrder(metric, since, until)
        .map((id, i) => ({ id, i, value: ReferenceHistory.apply(fn, [ref.samples(id, metric, since, until)]) }))
        .filter((x): x is { id: string; i: number; value: number } => x.value !== null)
        .sort((x, y) => (x.value === y.value ? x.i - y.i : order === 'desc' ? y.value - x.value : x.value - y.value))
        .slice(0, k);
      assert.deepEqual(got.map((x) => x.switch), ranked.map((x) => x.id), `${fn} ${metric} ${order} k=${k}`);
      got.forEach((x, i) => close(x.value, ranked[i]!.value, metric !== 'sci', `${fn} ${metric} ${x.switch}`));
    }),
    { numRuns: 300 },
  );
});

/**
 * Histories whose chunks are longer than a tail (TAIL_VALUES), with many ties and rare spikes, so that
 * percentiles read truncated tails, and tails that hide values that matter are decoded.
 */
const tiedValueArb = fc.oneof({ weight: 5, arbitrary: fc.integer({ min: 0, max: 6 }) }, { weight: 2, arbitrary: fc.integer({ min: -40, max: 40 }) }, { weight: 1, arbitrary: fc.integer({ min: -2_000_000_000, max: 2_000_000_000 }) });
const longStepArb: fc.Arbitrary<Step> = fc
  .tuple(fc.constantFrom(1, 5, 5, 5, 5, 5, 30), fc.oneof({ weight: 80, arbitrary: fc.constant(IDS.slice(0, 4)) }, { weight: 1, arbitrary: fc.shuffledSubarray(IDS, { minLength: 1 }) }))
  .chain(([gap, ids]) => fc.record({ gap: fc.constant(gap), ids: fc.constant(ids), values: fc.array(fc.array(tiedValueArb, { minLength: METRICS.length, maxLength: METRICS.length }), { minLength: ids.length, maxLength: ids.length }) }));
const longHistoryArb = fc
  .record({
    steps: fc.array(longStepArb, { minLength: 2 * TAIL_VALUES, maxLength: 6 * TAIL_VALUES }),
    chunkSamples: fc.integer({ min: TAIL_VALUES + 1, max: TAIL_VALUES + 12 }),
    retention: fc.integer({ min: 600, max: 4000 }),
    // A trend makes later chunks hold most of the large values: their tails then hide values that matter.
    slope: fc.constantFrom(0, 3, -3, 10),
  })
  .map(({ slope, ...h }) => ({ ...h, steps: h.steps.map((step, i) => ({ ...step, values: step.values.map((row) => row.map((v) => v + slope * i)) })) }));
const PERCENTILES = AGGREGATE_FNS.filter((fn) => fn.startsWith('p'));

test('percentiles from chunk tails: Top and Aggregate equal the reference, asked cold (tails made) and again (tails read)', () => {
  fc.assert(
    fc.property(longHistoryArb, edgeArb, edgeArb, fc.constantFrom(...PERCENTILES), fc.constantFrom(...METRICS), fc.option(fc.constantFrom(...IDS)), fc.constantFrom<'asc' | 'desc'>('asc', 'desc'), (h, a, b, fn, metric, id, order) => {
      const { history, ref, times } = build(h);
      const windows: [number, number][] = [[edge(times, a), edge(times, b)].sort((x, y) => x - y) as [number, number], [times[0]! - 1, times[times.length - 1]!]];
      const exact = metric !== 'sci';
      for (const [since, until] of windows) {
        const order0 = ref.switchOrder(metric, since, until);
        const ranked = order0
          .map((sw, i) => ({ sw, i, value: ReferenceHistory.apply(fn, [ref.samples(sw, metric, since, until)]) }))
          .filter((x): x is { sw: string; i: number; value: number } => x.value !== null)
          .sort((x, y) => (x.value === y.value ? x.i - y.i : order === 'desc' ? y.value - x.value : x.value - y.value));
        const series = id === null ? order0.map((sw) => ref.samples(sw, metric, since, until)) : [ref.samples(id, metric, since, until)];
        const want = ReferenceHistory.apply(fn, series);
        for (const pass of ['cold', 'warm']) {
          const top = runNow(topJob(history.view(), metric, fn, since, until, IDS.length, order));
          assert.deepEqual(top.map((x) => x.switch), ranked.map((x) => x.sw), `Top ${fn} ${metric} ${order} [${since}, ${until}] ${pass}`);
          top.forEach((x, i) => close(x.value, ranked[i]!.value, exact, `Top ${fn} ${metric} ${x.switch} ${pass}`));
          for (const options of COUNTING_OPTIONS) {
            const got = runNow(aggregateJob(history.view(), metric, fn, since, until, id ?? undefined, options));
            assert.equal(got.samples, series.flat().length);
            close(got.value, want, exact, `Aggregate ${fn} ${metric} ${id ?? 'fabric'} [${since}, ${until}] ${pass} ${JSON.stringify(options)}`);
          }
        }
      }
    }),
    { numRuns: 120 },
  );
});

/** Histories whose values span a narrow range (no wild values), so a fabric percentile counts by value. */
const narrowValueArb = fc.oneof({ weight: 5, arbitrary: fc.integer({ min: 0, max: 6 }) }, { weight: 3, arbitrary: fc.integer({ min: -40, max: 40 }) }, { weight: 1, arbitrary: fc.integer({ min: -5000, max: 5000 }) });
const narrowStepArb: fc.Arbitrary<Step> = fc
  .tuple(fc.constantFrom(0, 1, 5, 5, 5, 30), fc.oneof({ weight: 12, arbitrary: fc.constant(IDS.slice(0, 4)) }, { weight: 1, arbitrary: fc.shuffledSubarray(IDS, { minLength: 1 }) }))
  .chain(([gap, ids]) => fc.record({ gap: fc.constant(gap), ids: fc.constant(ids), values: fc.array(fc.array(narrowValueArb, { minLength: METRICS.length, maxLength: METRICS.length }), { minLength: ids.length, maxLength: ids.length }) }));
const narrowHistoryArb = fc.record({
  steps: fc.array(narrowStepArb, { minLength: 4, maxLength: 60 }),
  chunkSamples: fc.integer({ min: 2, max: 40 }),
  retention: fc.integer({ min: 30, max: 2000 }),
});

test('fabric percentiles from value histograms equal the reference: made on the first query, read on the next, beside cut and open chunks decoded', () => {
  let made = 0;
  fc.assert(
    fc.property(narrowHistoryArb, edgeArb, edgeArb, fc.constantFrom(...PERCENTILES), fc.constantFrom('ints', 'latency_ms', 'd1'), (h, a, b, fn, metric) => {
      const { history, ref, times } = build(h);
      const windows: [number, number][] = [[edge(times, a), edge(times, b)].sort((x, y) => x - y) as [number, number], [times[0]! - 1, times[times.length - 1]!]];
      for (const [since, until] of windows) {
        const want = ReferenceHistory.apply(fn, ref.switchOrder(metric, since, until).map((s) => ref.samples(s, metric, since, until)));
        for (const pass of ['cold', 'warm', 'decoded']) {
          const got = runNow(aggregateJob(history.view(), metric, fn, since, until, undefined, { histograms: pass === 'decoded' ? 'never' : 'always' }));
          close(got.value, want, true, `${fn} ${metric} [${since}, ${until}] ${pass}`);
        }
      }
      made += history.view().filter((c) => c.metric(metric)?.valueHistogram !== undefined).length;
    }),
    { numRuns: 200 },
  );
  assert.ok(made > 100, `histograms were made and read (${made})`);
});

test('a value histogram is made only for a packed chunk of scaled integers within its size share, counted in bytes, and freed with the tails', () => {
  const build1 = (values: (i: number, r: number) => number): HistoryStore => {
    const store = new MemoryStore();
    const history = new HistoryStore({ retentionSeconds: 10_000, maxMemoryBytes: 2 ** 40, chunkSamples: 50 });
    for (let i = 0; i < 75; i++) {
      const lines = ['switch_id,ints', ...IDS.map((id, r) => `${id},${values(i, r)}`)];
      history.appendNow(store.publishNow(contentFromCsv(`${lines.join('\n')}\n`, (1_766_500_000 + 5 * i) * 1000)));
    }
    return history;
  };
  const narrow = build1((i, r) => (i * 7 + r) % 100);
  const [closed, open] = narrow.view().map((c) => c.metric('ints')!);
  assert.deepEqual(closed!.histogramRange('auto', 2 ** 22), { lo: 0, hi: 99 });
  assert.equal(open!.histogramRange('always', 2 ** 22), undefined, 'the open chunk is not packed: none');
  assert.equal(closed!.histogramRange('never', 2 ** 22), undefined);
  assert.equal(closed!.histogramRange('always', 99), undefined, 'a range wider than the counting range: none');
  // Wide values: the counts would outweigh the chunk's samples (4 bytes a value over 2^20 values), unless told to.
  const wide = build1((i, r) => (r === 0 && i === 3 ? 1_000_000 : i + r)).view()[0]!.metric('ints')!;
  assert.equal(wide.histogramRange('auto', 2 ** 22), undefined);
  assert.deepEqual(wide.histogramRange('always', 2 ** 22), { lo: 0, hi: 1_000_000 });
  const before = narrow.stats().bytes;
  const view = narrow.view();
  const since = view[0]!.timestamps[0]!;
  const until = view[1]!.timestamps[view[1]!.count - 1]!;
  const p50 = runNow(aggregateJob(view, 'ints', 'p50', since, until));
  const counts = closed!.valueHistogram!;
  assert.equal(counts.lo, 0);
  assert.equal(counts.counts.reduce((x, y) => x + y, 0), 50 * IDS.length, 'every sample of the closed chunk, counted once');
  assert.equal(narrow.stats().bytes, before + 100 * 4);
  assert.deepEqual(runNow(aggregateJob(view, 'ints', 'p50', since, until, undefined, { histograms: 'never' })), p50);
  narrow.view()[0]!.dropTails();
  assert.equal(closed!.valueHistogram, undefined);
  assert.equal(closed!.histogramRange('always', 2 ** 22), undefined, 'none made again once freed for memory');
  assert.equal(narrow.stats().bytes, before);
});

test('a chunk tail holds the largest samples of its series, however wide their spread', () => {
  const store = new MemoryStore();
  const history = new HistoryStore({ retentionSeconds: 10_000, maxMemoryBytes: 2 ** 40, chunkSamples: 40 });
  // sw1 spreads little (16-bit offsets), sw2 needs 32 bits, sw3 more than 32: the tails widen as needed.
  const value = (row: number, i: number): number => (row === 0 ? (i * 37) % 50 : row === 1 ? ((i * 7919) % 41) * 1_000_000 : ((i * 31) % 43) * 2 ** 40);
  for (let i = 0; i < 80; i++) {
    const csv = `switch_id,ints\n${[0, 1, 2].map((r) => `sw${r + 1},${value(r, i)}`).join('\n')}\n`;
    history.appendNow(store.publishNow(contentFromCsv(csv, (1_766_500_000 + i) * 1000)));
  }
  const chunk = history.view()[0]!;
  assert.ok(chunk.closed);
  const metric = chunk.metric('ints')!;
  const out = new Float64Array(TAIL_VALUES);
  for (const row of [0, 1, 2]) {
    assert.equal(metric.tailInto(row, chunk.count, out, 0), -1, 'no tail before it is needed');
    const all = new Float64Array(chunk.count);
    metric.decode(row, chunk.count, all, 0);
    metric.keepTail(row, all, chunk.count);
  }
  for (const row of [0, 1, 2]) {
    const all = Array.from({ length: chunk.count }, (_, i) => value(row, i));
    const want = all.sort((x, y) => y - x).slice(0, TAIL_VALUES);
    assert.equal(metric.tailInto(row, chunk.count, out, 0), TAIL_VALUES);
    assert.deepEqual([...out].sort((x, y) => y - x), want, `row ${row}`);
    assert.equal(metric.tailMin, want[want.length - 1]);
  }
});

test('over max_memory_bytes, percentile tails are freed before any sample, and not made again', () => {
  const store = new MemoryStore();
  const csv = (i: number): string => `switch_id,ints\n${Array.from({ length: 500 }, (_, r) => `s${r},${(r * 7 + i * 13) % 1000}`).join('\n')}\n`;
  const fill = (history: HistoryStore, from: number, to: number): void => {
    for (let i = from; i < to; i++) history.appendNow(store.publishNow(contentFromCsv(csv(i), (1_766_500_000 + i) * 1000)));
  };
  const p99 = (history: HistoryStore): { switch: string; value: number }[] => runNow(topJob(history.view(), 'ints', 'p99', 0, 2e9, 5, 'desc'));
  // The same history with no limit: its bytes without tails, with them, and the answer.
  const free = new HistoryStore({ retentionSeconds: 10_000, maxMemoryBytes: 2 ** 40, chunkSamples: 40 });
  fill(free, 0, 80);
  const plain = free.stats().bytes;
  const want = p99(free);
  const withTails = free.stats().bytes;
  assert.ok(withTails > plain + 30_000, `tails made: ${plain} → ${withTails} bytes`);
  // A limit just below: the next append (opening a chunk) frees the tails, drops no sample, and they stay freed.
  const limited = new HistoryStore({ retentionSeconds: 10_000, maxMemoryBytes: withTails - 1, chunkSamples: 40 });
  fill(limited, 0, 80);
  assert.deepEqual(p99(limited), want);
  assert.ok(limited.stats().bytes > limited.options.maxMemoryBytes);
  fill(limited, 80, 81);
  const after = limited.stats();
  assert.equal(after.earlyDrops.samples, 0);
  assert.ok(after.bytes <= limited.options.maxMemoryBytes, `${after.bytes} bytes after the trim`);
  assert.equal(limited.view()[0]!.metric('ints')!.tailInto(0, 40, new Float64Array(TAIL_VALUES), 0), -1);
  const bytes = limited.stats().bytes;
  const again = runNow(topJob(limited.view(), 'ints', 'p99', 0, 1_766_500_000 + 79, 5, 'desc'));
  assert.deepEqual(again, want, 'still exact, from decoded samples');
  assert.equal(limited.stats().bytes, bytes, 'no tail made again');
});

test('GetHistory buckets: aligned to the step, empty buckets left out, min/max/avg/count as the reference', () => {
  fc.assert(
    fc.property(historyArb, edgeArb, edgeArb, fc.constantFrom(1, 5, 7, 60), fc.constantFrom(...IDS), fc.constantFrom('ints', 'latency_ms', 'd1'), (h, a, b, step, id, metric) => {
      const { history, ref, times } = build(h);
      const [since, until] = [edge(times, a), edge(times, b)].sort((x, y) => x - y) as [number, number];
      const byBucket = new Map<number, { timestamp: number; value: number }[]>();
      for (const x of ref.samples(id, metric, since, until)) {
        const t = Math.floor(x.timestamp / step) * step;
        byBucket.set(t, [...(byBucket.get(t) ?? []), x]);
      }
      const want = [...byBucket].map(([timestamp, xs]) => ({ timestamp, min: ReferenceHistory.apply('min', [xs]), max: ReferenceHistory.apply('max', [xs]), avg: ReferenceHistory.apply('avg', [xs]), count: xs.length }));
      assert.deepEqual(seriesBuckets(history.view(), id, metric, since, until, step), want);
    }),
    { numRuns: 150 },
  );
});

test('sliced appends land in order and equal appends at once; a snapshot from the past is skipped and counted', async () => {
  const store = new MemoryStore();
  const sliced = new HistoryStore({ retentionSeconds: 3600, maxMemoryBytes: 2 ** 40, chunkSamples: 3, sliceMs: 0 });
  const direct = new HistoryStore({ retentionSeconds: 3600, maxMemoryBytes: 2 ** 40, chunkSamples: 3 });
  sliced.follow(store);
  const rows = (n: number): string => `switch_id,ints\n${Array.from({ length: 5000 }, (_, i) => `s${i},${(i * n) % 97}`).join('\n')}\n`;
  for (let n = 0; n < 7; n++) direct.appendNow(store.publishNow(contentFromCsv(rows(n), (1000 + n) * 1000)));
  await sliced.idle();
  for (const id of ['s0', 's1', 's4999']) assert.deepEqual(seriesSamples(sliced.view(), id, 'ints', 0, 2000), seriesSamples(direct.view(), id, 'ints', 0, 2000));
  direct.appendNow(store.publishNow(contentFromCsv(rows(9), 900_000)));
  await sliced.idle();
  assert.equal(direct.stats().skipped, 1);
  assert.equal(sliced.stats().skipped, 1);
  assert.equal(direct.stats().snapshots, 7);
  const p99 = await runSliced(aggregateJob(sliced.view(), 'ints', 'p99', 0, 2000), 0);
  assert.deepEqual(p99, runNow(aggregateJob(direct.view(), 'ints', 'p99', 0, 2000)));
});

test('retention drops the oldest samples; max_memory_bytes drops whole oldest chunks first and counts them as early drops', () => {
  const store = new MemoryStore();
  const csv = (n: number): string => `switch_id,latency_ms\n${Array.from({ length: 200 }, (_, i) => `s${i},${((i + n) % 50) / 100}`).join('\n')}\n`;
  const history = new HistoryStore({ retentionSeconds: 50, maxMemoryBytes: 2 ** 40, chunkSamples: 4 });
  for (let n = 0; n < 30; n++) history.appendNow(store.publishNow(contentFromCsv(csv(n), (1000 + n * 5) * 1000)));
  // Newest at 1145: samples at 1095 … 1145 stay (11 snapshots), older ones are gone.
  assert.equal(history.stats().oldest, 1095);
  assert.equal(history.stats().snapshots, 11);
  assert.deepEqual(seriesSamples(history.view(), 's0', 'latency_ms', 0, 9999).map((x) => x.timestamp)[0], 1095);
  assert.equal(history.stats().earlyDrops.samples, 0);

  const one = history.stats().bytes / history.stats().chunks;
  const small = new HistoryStore({ retentionSeconds: 3600, maxMemoryBytes: Math.floor(one * 2.5), chunkSamples: 4 });
  for (let n = 0; n < 30; n++) small.appendNow(store.publishNow(contentFromCsv(csv(n), (2000 + n * 5) * 1000)));
  const stats = small.stats();
  assert.ok(stats.bytes <= Math.floor(one * 2.5) || stats.chunks === 1, `${stats.bytes} bytes over the limit`);
  assert.ok(stats.chunks < 8);
  assert.ok(stats.earlyDrops.samples > 0 && stats.earlyDrops.chunks > 0);
  assert.ok(stats.earlyDrops.lastAt !== null && stats.earlyDrops.lastAt > 2000 && stats.earlyDrops.lastAt <= 2145);
  // What is left is the newest samples, contiguous up to the last snapshot.
  const kept = seriesSamples(small.view(), 's0', 'latency_ms', 0, 9999).map((x) => x.timestamp);
  assert.equal(kept[kept.length - 1], 2145);
  assert.equal(kept.length, stats.snapshots);
  assert.equal(stats.samples + stats.earlyDrops.samples, 30 * 200);
});

test('an append that throws midway (a fault injected into one snapshot) loses only that snapshot; answers stay exact', async () => {
  const store = new MemoryStore();
  const errors: unknown[] = [];
  const history = new HistoryStore({ retentionSeconds: 3600, maxMemoryBytes: 2 ** 40, chunkSamples: 10, sliceMs: 0, onError: (err) => errors.push(err) });
  const csv = (n: number): string => `switch_id,a,b\n${Array.from({ length: 3000 }, (_, i) => `s${i},${(i + n) % 13},${((i * n) % 50) / 10}`).join('\n')}\n`;
  const publish = (n: number): ReturnType<MemoryStore['publishNow']> => store.publishNow(contentFromCsv(csv(n), (1000 + n) * 1000));
  for (let n = 0; n < 3; n++) history.appendNow(publish(n));
  // Metric `b` of snapshot 3 cannot be read when it is written: the append fails after `a` was written for every series.
  let armed = false;
  const real = publish(3);
  const faulty = new Proxy(real, {
    get(target, key) {
      if (key === 'columnView') {
        return (name: string): Float64Array | undefined => {
          // Armed once the chunk accepted the snapshot (its checks read `b` too): the fault hits the writing.
          if (name === 'b' && armed) throw new Error('injected fault');
          if (name === 'b') armed = true;
          return target.columnView(name);
        };
      }
      const value = Reflect.get(target, key, target) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  await history.append(faulty);
  assert.equal(errors.length, 1);
  assert.equal(history.stats().failedAppends, 1);
  for (let n = 4; n < 8; n++) history.appendNow(publish(n));
  const times = [1000, 1001, 1002, 1004, 1005, 1006, 1007];
  for (const id of ['s0', 's1234', 's2999']) {
    const want = times.map((t) => ({ timestamp: t, value: (Number(id.slice(1)) + t - 1000) % 13 }));
    assert.deepEqual(seriesSamples(history.view(), id, 'a', 0, 5000), want);
    const max = runNow(aggregateJob(history.view(), 'a', 'max', 0, 5000, id));
    assert.equal(max.value, Math.max(...want.map((x) => x.value)));
    assert.equal(max.samples, 7);
    // The failed sample reached the closed chunk's sums for some series: those summaries must not be read.
    assert.equal(runNow(aggregateJob(history.view(), 'a', 'sum', 0, 5000, id)).value, want.reduce((n, x) => n + x.value, 0));
  }
});

test('the open chunk answers max/sum from its running summaries only while they cover exactly the committed samples', () => {
  const store = new MemoryStore();
  const history = new HistoryStore({ retentionSeconds: 3600, maxMemoryBytes: 2 ** 40, chunkSamples: 10 });
  const csv = (n: number): string => `switch_id,a\n${Array.from({ length: 3000 }, (_, i) => `s${i},${(i * 7 + n * 1000) % 9973}`).join('\n')}\n`;
  const publish = (n: number): ReturnType<MemoryStore['publishNow']> => store.publishNow(contentFromCsv(csv(n), (1000 + n) * 1000));
  for (let n = 0; n < 3; n++) history.appendNow(publish(n));
  const fabricSum = () => aggregateJob(history.view(), 'a', 'sum', 0, 5000);
  const top = () => topJob(history.view(), 'a', 'max', 0, 5000, 5, 'desc');
  const wantSum = runNow(fabricSum()).value;
  const wantTop = runNow(top());
  // The reference: every committed sample, decoded.
  let sum = 0;
  for (let i = 0; i < 3000; i++) for (const s of seriesSamples(history.view(), `s${i}`, 'a', 0, 5000)) sum += s.value;
  assert.equal(wantSum, sum);
  // Queries begun on 3 samples, resumed while the 4th is half written (some series' summaries count it), then after it is committed.
  const sumJob = fabricSum();
  const topJobRun = top();
  for (let i = 0; i < 5; i++) {
    sumJob.next();
    topJobRun.next();
  }
  const append = history.appendSlices(publish(3));
  let steps = 0;
  // Into the writing: past the shape checks, some series written.
  while (history.view()[0]!.metrics[0]!.summaryCount !== -1 || steps < 3) {
    append.next();
    steps++;
  }
  const midSum = fabricSum();
  for (let i = 0; i < 3; i++) midSum.next();
  assert.equal(runNow(sumJob).value, wantSum);
  assert.deepEqual(runNow(topJobRun), wantTop);
  runNow(append);
  // A query taken before the commit still reads 3 samples, now decoded (the summaries cover 4).
  assert.equal(runNow(midSum).value, wantSum);
  // And a new one reads all 4 from the summaries again.
  assert.equal(history.view()[0]!.metrics[0]!.summaryCount, 4);
  assert.equal(runNow(fabricSum()).samples, 4 * 3000);
});

test('block summaries: a window cutting a long closed chunk equals the reference, asked cold (blocks made), again (blocks read) and at other cuts (restart points)', () => {
  // Chunks longer than BLOCK_SAMPLES, so a cut inside one reads whole blocks from their summaries.
  // The same switches nearly always: a fabric change starts a new chunk, and these need long ones.
  const steadyStepArb: fc.Arbitrary<Step> = fc
    .tuple(fc.constantFrom(0, 1, 5, 5, 5, 5, 30), fc.oneof({ weight: 60, arbitrary: fc.constant(IDS.slice(0, 4)) }, { weight: 1, arbitrary: fc.shuffledSubarray(IDS, { minLength: 1 }) }))
    .chain(([gap, ids]) => fc.record({ gap: fc.constant(gap), ids: fc.constant(ids), values: fc.array(fc.array(valueArb, { minLength: METRICS.length, maxLength: METRICS.length }), { minLength: ids.length, maxLength: ids.length }) }));
  const longArb = fc.record({
    steps: fc.array(steadyStepArb, { minLength: 60, maxLength: 200 }),
    chunkSamples: fc.constantFrom(BLOCK_SAMPLES + 1, 45, 90, 100),
    retention: fc.integer({ min: 100, max: 3000 }),
  });
  fc.assert(
    fc.property(longArb, fc.array(edgeArb, { minLength: 1, maxLength: 4 }), fc.constantFrom<AggregateFn>('min', 'max', 'sum', 'avg', 'count'), fc.constantFrom(...METRICS), fc.option(fc.constantFrom(...IDS)), (h, edges, fn, metric, id) => {
      const { history, ref, times } = build(h);
      const until = times[times.length - 1]!;
      const exact = metric !== 'sci';
      // The first cut makes a chunk's blocks (cold), asked again reads them (warm); the later cuts
      // land elsewhere, often in the same chunk, and decode their block from its restart point.
      for (const [e, a] of edges.entries()) for (const run of e === 0 ? ['cold', 'warm'] : [`cut ${e}`]) {
        const since = edge(times, a);
        const series = id === null ? ref.switchOrder(metric, since, until).map((s) => ref.samples(s, metric, since, until)) : [ref.samples(id, metric, since, until)];
        const want = ReferenceHistory.apply(fn, series);
        const got = runNow(aggregateJob(history.view(), metric, fn, since, until, id ?? undefined));
        assert.equal(got.samples, series.flat().length);
        close(got.value, want, exact, `${run} ${fn} ${metric} ${id ?? 'fabric'} [${since}, ${until}]`);
        const top = runNow(topJob(history.view(), metric, fn, since, until, 3, 'desc'));
        const ranked = ref.switchOrder(metric, since, until).map((s) => ({ s, v: ReferenceHistory.apply(fn, [ref.samples(s, metric, since, until)]) }));
        assert.equal(top.length, Math.min(3, ranked.filter((x) => x.v !== null).length));
        for (const entry of top) close(entry.value, ranked.find((x) => x.s === entry.switch)!.v, exact, `${run} Top ${fn} ${metric} ${entry.switch}`);
      }
    }),
    { numRuns: 80 },
  );
});
