/**
 * The dashboard's pure parts, under Node: the column model (whole snapshots, `changes` events,
 * summary, spike threshold), hostile keys kept as data, the colour scale and the heatmap layout.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { SCALE_WORDS, colourDomain, packRgba, scaleRgb } from '../../../dashboard/src/colors.js';
import { formatBandwidth, formatCount, formatValue } from '../../../dashboard/src/format.js';
import { FabricModel, rowsFromJson, spikeThreshold } from '../../../dashboard/src/model.js';
import { HttpStatusError, endpointMissing, versionFromEtag } from '../../../dashboard/src/api.js';

const LIST = {
  sw1: { bandwidth_mbps: 8123, latency_ms: 1.42, packet_errors: 0, link_status: 1, tx_queue_depth: 128, utilization_percent: 47.5, timestamp: 1766501919 },
  sw2: { bandwidth_mbps: 6400, latency_ms: 6.8, packet_errors: 2, link_status: 1, tx_queue_depth: 512, utilization_percent: 63.1, timestamp: 1766501919 },
  sw3: { bandwidth_mbps: 0, latency_ms: 0, packet_errors: 0, link_status: 0, tx_queue_depth: 0, utilization_percent: 0, timestamp: 1766501919 },
};

test('a ListMetrics body becomes columns in snapshot order; the summary reads them', () => {
  const model = new FabricModel();
  model.replace(rowsFromJson(LIST), 42, 1766501919);
  assert.deepEqual(model.ids, ['sw1', 'sw2', 'sw3']);
  assert.deepEqual(model.metrics, ['bandwidth_mbps', 'latency_ms', 'packet_errors', 'link_status', 'tx_queue_depth', 'utilization_percent']);
  assert.equal(model.value('latency_ms', 1), 6.8);
  assert.equal(model.isDown(2), true);
  assert.equal(model.isDown(0), false);
  assert.deepEqual(model.summary(), { switches: 3, linksDown: 1, totalBandwidthMbps: 14523, worstLatency: { id: 'sw2', value: 6.8 } });
  assert.equal(model.version, 42);
});

test('a changes event updates only what it names, appends new switches and metrics', () => {
  const model = new FabricModel();
  model.replace(rowsFromJson(LIST), 1, 100);
  const revision = model.revision;
  model.applyChanges(rowsFromJson({ sw2: { latency_ms: 9.5 }, sw9: { latency_ms: 1, link_status: 1 }, sw1: { new_metric: 3 } }), 2, 110);
  assert.equal(model.value('latency_ms', 1), 9.5);
  assert.equal(model.value('bandwidth_mbps', 1), 6400, 'untouched');
  assert.deepEqual(model.ids, ['sw1', 'sw2', 'sw3', 'sw9']);
  assert.equal(model.value('latency_ms', 3), 1);
  assert.ok(Number.isNaN(model.value('bandwidth_mbps', 3)), 'unknown until sent');
  assert.equal(model.value('new_metric', 0), 3);
  assert.equal(model.timestamp, 110);
  assert.ok(model.revision > revision);
});

test('any sequence of changes events leaves the model as a whole snapshot of the merged state would', () => {
  // Events list metrics in any order, drop some, add switches and metrics: the position cache of
  // applyChanges must never write a value into another metric's column.
  const metric = fc.constantFrom('a', 'b', 'c', 'd');
  const event = fc.dictionary(fc.constantFrom('s1', 's2', 's3', 's4', 's5'), fc.dictionary(metric, fc.integer({ min: -50, max: 50 }), { minKeys: 1 }));
  fc.assert(
    // A whole snapshot lists the same metrics for every switch (ListMetrics does).
    fc.property(fc.uniqueArray(metric, { minLength: 1 }), fc.uniqueArray(fc.constantFrom('s1', 's2', 's3'), { minLength: 1 }), fc.array(event, { maxLength: 6 }), (names, ids, events) => {
      const first = Object.fromEntries(ids.map((id, i) => [id, Object.fromEntries(names.map((name, c) => [name, i * 10 + c]))]));
      const model = new FabricModel();
      model.replace(rowsFromJson(first), 1, 1);
      const merged = new Map(Object.entries(first).map(([id, values]) => [id, new Map(Object.entries(values))]));
      events.forEach((e, k) => {
        model.applyChanges(rowsFromJson(e), k + 2, k + 2);
        for (const [id, values] of Object.entries(e)) {
          const row = merged.get(id) ?? new Map<string, number>();
          for (const [name, value] of Object.entries(values)) row.set(name, value);
          merged.set(id, row);
        }
      });
      assert.deepEqual(model.ids, [...merged.keys()]);
      for (const [id, values] of merged) {
        const row = model.index.get(id)!;
        for (const name of model.metrics) {
          const expected = values.get(name);
          if (expected === undefined) assert.ok(Number.isNaN(model.value(name, row)), `${id}.${name} never sent`);
          else assert.equal(model.value(name, row), expected, `${id}.${name}`);
        }
      }
    }),
    { numRuns: 300 },
  );
});

test('hostile keys and values stay data: __proto__, constructor, strings, nulls', () => {
  const json = JSON.parse('{"constructor":{"__proto__":5,"toString":"x","latency_ms":null,"link_status":1},"__proto__":{"latency_ms":2}}') as unknown;
  const model = new FabricModel();
  model.replace(rowsFromJson(json), undefined, 0);
  assert.deepEqual(model.ids, ['constructor', '__proto__']);
  assert.equal(model.value('__proto__', 0), 5);
  assert.ok(Number.isNaN(model.value('toString', 0)));
  assert.ok(Number.isNaN(model.value('latency_ms', 0)));
  assert.equal(model.value('latency_ms', 1), 2);
  assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  assert.deepEqual(rowsFromJson('not an object'), new Map());
});

test('a spike is SPIKE_FACTOR times the median latency of up links', () => {
  const latency = Float64Array.from([1, 1, 1, 2, 50, 0]);
  const link = Float64Array.from([1, 1, 1, 1, 1, 0]);
  assert.equal(spikeThreshold(latency, link), 5);
  assert.equal(spikeThreshold(undefined, undefined), Infinity);
  const model = new FabricModel();
  model.replace(rowsFromJson({ a: { latency_ms: 1, link_status: 1 }, b: { latency_ms: 1, link_status: 1 }, c: { latency_ms: 30, link_status: 1 } }), 1, 1);
  assert.deepEqual([0, 1, 2].map((r) => model.isSpike(r)), [false, false, true]);
});

test('colours: a 256-step scale from calm to hot, domains per metric, little-endian words', () => {
  assert.deepEqual(scaleRgb(0), [23, 37, 84]);
  assert.deepEqual(scaleRgb(1), [215, 25, 28]);
  assert.equal(SCALE_WORDS.length, 256);
  assert.equal(packRgba([1, 2, 3]), 0xff030201);
  assert.deepEqual(colourDomain('utilization_percent', new Float64Array(0)), [0, 100]);
  assert.deepEqual(colourDomain('link_status', new Float64Array(0)), [1, 0]);
  assert.deepEqual(colourDomain('latency_ms', Float64Array.from({ length: 100 }, (_, i) => i)), [0, 99]);
});

test('numbers read as the server sent them', () => {
  assert.equal(formatValue(1.42), '1.42');
  assert.equal(formatValue(NaN), '–');
  assert.equal(formatBandwidth(820_500), '820.5 Gb/s');
  assert.equal(formatCount(100000), '100,000');
  assert.equal(versionFromEtag('"v42"'), 42);
  assert.equal(versionFromEtag('W/"v7"'), 7);
  assert.equal(versionFromEtag(null), undefined);
});

test('an absent endpoint (no such endpoint, or history turned off by config) is told apart from an unknown switch', () => {
  assert.equal(endpointMissing(new HttpStatusError(404, 'no such endpoint')), true);
  assert.equal(endpointMissing(new HttpStatusError(404, 'history is turned off (config history.enabled)')), true);
  assert.equal(endpointMissing(new HttpStatusError(404, "unknown switch 'sw9'")), false);
  assert.equal(endpointMissing(new HttpStatusError(503, 'no such endpoint')), false);
  assert.equal(endpointMissing(new Error('no such endpoint')), false);
});
