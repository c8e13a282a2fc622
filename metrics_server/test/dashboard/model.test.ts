/**
 * The dashboard's pure parts, under Node: the parse into columns (what the page's worker runs) and
 * the column model (whole snapshots, `changes` events, summary, spike threshold), hostile keys kept as data, the colour scale and the heatmap layout.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { SCALE_WORDS, colourDomain, packRgba, scaleRgb } from '../../../dashboard/src/colors.js';
import { formatBandwidth, formatCount, formatValue } from '../../../dashboard/src/format.js';
import { ColumnParser, transferablesOf, type ParseResult, type TextKind } from '../../../dashboard/src/event-columns.js';
import { FabricModel, spikeThreshold } from '../../../dashboard/src/model.js';
import { HttpStatusError, endpointMissing, versionFromEtag } from '../../../dashboard/src/api.js';

const LIST = {
  sw1: { bandwidth_mbps: 8123, latency_ms: 1.42, packet_errors: 0, link_status: 1, tx_queue_depth: 128, utilization_percent: 47.5, timestamp: 1766501919 },
  sw2: { bandwidth_mbps: 6400, latency_ms: 6.8, packet_errors: 2, link_status: 1, tx_queue_depth: 512, utilization_percent: 63.1, timestamp: 1766501919 },
  sw3: { bandwidth_mbps: 0, latency_ms: 0, packet_errors: 0, link_status: 0, tx_queue_depth: 0, utilization_percent: 0, timestamp: 1766501919 },
};

test('a ListMetrics body becomes columns in snapshot order; the summary reads them', () => {
  const model = new FedModel().list(LIST, 42);
  assert.deepEqual(model.ids, ['sw1', 'sw2', 'sw3']);
  assert.deepEqual(model.metrics, ['bandwidth_mbps', 'latency_ms', 'packet_errors', 'link_status', 'tx_queue_depth', 'utilization_percent']);
  assert.equal(model.value('latency_ms', 1), 6.8);
  assert.equal(model.isDown(2), true);
  assert.equal(model.isDown(0), false);
  assert.deepEqual(model.summary(), { switches: 3, linksDown: 1, totalBandwidthMbps: 14523, worstLatency: { id: 'sw2', value: 6.8 } });
  assert.equal(model.version, 42);
});

/** A model fed the way the page feeds it: texts through one parser, results applied in order. */
class FedModel {
  readonly parser = new ColumnParser();
  readonly model = new FabricModel();

  /** Parses `text` as `kind`, applies the result, and returns it. */
  feed(kind: TextKind, text: string, version?: number, metricNames?: readonly string[]): ParseResult {
    const result = this.parser.parse({ kind, text, version, receivedAt: 0 });
    if (result.parsed?.kind === 'whole') this.model.replaceWhole(result.parsed, metricNames);
    else if (result.parsed?.kind === 'changes') this.model.applyChanges(result.parsed);
    return result;
  }

  /** A ListMetrics body. */
  list(body: unknown, version?: number, metricNames?: readonly string[]): FabricModel {
    this.feed('list', JSON.stringify(body), version, metricNames);
    return this.model;
  }

  /** A stream event of `kind` with these switches. */
  event(kind: 'snapshot' | 'changes', switches: unknown, version: number, timestamp: number, metricNames?: readonly string[]): FabricModel {
    this.feed(kind, JSON.stringify({ version, timestamp, switches }), undefined, metricNames);
    return this.model;
  }
}

test('a changes event updates only what it names, appends new switches and metrics', () => {
  const fed = new FedModel();
  const model = fed.list(LIST, 1);
  assert.equal(model.timestamp, 1766501919, "a ListMetrics body: the first row's timestamp");
  const revision = model.revision;
  fed.event('changes', { sw2: { latency_ms: 9.5 }, sw9: { latency_ms: 1, link_status: 1 }, sw1: { new_metric: 3 } }, 2, 110);
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
  // Events list metrics in any order, drop some, add switches and metrics: a value must never land
  // in another metric's column or another switch's row (seen failing with `column[positions[k]]`,
  // the event position, in place of the model row).
  const metric = fc.constantFrom('a', 'b', 'c', 'd');
  const event = fc.dictionary(fc.constantFrom('s1', 's2', 's3', 's4', 's5'), fc.dictionary(metric, fc.integer({ min: -50, max: 50 }), { minKeys: 1 }));
  fc.assert(
    // A whole snapshot lists the same metrics for every switch (ListMetrics does).
    fc.property(fc.uniqueArray(metric, { minLength: 1 }), fc.uniqueArray(fc.constantFrom('s1', 's2', 's3'), { minLength: 1 }), fc.array(event, { maxLength: 6 }), (names, ids, events) => {
      const first = Object.fromEntries(ids.map((id, i) => [id, Object.fromEntries(names.map((name, c) => [name, i * 10 + c]))]));
      const fed = new FedModel();
      const model = fed.list(first, 1);
      const merged = new Map(Object.entries(first).map(([id, values]) => [id, new Map(Object.entries(values))]));
      events.forEach((e, k) => {
        fed.event('changes', e, k + 2, k + 2);
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

test('a snapshot event gives the model a ListMetrics body gives, and resets the layout changes build on', () => {
  // Every switch of a snapshot has the same metrics (ListMetrics, SPEC.md); values of any number kind.
  const row = fc.record({ a: fc.double({ noNaN: true, noDefaultInfinity: true }), b: fc.integer(), timestamp: fc.integer() });
  const ids = fc.string({ minLength: 1, maxLength: 4 });
  fc.assert(
    fc.property(fc.dictionary(ids, row), fc.dictionary(ids, row), fc.boolean(), (earlier, switches, named) => {
      const names = named ? ['b', 'a'] : undefined;
      const fromList = new FedModel().list(switches, 7, names);
      // The event stream's parser saw another fabric first: the snapshot must replace its layout too.
      const streamed = new FedModel();
      streamed.event('snapshot', earlier, 6, 60, names);
      const fromEvent = streamed.event('snapshot', switches, 7, 70, names);
      assert.deepEqual(fromEvent.ids, fromList.ids);
      assert.deepEqual(fromEvent.metrics.slice().sort(), fromList.metrics.slice().sort());
      for (const metric of fromList.metrics) assert.deepEqual(fromEvent.columns.get(metric), fromList.columns.get(metric), metric);
      assert.equal(fromEvent.version, 7);
      assert.equal(fromEvent.timestamp, 70);
      // A change to the last switch lands on its row; a switch only the earlier fabric had is new
      // again, after it (seen failing with the parser's id index kept across snapshots).
      const last = fromEvent.ids.at(-1);
      const gone = Object.keys(earlier).find((id) => !Object.hasOwn(switches, id)) ?? 'new!';
      streamed.event('changes', { ...(last === undefined ? {} : { [last]: { a: 0.5 } }), [gone]: { a: 2 } }, 8, 80);
      assert.equal(fromEvent.ids.at(-1), gone);
      assert.equal(fromEvent.value('a', fromEvent.ids.length - 1), 2);
      if (last !== undefined) assert.equal(fromEvent.value('a', fromEvent.ids.length - 2), 0.5);
    }),
    { numRuns: 200 },
  );
});

test('a text that is not JSON changes nothing; a missing version comes from the envelope', () => {
  const fed = new FedModel();
  fed.list({ s1: { x: 1 } }, 1);
  assert.equal(fed.feed('changes', '{"version": 3, "switches": {', 3).parsed, undefined);
  assert.equal(fed.feed('changes', '{"timestamp": 5, "switches": {"s2": {"x": 2}}}', 41).parsed?.version, 41);
  assert.deepEqual(fed.model.ids, ['s1', 's2']);
  assert.equal(fed.model.timestamp, 5);
  assert.equal(fed.feed('snapshot', '[1, 2]', undefined).parsed?.kind, 'whole', 'not an object: a snapshot of nothing');
  assert.deepEqual(fed.model.ids, []);
  // Every column's buffers are handed to postMessage's transfer list.
  assert.equal(transferablesOf(new FedModel().feed('changes', '{"switches": {"s": {"x": 1, "y": 2}}}')).length, 4);
  assert.equal(transferablesOf(new FedModel().feed('list', '{"s": {"x": 1, "y": 2}}')).length, 2);
});

test("a parser taking over (a worker failed) starts from the model's layout", () => {
  const fed = new FedModel();
  fed.list({ a: { x: 1 }, b: { x: 2 } });
  const successor = new ColumnParser();
  successor.seed(fed.model.ids);
  const result = successor.parse({ kind: 'changes', text: '{"switches": {"b": {"x": 5}, "c": {"x": 6}}}', version: 2, receivedAt: 0 });
  assert.ok(result.parsed?.kind === 'changes');
  fed.model.applyChanges(result.parsed);
  assert.deepEqual(fed.model.ids, ['a', 'b', 'c']);
  assert.deepEqual([...fed.model.columns.get('x')!], [1, 5, 6]);
});

test('hostile keys and values stay data: __proto__, constructor, strings, nulls', () => {
  const json = JSON.parse('{"constructor":{"__proto__":5,"toString":"x","latency_ms":null,"link_status":1},"__proto__":{"latency_ms":2}}') as unknown;
  const model = new FedModel().list(json);
  assert.deepEqual(model.ids, ['constructor', '__proto__']);
  assert.equal(model.value('__proto__', 0), 5);
  assert.ok(Number.isNaN(model.value('toString', 0)));
  assert.ok(Number.isNaN(model.value('latency_ms', 0)));
  assert.equal(model.value('latency_ms', 1), 2);
  assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  assert.deepEqual(new FedModel().list('not an object').ids, []);
  // The same through the stream: a whole snapshot event, then changes.
  const fed = new FedModel();
  const viaEvent = fed.event('snapshot', json, 1, 1);
  assert.deepEqual(viaEvent.ids, ['constructor', '__proto__']);
  assert.equal(viaEvent.value('__proto__', 0), 5);
  assert.ok(Number.isNaN(viaEvent.value('toString', 0)));
  fed.feed('changes', '{"version":2,"switches":{"__proto__":{"latency_ms":"9"},"toString":{"x":1}}}');
  assert.ok(Number.isNaN(viaEvent.value('latency_ms', 1)), 'a string is not a number');
  assert.deepEqual(viaEvent.ids, ['constructor', '__proto__', 'toString']);
  assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
});

test('a spike is SPIKE_FACTOR times the median latency of up links', () => {
  const latency = Float64Array.from([1, 1, 1, 2, 50, 0]);
  const link = Float64Array.from([1, 1, 1, 1, 1, 0]);
  assert.equal(spikeThreshold(latency, link), 5);
  assert.equal(spikeThreshold(undefined, undefined), Infinity);
  const model = new FedModel().list({ a: { latency_ms: 1, link_status: 1 }, b: { latency_ms: 1, link_status: 1 }, c: { latency_ms: 30, link_status: 1 } }, 1);
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
