import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatValue, parseDecimalNumber, roundToFormat, isValidSwitchId, isValidMetricName, csvHeader, METRIC_NAMES } from '../telemetry-schema.js';

test('decimals are rounded to their format and written in shortest form', () => {
  assert.equal(formatValue(roundToFormat(6.8049, { kind: 'decimal', decimals: 2 })), '6.8');
  assert.equal(formatValue(roundToFormat(47.45, { kind: 'decimal', decimals: 1 })), '47.5');
  assert.equal(formatValue(roundToFormat(8123.4, { kind: 'integer' })), '8123');
  assert.equal(formatValue(roundToFormat(-0.001, { kind: 'decimal', decimals: 2 })), '0');
});

test('parseDecimalNumber accepts decimal numbers only', () => {
  for (const [text, value] of [['1', 1], ['-1.5', -1.5], ['+2', 2], ['1e3', 1000], ['1.25E-2', 0.0125]] as const) {
    assert.equal(parseDecimalNumber(text), value, text);
  }
  for (const text of ['', ' 1', '1 ', 'NaN', 'Infinity', '0x10', '1e999', '.5', '5.', '1,5', '--1']) {
    assert.equal(parseDecimalNumber(text), undefined, JSON.stringify(text));
  }
});

test('id and name patterns', () => {
  assert.ok(isValidSwitchId('sw1'));
  assert.ok(isValidSwitchId('leaf-01.rack:3_a'));
  for (const bad of ['', 'sw 1', 'sw,1', 'sw"1', '-sw', 'a'.repeat(65), 'sw\n1']) assert.ok(!isValidSwitchId(bad), bad);
  assert.ok(isValidMetricName('bandwidth_mbps'));
  for (const bad of ['', '1abc', 'a-b', 'timestamp', 'switch_id']) assert.ok(!isValidMetricName(bad), bad);
  assert.equal(csvHeader(METRIC_NAMES), 'switch_id,bandwidth_mbps,latency_ms,packet_errors,link_status,tx_queue_depth,utilization_percent');
});

test('property: the character-table checks answer exactly as the patterns do', async () => {
  const { default: fc } = await import('fast-check');
  const { SWITCH_ID_PATTERN, METRIC_NAME_PATTERN } = await import('../telemetry-schema.js');
  const alphabet = fc.constantFrom(...'aZ09_.:-+% "\\\n\u00e9\u0000\u007f/A'.split(''), 'é', '\uD800');
  const text = fc.oneof(fc.string({ maxLength: 70 }), fc.array(alphabet, { maxLength: 70 }).map((cs) => cs.join('')), fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,70}$/));
  fc.assert(
    fc.property(text, (t) => {
      assert.equal(isValidSwitchId(t), SWITCH_ID_PATTERN.test(t), JSON.stringify(t));
      assert.equal(isValidMetricName(t), METRIC_NAME_PATTERN.test(t) && t !== 'timestamp' && t !== 'switch_id', JSON.stringify(t));
    }),
    { numRuns: 3000 },
  );
});
