/**
 * The fabric exposition beyond the gauges (issue 17, item 13): the cumulative packet-errors counter,
 * each format's own counter header, generator columns outside the schema as one labelled family,
 * and promtool's verdict on whatever legal column names a generator sends.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ServerMetrics } from '../src/metrics/server-metrics.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { CounterTotals } from '../src/views/counter-totals.js';
import { SEED_CSV, publishCsv, testApp } from './helpers.js';
import { promtoolCheck, skipUnless } from './promtool.js';

const HEADER = 'switch_id,bandwidth_mbps,latency_ms,packet_errors,link_status,tx_queue_depth,utilization_percent';

function serverWithCounters() {
  let metrics: ServerMetrics | undefined;
  const built = testApp(
    'ERROR',
    (store, health, views) => {
      metrics = new ServerMetrics({ reader: store, health, views });
      return [metrics.plugin()];
    },
    { counters: true },
  );
  return { ...built, metrics: metrics! };
}

const counterSamples = (body: string): Record<string, number> =>
  Object.fromEntries([...body.matchAll(/^fabric_switch_packet_errors_total\{switch="([^"]+)"\} (\S+)$/gm)].map((m) => [m[1]!, Number(m[2])]));

test('the packet-errors counter sums each published snapshot per switch, across changes of the switch set', () => {
  const store = new MemoryStore();
  const totals = new CounterTotals(store, 'packet_errors');
  const at = (errors: Record<string, number>): void => {
    publishCsv(store, [HEADER, ...Object.entries(errors).map(([id, n]) => `${id},1,1,${n},1,1,1`)].join('\n'));
  };
  const read = (): Record<string, number> => {
    const snapshot = store.current()!;
    const column = totals.columnFor(snapshot)!;
    return Object.fromEntries(snapshot.switchIds.map((id, row) => [id, column.values[row]!]));
  };
  at({ sw1: 2, sw2: 0, sw3: 5 });
  assert.deepEqual(read(), { sw1: 2, sw2: 0, sw3: 5 }, 'the first snapshot starts the totals');
  at({ sw1: 1, sw2: 3, sw3: 0 });
  assert.deepEqual(read(), { sw1: 3, sw2: 3, sw3: 5 });
  at({ sw3: 1, sw1: 0, sw4: 7 });
  assert.deepEqual(read(), { sw3: 6, sw1: 3, sw4: 7 }, 'switches keep their totals by id when the set and order change; a new one starts at its count');
  assert.equal(totals.columnFor(store.current()!)!.decimals, 0);
  publishCsv(store, 'switch_id,latency_ms\nsw1,1\n');
  assert.equal(totals.columnFor(store.current()!), undefined, 'a CSV without the column: no counter');
  totals.close();
});

test('/metrics: the counter in both formats (0.0.4 names the family x_total, OpenMetrics x), the per-interval gauge beside it', async (t) => {
  const { app, store, metrics } = serverWithCounters();
  t.after(() => metrics.close());
  publishCsv(store, SEED_CSV);
  publishCsv(store, SEED_CSV.replace('sw2,6400,6.8,2,', 'sw2,6400,6.8,5,'));
  const text = (await app.inject({ url: '/metrics' })).body;
  assert.deepEqual(counterSamples(text), { sw1: 0, sw2: 7, sw3: 0 });
  assert.match(text, /^# TYPE fabric_switch_packet_errors_total counter$/m);
  assert.match(text, /^fabric_switch_interval_packet_errors\{switch="sw2"\} 5$/m);
  assert.doesNotMatch(text, /^# TYPE fabric_switch_packet_errors counter$/m);
  const om = (await app.inject({ url: '/metrics', headers: { accept: 'application/openmetrics-text; version=1.0.0' } })).body;
  assert.match(om, /^# TYPE fabric_switch_packet_errors counter$/m);
  assert.deepEqual(counterSamples(om), { sw1: 0, sw2: 7, sw3: 0 });
  assert.ok(om.trimEnd().endsWith('# EOF'));
  assert.match(text, /^metrics_server_build_info\{version="\d+\.\d+\.\d+",nodejs="v\d+\.\d+\.\d+"\} 1$/m);
});

test('generator columns outside the schema are one family, the column a label', async (t) => {
  const { app, store, metrics } = serverWithCounters();
  t.after(() => metrics.close());
  publishCsv(store, 'switch_id,latency_ms,drops_total,fooMs\nsw1,1.5,3,4.25\nsw2,2,0,1\n');
  const body = (await app.inject({ url: '/metrics' })).body;
  assert.ok(
    body.includes(
      '# HELP fabric_switch_column_value Generator columns outside the telemetry schema, by column name, as reported (unit unknown).\n# TYPE fabric_switch_column_value gauge\n' +
        'fabric_switch_column_value{column="drops_total",switch="sw1"} 3\nfabric_switch_column_value{column="drops_total",switch="sw2"} 0\n' +
        'fabric_switch_column_value{column="fooMs",switch="sw1"} 4.25\nfabric_switch_column_value{column="fooMs",switch="sw2"} 1\n',
    ),
    body,
  );
});

test('property: promtool accepts the exposition whatever legal column names the generator sends', { skip: skipUnless('promtool', 'promtool check metrics over random column names') }, async () => {
  // Before: a column named drops_total became a gauge fabric_switch_drops_total, which promtool
  // refuses ("non-counter metrics should not have _total suffix"); fooMs a camelCase name.
  const name = fc.oneof(
    fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,20}$/),
    fc.constantFrom('drops_total', 'x_count', 'x_sum', 'x_bucket', 'fooBar', 'delay_ms', 'size_kb', 'uptime_milliseconds', '_', 'bandwidth_mbps', 'packet_errors'),
  );
  await fc.assert(
    fc.asyncProperty(fc.uniqueArray(name, { minLength: 1, maxLength: 5 }).filter((names) => names.every((n) => n !== 'timestamp' && n !== 'switch_id')), async (names) => {
      const { app, store, metrics } = serverWithCounters();
      try {
        publishCsv(store, [`switch_id,${names.join(',')}`, `sw1,${names.map((_, i) => i + 1).join(',')}`, `sw2,${names.map(() => 0).join(',')}`].join('\n'));
        const body = (await app.inject({ url: '/metrics' })).body;
        const verdict = promtoolCheck(body);
        assert.ok(verdict.ok, `${names.join(',')}: ${verdict.output}`);
      } finally {
        metrics.close();
        await app.close();
      }
    }),
    { numRuns: 25 },
  );
});
