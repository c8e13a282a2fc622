/** The generator's CSV writer and the server's parser agree: what one writes, the other reads back. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { METRIC_NAMES, METRICS, roundToFormat, type MetricName } from '../../common/telemetry-schema.js';
import { DEFAULT_SIMULATION } from '../../telemetry_generator/src/config.js';
import { renderCsv } from '../../telemetry_generator/src/csv-writer.js';
import { simulate } from '../../telemetry_generator/src/simulator.js';
import { parseTelemetryCsv } from './reference/csv-parser.js';
import { InlineRenderer } from '../src/views/render/renderer.js';
import { snapshotFromCsv } from './helpers.js';

test('property: any simulated tick rendered by the generator parses back to the same values', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 2 ** 32 - 1 }),
      fc.integer({ min: 1, max: 300 }),
      fc.integer({ min: 0, max: 30 }),
      fc.shuffledSubarray([...METRIC_NAMES], { minLength: 1 }),
      (seed, switchCount, tick, metrics: MetricName[]) => {
        const state = simulate({ switchCount, simulation: DEFAULT_SIMULATION, seed }, tick);
        const parsed = parseTelemetryCsv(renderCsv(state, metrics).toString('utf8'));
        assert.ok(parsed.ok);
        assert.deepEqual(parsed.data.metrics, metrics);
        assert.equal(parsed.data.switchIds.length, switchCount);
        assert.deepEqual(parsed.data.rejected, { wrong_field_count: 0, invalid_number: 0, invalid_switch_id: 0, duplicate_switch_id: 0 });
        for (let i = 0; i < switchCount; i++) {
          assert.equal(parsed.data.switchIds[i], `sw${i + 1}`);
          for (const [c, metric] of metrics.entries()) {
            const expected = roundToFormat(state.columns[metric][i]!, METRICS[metric].format);
            assert.equal(parsed.data.values[i * metrics.length + c], expected === 0 ? 0 : expected, `sw${i + 1} ${metric}`);
          }
        }
      },
    ),
    { numRuns: 60 },
  );
});

test('ListMetrics JSON of a simulated tick carries the same numbers as the CSV text', async () => {
  const state = simulate({ switchCount: 200, simulation: DEFAULT_SIMULATION, seed: 42 }, 5);
  const csv = renderCsv(state, [...METRIC_NAMES]);
  const snapshot = snapshotFromCsv(csv.toString('utf8'), 1, 1766501919_000);
  const json = JSON.parse((await new InlineRenderer().render('list-metrics.json', snapshot)).toString('utf8')) as Record<string, Record<string, number>>;
  const lines = csv.toString('utf8').trim().split('\n').slice(1);
  for (const line of lines) {
    const [id, ...fields] = line.split(',');
    assert.deepEqual(Object.values(json[id!]!), [...fields.map(Number), 1766501919]);
    // The JSON text of each value is the CSV text itself (8123 stays 8123, 6.8 stays 6.8).
    for (const [c, metric] of METRIC_NAMES.entries()) assert.equal(String(json[id!]![metric]), fields[c]);
  }
});
