import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MAX_COLUMNS } from '../src/ingest/csv/header.js';
import { parseCsvBytes } from '../src/ingest/csv/parser.js';
import { parseTelemetryCsv, type ReferenceParse as ParsedTelemetry } from './reference/csv-parser.js';
import { SEED_CSV } from './helpers.js';

function ok(csv: string): ParsedTelemetry {
  const result = parseTelemetryCsv(csv);
  if (!result.ok) assert.fail(`expected success, got: ${result.reason}`);
  return result.data;
}

function failure(csv: string): string {
  const result = parseTelemetryCsv(csv);
  if (result.ok) assert.fail('expected the whole response to be rejected');
  return result.reason;
}

test('parses the seed example into columns', () => {
  const data = ok(SEED_CSV);
  assert.deepEqual(data.metrics, ['bandwidth_mbps', 'latency_ms', 'packet_errors', 'link_status', 'tx_queue_depth', 'utilization_percent']);
  assert.deepEqual(data.switchIds, ['sw1', 'sw2', 'sw3']);
  assert.deepEqual(data.values.slice(0, 6), [8123, 1.42, 0, 1, 128, 47.5]);
  assert.deepEqual(data.values.slice(6, 12), [6400, 6.8, 2, 1, 512, 63.1]);
  assert.equal(data.rowsSeen, 3);
});

test('accepts CRLF, a BOM, no trailing newline and blank lines', () => {
  const variants = [
    SEED_CSV.replace(/\n/g, '\r\n'),
    '\uFEFF' + SEED_CSV,
    SEED_CSV.trimEnd(),
    SEED_CSV.replace('sw2', '\nsw2') + '\n\n',
  ];
  for (const csv of variants) {
    const data = ok(csv);
    assert.deepEqual(data.switchIds, ['sw1', 'sw2', 'sw3']);
    assert.equal(data.values[7], 6.8);
  }
});

test('the header decides the metrics: a subset, another order, switch_id elsewhere', () => {
  const data = ok('latency_ms,switch_id,bandwidth_mbps\n1.5,swA,100\n2,swB,200\n');
  assert.deepEqual(data.metrics, ['latency_ms', 'bandwidth_mbps']);
  assert.deepEqual(data.switchIds, ['swA', 'swB']);
  assert.deepEqual(Array.from(data.values), [1.5, 100, 2, 200]);
});

test('whole-response failures reject the cycle', () => {
  assert.equal(failure(''), 'empty body');
  assert.equal(failure('\n\n'), 'empty body');
  assert.equal(failure('\uFEFF'), 'empty body');
  assert.equal(failure('bandwidth_mbps,latency_ms\n1,2\n'), 'header has no switch_id column');
  assert.match(failure('switch_id,a,a\nsw1,1,2\n'), /duplicate column "a"/);
  assert.match(failure('switch_id,switch_id\nsw1,sw1\n'), /duplicate column/);
  assert.match(failure('switch_id,bad-name\nsw1,1\n'), /invalid column name/);
  assert.equal(failure('switch_id\nsw1\n'), 'header has no metric columns');
  assert.equal(failure('switch_id,a\n'), 'no data rows');
  assert.equal(failure('switch_id,a\nsw1,x\n'), 'no valid row');
  assert.match(failure('switch_id,' + Array.from({ length: MAX_COLUMNS + 5 }, (_, i) => `m${i}`).join(',') + '\n'), /more than 256 columns/);
});

test('row failures skip the row and are counted by reason', () => {
  const csv = [
    'switch_id,a,b',
    'sw1,1,2',
    'sw2,1', // too few
    'sw3,1,2,3', // too many
    'sw4,1,NaN',
    'sw5,Infinity,1',
    'sw6,0x10,1',
    'sw7,,1',
    ',1,2', // empty id
    'sw 8,1,2',
    '"sw9",1,2',
    'sw1,5,5', // duplicate
    'sw10,-1.5e3,+2',
    '',
  ].join('\n');
  const data = ok(csv);
  assert.deepEqual(data.switchIds, ['sw1', 'sw10']);
  assert.deepEqual(Array.from(data.values), [1, 2, -1500, 2]);
  assert.deepEqual(data.rejected, { wrong_field_count: 2, invalid_number: 4, invalid_switch_id: 3, duplicate_switch_id: 1 });
  assert.equal(data.rowsSeen, 12);
});

test('the first occurrence of a duplicated switch id wins', () => {
  const data = ok('switch_id,a\nsw1,1\nsw1,2\n');
  assert.deepEqual(Array.from(data.values), [1]);
});

test('property: any table of valid ids and finite numbers round-trips through CSV text', () => {
  const id = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,20}$/);
  const metric = fc.stringMatching(/^[a-z_][a-z0-9_]{0,15}$/).filter((n) => n !== 'timestamp' && n !== 'switch_id');
  const value = fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e12, max: 1e12 });
  fc.assert(
    fc.property(
      fc.uniqueArray(metric, { minLength: 1, maxLength: 8 }),
      fc.uniqueArray(id, { minLength: 1, maxLength: 40 }),
      fc.infiniteStream(value),
      fc.constantFrom('\n', '\r\n'),
      (metrics, ids, values, eol) => {
        const table = ids.map(() => metrics.map(() => values.next().value));
        const csv = ['switch_id,' + metrics.join(','), ...ids.map((sw, r) => [sw, ...table[r]!.map((v) => String(v).replace('e+', 'e'))].join(','))].join(eol) + eol;
        const data = ok(csv);
        assert.deepEqual(data.switchIds, ids);
        assert.deepEqual(data.metrics, metrics);
        assert.deepEqual(Array.from(data.values), table.flat().map((v) => (v === 0 ? 0 : v))); // String(-0) is "0"
      },
    ),
    { numRuns: 200 },
  );
});

// Written after `npm run mutation -- csv-parser` (403/429 killed): the real holes among its survivors.
// Each planted by hand in src/ingest/csv/parser.ts, seen failing here, then restored: the
// `rowsSeen === 0` of the allowNoRows test turned into `!==`; isBlank's `c === 32 || ...` to `false`;
// the significant-digit count `significant > 0 || d !== 0` to `true` in the integer part; and in the
// exponent's digit loop `bytes[i] >= 48` to `true`, `bytes[i] <= 57` to `true`, and its first `&&` to `||`.
const bytesOf = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'latin1'));

test('allowNoRows: a header alone is zero rows; a body whose every row was rejected is still refused', () => {
  const empty = parseCsvBytes(bytesOf('switch_id,a\n'), 2, { allowNoRows: true });
  assert.ok(empty.ok);
  assert.equal(empty.parsed.columns.rowCount, 0);
  assert.equal(empty.parsed.rowsSeen, 0);
  const allBad = parseCsvBytes(bytesOf('switch_id,a\nsw1,x\n'), 2, { allowNoRows: true });
  assert.ok(!allBad.ok);
  assert.equal(allBad.reason, 'no valid row');
  const noRows = parseCsvBytes(bytesOf('switch_id,a\n'), 2);
  assert.ok(!noRows.ok);
  assert.equal(noRows.reason, 'no data rows');
});

test('a body of ASCII white space is an empty body, as for String.trim()', () => {
  for (const text of [' ', '  \r\n', '\t\n\v\f\r ', ' \u00a0 ']) {
    const result = parseCsvBytes(new Uint8Array(Buffer.from(text, 'utf8')));
    assert.ok(!result.ok);
    assert.equal(result.reason, 'empty body', JSON.stringify(text));
  }
});

test('number kinds: leading zeros are not significant digits; an exponent is digits only', () => {
  const parsed = parseCsvBytes(bytesOf('switch_id,a,b\nsw1,0000000000000001.25,00000000000000000007\n'));
  assert.ok(parsed.ok);
  assert.deepEqual(
    parsed.parsed.columns.metrics.map((m) => [m.decimals, m.values[0]]),
    [
      [2, 1.25],
      [0, 7],
    ],
  );
  // Number() would take these (trailing white space, 0xA0 read as latin1): the schema does not.
  for (const token of ['1e5 ', '1e5\u00a0', '1e+5 ', '2E3\t']) {
    const result = parseCsvBytes(bytesOf(`switch_id,a\nsw1,${token}\nsw2,1\n`));
    assert.ok(result.ok);
    assert.equal(result.parsed.rejected.invalid_number, 1, JSON.stringify(token));
    assert.equal(result.parsed.columns.rowCount, 1);
  }
});
