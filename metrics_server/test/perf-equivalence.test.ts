/**
 * The optimized ingestion path (byte parser, byte renderers, worker-built id index, column block)
 * against the straightforward implementations it replaced (test/reference/), on random input: same
 * results, same bytes. Speed is the benchmark's business (`npm run bench`); these tests only hold the
 * fast code to the slow code's semantics.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseCsvBytes } from '../src/ingest/csv/parser.js';
import { prepareBody } from '../src/ingest/prepare.js';
import type { TelemetryColumns } from '../src/snapshot/columns.js';
import { SwitchIndex } from '../src/snapshot/switch-index.js';
import { decodeColumns } from '../src/snapshot/wire.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { renderFabricText } from '../src/views/fabric-metrics-text.js';
import { renderListMetricsJson } from '../src/views/list-metrics-json.js';
import { asReference, parseTelemetryCsv, parseTelemetryCsvReference } from './reference/csv-parser.js';
import { renderFabricTextReference } from './reference/fabric-metrics-text.js';
import { renderListMetricsJsonReference } from './reference/list-metrics-json.js';

const keepBom = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
const dropBom = new TextDecoder('utf-8', { fatal: false, ignoreBOM: false });

/** Number tokens: canonical ones, every non-canonical spelling, and garbage. */
const digitString = (min: number, max: number): fc.Arbitrary<string> => fc.array(fc.constantFrom(...'0123456789'), { minLength: min, maxLength: max }).map((d) => d.join(''));
const decimalToken = fc
  .tuple(fc.constantFrom('', '', '-', '+'), digitString(1, 18), fc.option(digitString(1, 18)), fc.option(fc.tuple(fc.constantFrom('e', 'E'), fc.constantFrom('', '+', '-'), digitString(1, 3))))
  .map(([sign, int, frac, exp]) => `${sign}${int}${frac === null ? '' : `.${frac}`}${exp === null ? '' : exp.join('')}`);
const shortDecimal = fc
  .tuple(fc.constantFrom('', '-'), fc.integer({ min: 0, max: 99999 }), fc.integer({ min: 0, max: 6 }))
  .map(([sign, n, places]) => `${sign}${places === 0 ? n : (n / 10 ** places).toFixed(places)}`);
const numberToken = fc.oneof(
  { weight: 4, arbitrary: shortDecimal },
  { weight: 4, arbitrary: decimalToken },
  { weight: 2, arbitrary: fc.double({ noNaN: true }).map(String) },
  { weight: 2, arbitrary: fc.integer({ min: -(2 ** 40), max: 2 ** 40 }).map(String) },
  { weight: 1, arbitrary: fc.constantFrom('', '-0', '0.0', '007', '+5', '1.', '.5', 'NaN', 'Infinity', '0x10', '1e400', '1e-400', '0.0000001', '0.000001', '1 ', '\u00a01', '1.50', 'é', '\uFFFD') },
);
const idToken = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 1, max: 40 }).map((i) => `sw${i}`) },
  { weight: 2, arbitrary: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,70}$/) },
  { weight: 1, arbitrary: fc.constantFrom('', ' sw1', '"sw1"', '-sw', 'sw\u00e9', 'sw\r1', '\uFEFFsw1') },
);
const metricSets = fc.constantFrom(
  ['bandwidth_mbps', 'latency_ms', 'packet_errors', 'link_status', 'tx_queue_depth', 'utilization_percent'],
  ['latency_ms', 'utilization_percent'],
  ['bandwidth_mbps', 'custom_gauge'],
  ['utilization_percent'],
);

/**
 * Header damage, so the equivalence property sees header bugs now that the reference analyses the
 * header itself: a repeated, invalid, reserved, long or control-character name, no id column, too
 * many columns, a blank header. Each is applied to the header's names (switch_id included).
 */
const headerDamage = fc.oneof(
  { weight: 12, arbitrary: fc.constant((names: string[]): string[] => names) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      (names: string[]): string[] => [...names, names[names.length - 1]!],
      (names: string[]): string[] => [...names, 'switch_id'],
      (names: string[]): string[] => names.filter((n) => n !== 'switch_id'),
      (names: string[]): string[] => [...names, 'timestamp'],
      (names: string[]): string[] => [...names, ''],
      (names: string[]): string[] => [...names, '1st'],
      (names: string[]): string[] => [...names, 'a'.repeat(64)],
      (names: string[]): string[] => [...names, 'a'.repeat(65)],
      (names: string[]): string[] => [...names, `bad\u0085name\u2028${'x'.repeat(40)}`],
      (names: string[]): string[] => [...names, 'bad\u007f\u0001"name'],
      (): string[] => ['switch_id'],
      (names: string[]): string[] => [...names, ...Array.from({ length: 256 - names.length }, (_, i) => `m${i}`)],
      (names: string[]): string[] => [...names, ...Array.from({ length: 257 - names.length }, (_, i) => `m${i}`)],
      (): string[] => ['  '],
      (): string[] => [''],
    ),
  },
);

/** A CSV body as bytes, mostly well-formed, with every kind of damage mixed in. */
const csvBody = fc
  .tuple(
    metricSets,
    fc.integer({ min: 0, max: 2 }),
    fc.array(fc.tuple(idToken, fc.array(numberToken, { minLength: 0, maxLength: 8 }), fc.integer({ min: 0, max: 20 })), { minLength: 0, maxLength: 30 }),
    fc.constantFrom('\n', '\r\n'),
    fc.constantFrom(0, 0, 0, 1, 2),
    fc.boolean(),
    fc.option(fc.uint8Array({ minLength: 1, maxLength: 6 })),
    headerDamage,
  )
  .map(([metrics, idColumn, rows, eol, boms, trailing, junk, damage]) => {
    const header: string[] = [...metrics];
    header.splice(Math.min(idColumn, header.length), 0, 'switch_id');
    const lines = [damage(header).join(',')];
    for (const [id, nums, shape] of rows) {
      if (shape === 0) {
        lines.push('');
        continue;
      }
      // Mostly the right field count; sometimes too few or too many.
      const wanted = shape === 1 ? nums.length : metrics.length;
      const fields = Array.from({ length: wanted }, (_, i) => nums[i % Math.max(1, nums.length)] ?? '1');
      fields.splice(Math.min(idColumn, fields.length), 0, id);
      lines.push(fields.join(','));
    }
    let text = lines.join(eol) + (trailing ? eol : '');
    text = '\uFEFF'.repeat(boms) + text;
    const bytes = Buffer.from(text, 'utf8');
    if (junk === null) return new Uint8Array(bytes);
    // Raw bytes (possibly not UTF-8) spliced in somewhere after the header.
    const at = Math.min(bytes.length, lines[0]!.length + 3 * boms + 1 + (junk[0]! % 50));
    return new Uint8Array(Buffer.concat([bytes.subarray(0, at), junk, bytes.subarray(at)]));
  });

/** The columns of a body after the whole ingestion path: parse, encode the block, decode it as the main thread does. */
function ingestedColumns(bytes: Uint8Array): TelemetryColumns | undefined {
  const prepared = prepareBody(bytes);
  if (!prepared.ok) return undefined;
  const columns = decodeColumns(prepared.block, 'own');
  assert.ok(columns.ok);
  return columns.value;
}

test('property: the byte parser gives exactly what the reference parser gives on the decoded text', () => {
  // Planted bugs this catches since the reference analyses headers itself and bodies carry header
  // damage: analyzeHeader without its duplicate check, MAX_COLUMNS off by one, quoteUpstream leaving
  // U+0085 raw, no 'no metric columns' check (each seen failing; before, none could be seen).
  fc.assert(
    fc.property(csvBody, (bytes) => {
      assert.deepStrictEqual(parseTelemetryCsv(bytes), parseTelemetryCsvReference(keepBom.decode(bytes)));
      assert.deepStrictEqual(asReference(parseCsvBytes(bytes, 2)), parseTelemetryCsvReference(dropBom.decode(bytes)));
    }),
    { numRuns: 600 },
  );
});

test('property: views rendered from the ingested columns are the string renderers\' bytes', () => {
  fc.assert(
    fc.property(csvBody, fc.integer({ min: 0, max: 2 ** 31 }), (bytes, timestamp) => {
      const expected = parseTelemetryCsvReference(dropBom.decode(bytes));
      const prepared = prepareBody(bytes);
      if (!expected.ok) {
        assert.deepStrictEqual(prepared, expected);
        return;
      }
      assert.ok(prepared.ok);
      const { switchIds, metrics, rows, rejected, rowsSeen } = expected.data;
      assert.deepStrictEqual(prepared.rejected, rejected);
      assert.equal(prepared.rowsSeen, rowsSeen);
      assert.equal(prepared.switchCount, switchIds.length);
      const columns = ingestedColumns(bytes)!;
      assert.equal(renderListMetricsJson(columns, timestamp).toString('latin1'), renderListMetricsJsonReference(switchIds, metrics, rows, timestamp));
      assert.equal(renderFabricText(columns).toString('utf8'), renderFabricTextReference(switchIds, metrics, rows));
    }),
    { numRuns: 600 },
  );
});

test('property: sample texts equal String(convert(value)) for arbitrary decimal tokens in scaled columns', () => {
  const metrics = ['bandwidth_mbps', 'latency_ms', 'utilization_percent', 'link_status'];
  fc.assert(
    fc.property(fc.array(fc.tuple(decimalToken, shortDecimal, decimalToken, numberToken), { minLength: 1, maxLength: 20 }), (tokenRows) => {
      const csv = ['switch_id,' + metrics.join(','), ...tokenRows.map((r, i) => `sw${i + 1},${r.join(',')}`)].join('\n');
      const expected = parseTelemetryCsvReference(csv);
      if (!expected.ok) return;
      const columns = ingestedColumns(Buffer.from(csv))!;
      const { switchIds, rows } = expected.data;
      assert.equal(renderFabricText(columns).toString('utf8'), renderFabricTextReference(switchIds, metrics, rows));
      assert.equal(renderListMetricsJson(columns, 1766501919).toString('latin1'), renderListMetricsJsonReference(switchIds, metrics, rows, 1766501919));
    }),
    { numRuns: 1000 },
  );
});

test('property: the worker-built id index finds every id at its row and nothing else', () => {
  fc.assert(
    fc.property(fc.uniqueArray(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,12}$/), { minLength: 1, maxLength: 300 }), fc.array(fc.string({ maxLength: 14 })), (ids, probes) => {
      const parsed = parseCsvBytes(Buffer.from(['switch_id,a', ...ids.map((id) => `${id},1`)].join('\n')));
      assert.ok(parsed.ok);
      const index = new SwitchIndex(parsed.parsed.columns.ids);
      assert.deepStrictEqual(index.ids(), ids);
      for (const [row, id] of ids.entries()) assert.equal(index.lookup(id), row);
      for (const probe of probes) assert.equal(index.lookup(probe), ids.indexOf(probe));
    }),
    { numRuns: 200 },
  );
});

test('a snapshot with the same ids shares the decoded id list with the previous one; different ids get their own', () => {
  const store = new MemoryStore();
  const publish = (csv: string, at: number) => {
    const prepared = prepareBody(Buffer.from(csv));
    assert.ok(prepared.ok);
    return store.publishNow({ block: prepared.block, ingestedAtMs: at });
  };
  const first = publish('switch_id,a\nsw1,1\nsw2,2\n', 1000);
  const firstIds = first.switchIds;
  const second = publish('switch_id,a\nsw1,3\nsw2,4\n', 2000);
  const third = publish('switch_id,a\nsw1,5\nsw3,6\n', 3000);
  assert.equal(second.switchIds, firstIds, 'decoded once, shared');
  assert.notEqual(third.switchIds, firstIds);
  assert.deepEqual(third.switchIds, ['sw1', 'sw3']);
  assert.equal(third.value('sw3', 'a'), 6);
  assert.equal(third.value('sw2', 'a'), undefined);
  assert.equal(second.value('sw2', 'a'), 4);
  assert.deepEqual([first.version, second.version, third.version], [1, 2, 3]);
});
