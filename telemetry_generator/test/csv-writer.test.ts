import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { METRICS, METRIC_NAMES, formatValue, roundToFormat, type MetricName } from '../../common/telemetry-schema.js';
import { renderCsv, renderCsvText, renderCsvWithDelta } from '../src/csv-writer.js';

const seedExample = {
  switchCount: 2,
  columns: {
    bandwidth_mbps: [8123, 6400],
    latency_ms: [1.42, 6.8],
    packet_errors: [0, 2],
    link_status: [1, 1],
    tx_queue_depth: [128, 512],
    utilization_percent: [47.5, 63.1],
  },
};

test("renders the seed's example byte for byte", () => {
  assert.equal(
    renderCsvText(seedExample, METRIC_NAMES),
    'switch_id,bandwidth_mbps,latency_ms,packet_errors,link_status,tx_queue_depth,utilization_percent\n' +
      'sw1,8123,1.42,0,1,128,47.5\n' +
      'sw2,6400,6.8,2,1,512,63.1\n',
  );
});

test('columns follow the requested subset and order', () => {
  assert.equal(renderCsvText(seedExample, ['utilization_percent', 'link_status']), 'switch_id,utilization_percent,link_status\nsw1,47.5,1\nsw2,63.1,1\n');
});

test('values are rounded to their format and written in shortest form', () => {
  const source = { switchCount: 3, columns: { latency_ms: [6.8049, 0.004, -1.005], bandwidth_mbps: [8123.5, -0.2, 2.4999] } };
  assert.equal(renderCsvText(source, ['latency_ms', 'bandwidth_mbps']), 'switch_id,latency_ms,bandwidth_mbps\nsw1,6.8,8124\nsw2,0,0\nsw3,-1,2\n');
});

test('a missing or short column is an error, not a silent blank', () => {
  assert.throws(() => renderCsv({ switchCount: 2, columns: { latency_ms: [1] } }, ['latency_ms']), /latency_ms has 1 values, 2 needed/);
  assert.throws(() => renderCsv({ switchCount: 1, columns: {} }, ['packet_errors']), /packet_errors has 0 values/);
});

test('every value is written exactly as the schema would write it (fast path vs formatValue/roundToFormat)', () => {
  const anyNumber = fc.oneof(
    fc.double(),
    fc.double({ min: -1e6, max: 1e6, noNaN: true }),
    fc.integer({ min: -1e9, max: 1e9 }).map((k) => k / 100),
    fc.integer({ min: -1e9, max: 1e9 }).map((k) => k / 1000 + 0.005),
    fc.constantFrom(0, -0, 0.005, 1.005, 2.675, 0.05, 99.95, 1e15, 1e21, 9.999999999999998e14, Number.MAX_SAFE_INTEGER),
  );
  fc.assert(
    fc.property(fc.array(anyNumber, { minLength: 1, maxLength: 30 }), fc.constantFrom<MetricName>(...METRIC_NAMES), (values, metric) => {
      const text = renderCsvText({ switchCount: values.length, columns: { [metric]: values } }, [metric]);
      const expected = values.map((v, i) => `sw${i + 1},${formatValue(roundToFormat(v, METRICS[metric].format))}\n`).join('');
      assert.equal(text, `switch_id,${metric}\n${expected}`);
    }),
    { numRuns: 2000 },
  );
});

test('a large table renders completely (the reused scratch buffer grows)', () => {
  const n = 50_000;
  const columns = { bandwidth_mbps: Int32Array.from({ length: n }, (_, i) => i * 7), latency_ms: Float64Array.from({ length: n }, (_, i) => i / 100) };
  const text = renderCsvText({ switchCount: n, columns }, ['bandwidth_mbps', 'latency_ms']);
  const lines = text.split('\n');
  assert.equal(lines.length, n + 2);
  assert.equal(lines[n], `sw${n},${(n - 1) * 7},${formatValue(roundToFormat((n - 1) / 100, METRICS.latency_ms.format))}`);
  // Long values on the fast path (15 digits, sign, point) in every column, so the buffer's growth
  // points fall inside values: every byte must be there (a row reserving too little room loses the
  // bytes written past the buffer's end, and only a full comparison sees which). 100,000 rows of
  // ~110 bytes: past the size the render above left the shared scratch buffer at, so it grows again.
  const wide = 100_000;
  const long = (i: number): number => -(123456789012345 + i) / 100;
  const wideColumns = Object.fromEntries(METRIC_NAMES.map((m) => [m, Float64Array.from({ length: wide }, (_, i) => long(i))]));
  const expected = [`switch_id,${METRIC_NAMES.join(',')}`];
  for (let i = 0; i < wide; i++) expected.push(`sw${i + 1},${METRIC_NAMES.map((m) => formatValue(roundToFormat(long(i), METRICS[m].format))).join(',')}`);
  assert.equal(renderCsvText({ switchCount: wide, columns: wideColumns }, METRIC_NAMES), expected.join('\n') + '\n');
  // A second, smaller render must not carry bytes over from the first.
  assert.equal(renderCsvText({ switchCount: 1, columns }, ['bandwidth_mbps']), 'switch_id,bandwidth_mbps\nsw1,0\n');
});

test('property: the body and delta of one render are the bytes of the two separate renders', () => {
  // The delta is copied out of the body in runs of consecutive rows: runs at either end, single
  // rows, no rows and every row must all give renderCsv's own bytes.
  const value = fc.oneof(fc.integer({ min: -1e6, max: 1e6 }), fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.constant(NaN));
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 40 }).chain((n) => fc.tuple(fc.constant(n), fc.array(fc.array(value, { minLength: n, maxLength: n }), { minLength: 2, maxLength: 2 }), fc.subarray([...Array(n).keys()]))),
      ([n, [latency, bandwidth], rows]) => {
        const source = { switchCount: n, columns: { latency_ms: latency!, bandwidth_mbps: bandwidth! } };
        const metrics: MetricName[] = ['bandwidth_mbps', 'latency_ms'];
        const { body, delta } = renderCsvWithDelta(source, metrics, rows);
        assert.equal(body.toString('latin1'), renderCsv(source, metrics).toString('latin1'));
        assert.equal(delta.toString('latin1'), renderCsv(source, metrics, rows).toString('latin1'));
      },
    ),
    { numRuns: 300 },
  );
});
