import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SEED_CSV, snapshotFromCsv, testApp } from './helpers.js';
import { MemorySink, createLogger } from '../../common/logger.js';
import { levelForStatus } from '../src/http/request-log.js';

const LINE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (INFO|WARNING|ERROR) (\S+) (\d{3}) (\d+\.\d{2})ms$/;

test("one line per request in the seed's form, level by status", async () => {
  const { app, store, sink } = testApp('DEBUG');
  await app.inject({ url: '/telemetry/ListMetrics' }); // 503
  store.publish(snapshotFromCsv(SEED_CSV));
  await app.inject({ url: '/telemetry/ListMetrics' });
  await app.inject({ url: '/telemetry/GetMetric?switch=sw9&metric=latency_ms' });
  await app.inject({ method: 'DELETE', url: '/telemetry/ListMetrics' });
  const lines = sink.lines.map((l) => LINE.exec(l)).filter((m) => m !== null);
  assert.equal(lines.length, 4, sink.lines.join('\n'));
  assert.deepEqual(
    lines.map((m) => [m[1], m[2], m[3]]),
    [
      ['ERROR', '/telemetry/ListMetrics', '503'],
      ['INFO', '/telemetry/ListMetrics', '200'],
      ['WARNING', '/telemetry/GetMetric?switch=sw9&metric=latency_ms', '404'],
      ['WARNING', '/telemetry/ListMetrics', '405'],
    ],
  );
  for (const m of lines) assert.ok(Number(m[4]) >= 0 && Number(m[4]) < 1000);
});

test('the configured level filters request lines', async () => {
  const { app, store, sink } = testApp('WARNING');
  store.publish(snapshotFromCsv(SEED_CSV));
  await app.inject({ url: '/telemetry/ListMetrics' });
  await app.inject({ url: '/nope' });
  assert.equal(sink.lines.length, 1);
  assert.match(sink.lines[0]!, / WARNING \/nope 404 \d+\.\d\dms$/);
});

test('level by status', () => {
  assert.equal(levelForStatus(200), 'INFO');
  assert.equal(levelForStatus(304), 'INFO');
  assert.equal(levelForStatus(400), 'WARNING');
  assert.equal(levelForStatus(503), 'ERROR');
});

test('json format writes one object per line with the level name', () => {
  const sink = new MemorySink();
  const logger = createLogger({ level: 'INFO', format: 'json', sink });
  logger.debug('hidden');
  logger.child('poller').warning('poll failed', { reason: 'timeout' });
  assert.equal(sink.lines.length, 1);
  const record = JSON.parse(sink.lines[0]!) as Record<string, unknown>;
  assert.equal(record['level'], 'WARNING');
  assert.equal(record['component'], 'poller');
  assert.equal(record['msg'], 'poll failed');
  assert.equal(record['reason'], 'timeout');
});
