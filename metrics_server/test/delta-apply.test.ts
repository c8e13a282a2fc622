/** A stream's deltas, applied one after another, give the snapshot a full reload would. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { METRIC_NAMES } from '../../common/telemetry-schema.js';
import { ChangeTracker } from '../../telemetry_generator/src/change-tracker.js';
import { DEFAULT_SIMULATION } from '../../telemetry_generator/src/config.js';
import { renderArrow } from '../../telemetry_generator/src/arrow-writer.js';
import { renderCsv } from '../../telemetry_generator/src/csv-writer.js';
import { Simulator } from '../../telemetry_generator/src/simulator.js';
import { Ingester } from '../src/ingest/ingester.js';
import { IngestionHealth } from '../src/ingest/ingestion-health.js';
import { InlinePreparer } from '../src/ingest/worker/preparer.js';
import type { Snapshot } from '../src/snapshot/snapshot.js';
import { decodeColumns } from '../src/snapshot/wire.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { renderListMetricsJson } from '../src/views/list-metrics-json.js';
import { arrowOf, f64, utf8 } from './arrow-faults.js';
import { memoryLogger, snapshotFromCsv } from './helpers.js';

function rig() {
  const store = new MemoryStore();
  const ingester = new Ingester({ preparer: new InlinePreparer(), publisher: store, reader: store, health: new IngestionHealth() });
  const { logger, sink } = memoryLogger('DEBUG');
  const delivery = () => ({ label: 'push stream', origin: 'test', logger, startedAtMs: 1766501919_000, startedAt: performance.now() });
  return { store, ingester, delivery, sink };
}

function listMetrics(snapshot: Snapshot): string {
  const columns = decodeColumns(snapshot.block, 'own');
  assert.ok(columns.ok);
  return renderListMetricsJson(columns.value, snapshot.timestamp).toString();
}

function assertSameData(actual: Snapshot, expected: Snapshot): void {
  assert.deepEqual(actual.switchIds, expected.switchIds);
  assert.deepEqual(actual.metrics, expected.metrics);
  for (const metric of expected.metrics) {
    assert.deepEqual(actual.copyColumn(metric), expected.copyColumn(metric), metric);
    // The merged number kind is a bound: never fewer places than the values have.
    assert.ok(actual.decimalsOf(metric)! >= expected.decimalsOf(metric)! || actual.decimalsOf(metric) === -1, metric);
  }
  assert.equal(listMetrics(actual), listMetrics(expected));
}

/** Random tick sequences: random changes (volatility), link flaps, error bursts, latency spikes. */
const tickSequences = fc.record({
  seed: fc.integer({ min: 0, max: 2 ** 31 }),
  switchCount: fc.integer({ min: 1, max: 60 }),
  ticks: fc.integer({ min: 1, max: 12 }),
  volatility: fc.constantFrom(0, 0.001, 0.05, 0.4),
  linkDownProbability: fc.constantFrom(0, 0.05, 0.5),
  errorBurstProbability: fc.constantFrom(0, 0.1, 0.6),
  latencySpikeProbability: fc.constantFrom(0, 0.3),
  metrics: fc.shuffledSubarray([...METRIC_NAMES], { minLength: 1 }),
});

/** The simulator a drawn tick sequence describes. */
function simulatorFor(p: { seed: number; switchCount: number; volatility: number; linkDownProbability: number; errorBurstProbability: number; latencySpikeProbability: number }): Simulator {
  return new Simulator({ switchCount: p.switchCount, seed: p.seed, simulation: { ...DEFAULT_SIMULATION, volatility: p.volatility, linkDownProbability: p.linkDownProbability, errorBurstProbability: p.errorBurstProbability, latencySpikeProbability: p.latencySpikeProbability } });
}

test('property: the snapshot after N deltas equals the snapshot of the Nth full CSV (random churn, link flaps, error bursts)', async () => {
  await fc.assert(
    fc.asyncProperty(
      tickSequences,
      async (p) => {
        const simulator = simulatorFor(p);
        const tracker = new ChangeTracker(p.metrics);
        const { store, ingester, delivery } = rig();
        tracker.changedRows(simulator.state);
        assert.equal((await ingester.ingestBody(renderCsv(simulator.state, p.metrics), delivery())).outcome, 'ok');
        for (let t = 1; t <= p.ticks; t++) {
          simulator.step();
          const delta = renderCsv(simulator.state, p.metrics, tracker.changedRows(simulator.state));
          const record = await ingester.ingestDelta(delta, delivery());
          assert.equal(record.outcome, 'ok', (record.outcome === 'failed' ? record.error : '') ?? '');
        }
        assert.equal(store.current()!.version, p.ticks + 1);
        assertSameData(store.current()!, snapshotFromCsv(renderCsv(simulator.state, p.metrics).toString()));
      },
    ),
    { numRuns: 60 },
  );
});

test('a delta that does not fit is refused whole and the snapshot is kept', async () => {
  const header = 'switch_id,bandwidth_mbps,latency_ms';
  const { store, ingester, delivery, sink } = rig();
  await ingester.ingestBody(Buffer.from(`${header}\nsw1,1,0.5\nsw2,2,0.6\n`), delivery());
  const kept = store.current()!;
  const cases: [string, RegExp][] = [
    [`${header}\nsw1,5,0.1\nsw9,3,0.2\n`, /switch sw9, which the snapshot does not have/],
    [`switch_id,bandwidth_mbps\nsw1,5\n`, /delta metrics .* differ/],
    [`${header}\nsw1,5,0.1\nsw2,oops,0.2\n`, /delta has 1 invalid rows/],
    [`${header}\nsw1,5\n`, /no valid row|invalid rows/],
    ['', /empty body/],
  ];
  for (const [body, reason] of cases) {
    const record = await ingester.ingestDelta(Buffer.from(body), delivery());
    assert.equal(record.outcome, 'failed', body);
    assert.match((record.outcome === 'failed' ? record.error : '') ?? '', reason);
    assert.equal(store.current(), kept);
  }
  assert.ok(sink.lines.length > 0);
  // Header only: nothing changed, a new version with the same values.
  const same = await ingester.ingestDelta(Buffer.from(`${header}\n`), delivery());
  assert.equal(same.outcome, 'ok');
  assert.equal(store.current()!.version, kept.version + 1);
  assert.deepEqual(store.current()!.row('sw2'), [2, 0.6]);
  const changed = await ingester.ingestDelta(Buffer.from(`${header}\nsw2,7,0.75\n`), delivery());
  assert.equal(changed.outcome, 'ok');
  assert.deepEqual(store.current()!.row('sw1'), [1, 0.5]);
  assert.deepEqual(store.current()!.row('sw2'), [7, 0.75]);
});

/** Arrow as the push stream carries it: the IPC stream in base64. */
const base64 = (bytes: Uint8Array): Buffer => Buffer.from(Buffer.from(bytes).toString('base64'));

test('property: Arrow events (base64) — the snapshot after N Arrow deltas equals the snapshot of the Nth full CSV', async () => {
  await fc.assert(
    fc.asyncProperty(
      tickSequences,
      async (p) => {
        const simulator = simulatorFor(p);
        const tracker = new ChangeTracker(p.metrics);
        const { store, ingester, delivery } = rig();
        tracker.changedRows(simulator.state);
        assert.equal((await ingester.ingestBody(base64(renderArrow(simulator.state, p.metrics)), delivery(), 'arrow', 'base64')).outcome, 'ok');
        for (let t = 1; t <= p.ticks; t++) {
          simulator.step();
          const delta = renderArrow(simulator.state, p.metrics, tracker.changedRows(simulator.state));
          const record = await ingester.ingestDelta(base64(delta), delivery(), 'arrow', 'base64');
          assert.equal(record.outcome, 'ok', (record.outcome === 'failed' ? record.error : '') ?? '');
          assert.equal(record.format, 'arrow');
        }
        assert.equal(store.current()!.version, p.ticks + 1);
        assertSameData(store.current()!, snapshotFromCsv(renderCsv(simulator.state, p.metrics).toString()));
      },
    ),
    { numRuns: 60 },
  );
});

test('an Arrow delta that does not fit, or is not base64 Arrow, is refused whole and the snapshot is kept', async () => {
  const { store, ingester, delivery } = rig();
  const body = (ids: (string | null)[], a: (number | null)[], b: (number | null)[]) => base64(arrowOf(ids.length, [{ name: 'switch_id', data: utf8(ids) }, { name: 'bandwidth_mbps', data: f64(a) }, { name: 'latency_ms', data: f64(b) }]));
  assert.equal((await ingester.ingestBody(body(['sw1', 'sw2'], [1, 2], [0.5, 0.6]), delivery(), 'arrow', 'base64')).outcome, 'ok');
  const kept = store.current()!;
  const cases: [Buffer, RegExp][] = [
    [body(['sw1', 'sw9'], [5, 3], [0.1, 0.2]), /^delta not applicable \(Arrow\): delta has switch sw9, which the snapshot does not have$/],
    [base64(arrowOf(1, [{ name: 'switch_id', data: utf8(['sw1']) }, { name: 'bandwidth_mbps', data: f64([5]) }])), /delta metrics .* differ/],
    [body(['sw1', 'sw2'], [5, null], [0.1, 0.2]), /delta has 1 invalid rows/],
    [Buffer.from('switch_id,a\n'), /^delta not applicable \(Arrow\): not base64: byte 0x5f at offset 6$/],
    [Buffer.from(`${base64(arrowOf(1, [{ name: 'switch_id', data: utf8(['sw1']) }, { name: 'bandwidth_mbps', data: f64([5]) }, { name: 'latency_ms', data: f64([1]) }])).toString().slice(0, 200)}`), /not a readable Arrow IPC stream|no Arrow schema/],
    [Buffer.from('abc'), /not base64: 3 characters/],
    [Buffer.alloc(0), /empty body/],
  ];
  for (const [data, reason] of cases) {
    const record = await ingester.ingestDelta(data, delivery(), 'arrow', 'base64');
    assert.equal(record.outcome, 'failed', data.toString().slice(0, 60));
    assert.match((record.outcome === 'failed' ? record.error : '') ?? '', reason);
    assert.equal(store.current(), kept);
  }
  // No row changed: a schema and an empty batch, a new version with the same values.
  const same = await ingester.ingestDelta(body([], [], []), delivery(), 'arrow', 'base64');
  assert.equal(same.outcome, 'ok', same.outcome === 'failed' ? same.error : '');
  assert.equal(store.current()!.version, kept.version + 1);
  assert.deepEqual(store.current()!.row('sw2'), [2, 0.6]);
  // A full body with no rows is still refused: only a delta may be empty.
  assert.match((await ingester.ingestBody(body([], [], []), delivery(), 'arrow', 'base64')).error ?? '', /no data rows/);
});
