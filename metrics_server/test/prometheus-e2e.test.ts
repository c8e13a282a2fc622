/**
 * A real Prometheus server (Debian's package) scrapes both services on loopback for a short,
 * bounded time; its HTTP API must return the expected series for a switch. Prometheus negotiates
 * OpenMetrics, so this also proves that format parses.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMetricsServer } from '../src/metrics-server.js';
import { freePort, memoryLogger, testConfig } from './helpers.js';
import { startGeneratorProcess, stopProcess, until, writeGeneratorConfig } from './generator-process.js';
import { skipUnless } from './promtool.js';

interface QueryResult {
  status: string;
  data: { result: { metric: Record<string, string>; value: [number, string] }[] };
}

test('Prometheus scrapes both services and answers the series of a switch', { skip: skipUnless('prometheus', 'the Prometheus end-to-end test'), timeout: 60_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'prom-e2e-'));
  const generator = await startGeneratorProcess(writeGeneratorConfig(dir, 11, 5, 3600));
  t.after(() => stopProcess(generator.child));
  const { logger } = memoryLogger('ERROR');
  const server = await startMetricsServer(testConfig({ generatorUrl: new URL(`${generator.url}/counters`), pollIntervalMs: 500 }), { logger });
  t.after(() => server.stop());
  await until(() => server.store.current() !== undefined, 'the first snapshot');

  const promPort = await freePort();
  const config = join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    [
      'global:',
      '  scrape_interval: 1s',
      '  scrape_timeout: 900ms',
      'scrape_configs:',
      '  - job_name: metrics_server',
      `    static_configs: [{ targets: ['${new URL(server.url).host}'] }]`,
      '  - job_name: generator',
      `    static_configs: [{ targets: ['${new URL(generator.url).host}'] }]`,
      '',
    ].join('\n'),
  );
  const prometheus = spawn('prometheus', [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${promPort}`, '--log.level=warn'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let promLog = '';
  prometheus.stderr.on('data', (c: Buffer) => (promLog += c.toString()));
  t.after(() => stopProcess(prometheus));

  const query = async (q: string): Promise<QueryResult['data']['result']> => {
    try {
      const res = await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(q)}`);
      if (!res.ok) return [];
      return ((await res.json()) as QueryResult).data.result;
    } catch {
      return []; // not listening yet
    }
  };
  await until(async () => (await query('fabric_switch_latency_seconds{switch="sw2"}')).length === 1 && (await query('generator_switches')).length === 1, `Prometheus to have scraped both targets (log: ${promLog})`, 30_000);

  const snapshot = server.store.current()!;
  const [latency] = await query('fabric_switch_latency_seconds{switch="sw2"}');
  assert.equal(latency!.metric['job'], 'metrics_server');
  assert.equal(Number(latency!.value[1]), Number((snapshot.value('sw2', 'latency_ms')! / 1000).toPrecision(15)));
  const [bandwidth] = await query('fabric_switch_bandwidth_bytes_per_second{switch="sw2"}');
  assert.equal(Number(bandwidth!.value[1]), snapshot.value('sw2', 'bandwidth_mbps')! * 125_000);
  assert.equal((await query('count(fabric_switch_link_up)'))[0]!.value[1], '5');
  const [switches] = await query('generator_switches');
  assert.equal(switches!.value[1], '5');
  const up = await query('up');
  assert.deepEqual(up.map((s) => [s.metric['job'], s.value[1]]).sort(), [['generator', '1'], ['metrics_server', '1']]);
});
