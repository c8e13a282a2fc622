import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { METRICS } from '../../common/telemetry-schema.js';
import { buildGeneratorApp } from '../../telemetry_generator/src/app.js';
import { DEFAULT_SIMULATION } from '../../telemetry_generator/src/config.js';
import { TelemetryFeed } from '../../telemetry_generator/src/feed.js';
import { GeneratorMetrics } from '../../telemetry_generator/src/generator-metrics.js';
import { ServerMetrics } from '../src/metrics/server-metrics.js';
import { FABRIC_SERIES } from '../src/views/fabric-metrics-text.js';
import { startMetricsServer } from '../src/metrics-server.js';
import { SEED_CSV, memoryLogger, publishCsv, testApp, testConfig } from './helpers.js';
import { promtoolCheck, skipUnless } from './promtool.js';
import { startGeneratorProcess, stopProcess, until, writeGeneratorConfig } from './generator-process.js';

function serverWithMetrics(fabricSeries = true) {
  let metrics: ServerMetrics | undefined;
  const built = testApp(
    'ERROR',
    (store, health, views) => {
      metrics = new ServerMetrics({ reader: store, health, views });
      return [metrics.plugin()];
    },
    { fabricSeries },
  );
  return { ...built, metrics: metrics! };
}

/** `name{switch="x"} value` lines → Map of `name|x` → value. */
function fabricSamples(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const match of text.matchAll(/^(fabric_switch_\w+)\{switch="([^"]+)"\} (\S+)$/gm)) samples.set(`${match[1]}|${match[2]}`, Number(match[3]));
  return samples;
}

test('fabric series equal the snapshot after unit conversion', async (t) => {
  const { app, store, metrics } = serverWithMetrics();
  t.after(() => metrics.close());
  publishCsv(store, SEED_CSV);
  const res = await app.inject({ url: '/metrics' });
  assert.equal(res.statusCode, 200);
  assert.match(res.headers['content-type'] as string, /^text\/plain; version=0\.0\.4/);
  const samples = fabricSamples(res.body);
  const expected: [string, string, number][] = [
    ['fabric_switch_bandwidth_bytes_per_second', 'sw1', 8123 * 125_000],
    ['fabric_switch_latency_seconds', 'sw1', 0.00142],
    ['fabric_switch_latency_seconds', 'sw2', 0.0068],
    ['fabric_switch_interval_packet_errors', 'sw2', 2],
    ['fabric_switch_link_up', 'sw3', 0],
    ['fabric_switch_tx_queue_depth_packets', 'sw2', 512],
    ['fabric_switch_utilization_ratio', 'sw1', 0.475],
    ['fabric_switch_utilization_ratio', 'sw2', 0.631],
  ];
  for (const [name, sw, value] of expected) assert.equal(samples.get(`${name}|${sw}`), value, `${name}{switch="${sw}"}`);
  assert.equal(samples.size, 3 * 6, 'one series per switch and metric');
  for (const metric of Object.values(METRICS)) {
    const series = FABRIC_SERIES[metric.name];
    assert.ok(res.body.includes(`# TYPE ${series.name} gauge\n`), series.name);
    assert.ok(res.body.includes(`# HELP ${series.name} `), series.name);
    assert.ok(!series.name.endsWith('_total'));
  }
  assert.match(res.body, /^metrics_server_snapshot_version 1$/m);
  assert.match(res.body, /^metrics_server_snapshot_switches 3$/m);
  assert.match(res.body, /^process_resident_memory_bytes \d+/m);
  assert.match(res.body, /^nodejs_eventloop_lag_p99_seconds /m);
});

test('own metrics count polls, rejected rows and requests by route', async (t) => {
  const { app, store, health, metrics } = serverWithMetrics();
  t.after(() => metrics.close());
  publishCsv(store, SEED_CSV);
  health.record({ outcome: 'ok', startedAtMs: Date.now(), durationMs: 12, bytes: 100, rejected: { wrong_field_count: 2, invalid_number: 0, invalid_switch_id: 1, duplicate_switch_id: 0 } });
  health.record({ outcome: 'failed', startedAtMs: Date.now(), durationMs: 3, bytes: 0, error: 'HTTP 500' });
  await app.inject({ url: '/telemetry/GetMetric?switch=sw1&metric=latency_ms' });
  await app.inject({ url: '/no/such/path/123' });
  const body = (await app.inject({ url: '/metrics' })).body;
  assert.match(body, /^metrics_server_polls_total\{outcome="ok"\} 1$/m);
  assert.match(body, /^metrics_server_polls_total\{outcome="failed"\} 1$/m);
  assert.match(body, /^metrics_server_rows_rejected_total\{reason="wrong_field_count"\} 2$/m);
  assert.match(body, /^metrics_server_rows_rejected_total\{reason="invalid_switch_id"\} 1$/m);
  assert.match(body, /^metrics_server_ingestion_duration_seconds_count\{outcome="ok"\} 1$/m);
  assert.match(body, /^metrics_server_consecutive_failed_polls 1$/m);
  assert.match(body, /^metrics_server_http_request_duration_seconds_count\{route="\/telemetry\/GetMetric",method="GET",status_code="200"\} 1$/m);
  assert.match(body, /^metrics_server_http_request_duration_seconds_count\{route="unmatched",method="GET",status_code="404"\} 1$/m);
  assert.ok(!body.includes('/no/such/path'), 'raw URLs never become label values');
});

test('before any snapshot the snapshot gauges have no sample at all (an age of 0 would hide a server that never got data)', async (t) => {
  // Planted bug this catches: prom-client gives an unlabelled gauge a 0 sample on reset(); the
  // server reported metrics_server_snapshot_age_seconds 0 before its first snapshot.
  const { app, store, metrics } = serverWithMetrics();
  t.after(() => metrics.close());
  const samples = (body: string, name: string): string[] => body.split('\n').filter((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  const before = (await app.inject({ url: '/metrics' })).body;
  for (const name of ['metrics_server_snapshot_age_seconds', 'metrics_server_snapshot_confirmed_age_seconds', 'metrics_server_snapshot_timestamp_seconds', 'metrics_server_snapshot_version', 'metrics_server_last_successful_ingestion_timestamp_seconds']) {
    assert.deepEqual(samples(before, name), [], name);
  }
  publishCsv(store, SEED_CSV, Date.now() - 3000);
  const after = (await app.inject({ url: '/metrics' })).body;
  assert.equal(samples(after, 'metrics_server_snapshot_age_seconds').length, 1);
  assert.ok(Number(samples(after, 'metrics_server_snapshot_confirmed_age_seconds')[0]!.split(' ')[1]) >= 3);
});

test('fabric series can be switched off', async (t) => {
  const { app, store, metrics } = serverWithMetrics(false);
  t.after(() => metrics.close());
  publishCsv(store, SEED_CSV);
  const body = (await app.inject({ url: '/metrics' })).body;
  assert.ok(!body.includes('fabric_switch_'));
  assert.match(body, /^metrics_server_snapshot_version 1$/m);
});

test('OpenMetrics when the scraper asks for it', async (t) => {
  const { app, store, metrics } = serverWithMetrics();
  t.after(() => metrics.close());
  publishCsv(store, SEED_CSV);
  const res = await app.inject({ url: '/metrics', headers: { accept: 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5' } });
  assert.match(res.headers['content-type'] as string, /^application\/openmetrics-text; version=1\.0\.0/);
  assert.ok(res.body.startsWith('# HELP fabric_switch_bandwidth_bytes_per_second'));
  assert.ok(res.body.endsWith('# EOF\n'));
  assert.equal(res.body.indexOf('# EOF'), res.body.length - 6, 'EOF only at the very end');
  assert.match(res.body, /^# TYPE metrics_server_polls counter$/m);
});

test('promtool accepts both services\' expositions', { skip: skipUnless('promtool', 'promtool check metrics') }, async (t) => {
  const { app, store, metrics } = serverWithMetrics();
  t.after(() => metrics.close());
  publishCsv(store, SEED_CSV);
  await app.inject({ url: '/telemetry/ListMetrics' });
  const server = promtoolCheck((await app.inject({ url: '/metrics' })).body);
  assert.ok(server.ok, server.output);

  const { logger } = memoryLogger('ERROR');
  const generatorMetrics = new GeneratorMetrics(20);
  t.after(() => generatorMetrics.close());
  const feed = new TelemetryFeed({ switchCount: 20, metrics: ['bandwidth_mbps', 'link_status'], simulation: DEFAULT_SIMULATION, seed: 3, updateIntervalSeconds: 10, logger, onTick: generatorMetrics.observeTick });
  generatorMetrics.attach(feed);
  feed.advance();
  const generatorApp = buildGeneratorApp({ feed, metrics: generatorMetrics });
  const res = await generatorApp.inject({ url: '/metrics' });
  assert.match(res.body, /^generator_switches 20$/m);
  assert.match(res.body, /^generator_tick 1$/m);
  assert.match(res.body, /^generator_tick_duration_seconds_count 1$/m);
  assert.match(res.body, /^generator_links_down \d+$/m);
  const generator = promtoolCheck(res.body);
  assert.ok(generator.ok, generator.output);
  // And a deliberately broken exposition is refused: the check can fail.
  assert.equal(promtoolCheck('# TYPE bad_total gauge\nbad_total 1\n').ok, false);
});

test('readiness flips to 503 when the generator stops for longer than the allowed age, and back', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ms-ready-'));
  let generator = await startGeneratorProcess(writeGeneratorConfig(dir, 5, 10, 0.2));
  t.after(() => stopProcess(generator.child));
  const { logger } = memoryLogger('ERROR');
  const config = { ...testConfig({ generatorUrl: new URL(`${generator.url}/counters`), pollIntervalMs: 100, fetchTimeoutMs: 300 }), readiness: { maxAgeMs: 800 } };
  const server = await startMetricsServer(config, { logger });
  t.after(() => server.stop());
  const ready = async (): Promise<number> => (await fetch(`${server.url}/readyz`)).status;

  await until(async () => (await ready()) === 200, 'ready');
  await stopProcess(generator.child);
  await until(async () => (await ready()) === 503, 'not ready after the generator stopped');
  const body = (await (await fetch(`${server.url}/readyz`)).json()) as { error: string };
  assert.match(body.error, /^not ready: snapshot v\d+ not confirmed current for \d+\.\d s \(limit 0\.8 s; the data is \d+\.\d s old\)$/);
  assert.equal((await fetch(`${server.url}/healthz`)).status, 200, 'alive while not ready');
  assert.equal((await fetch(`${server.url}/telemetry/ListMetrics`)).status, 200, 'still serving the last snapshot');

  generator = await startGeneratorProcess(writeGeneratorConfig(dir, 6, 10, 0.2), generator.port);
  await until(async () => (await ready()) === 200, 'ready again after the generator returned');
});
