import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SEED_CSV, publishCsv, testApp } from './helpers.js';
import { MemorySink, createLogger } from '../../common/logger.js';
import { levelForStatus } from '../src/http/request-log.js';

const LINE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (INFO|WARNING|ERROR) (\S+) (\d{3}) (\d+\.\d{2})ms$/;

test("one line per request in the seed's form, level by status", async () => {
  const { app, store, sink } = testApp('DEBUG');
  await app.inject({ url: '/telemetry/ListMetrics' }); // 503
  publishCsv(store, SEED_CSV);
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
  publishCsv(store, SEED_CSV);
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

test('a request the router rejects (malformed URL) still gets exactly one line, over a real socket', async () => {
  const net = await import('node:net');
  const observed: string[] = [];
  const { app, sink } = testApp('DEBUG', () => [{ paths: [], register: () => undefined, onResponse: (route, method, status) => observed.push(`${route} ${method} ${status}`) }]);
  await app.listen({ host: '127.0.0.1', port: 0 });
  try {
    const { port } = app.server.address() as import('node:net').AddressInfo;
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => socket.end('GET /telemetry/%E0%A4%A HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
      let text = '';
      socket.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    assert.match(answer, /^HTTP\/1\.1 400 /);
    assert.match(answer, /\{"error":"malformed URL"\}$/);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const lines = sink.lines.filter((l) => l.includes('%E0%A4%A'));
    assert.equal(lines.length, 1, sink.lines.join('\n'));
    assert.match(lines[0]!, LINE);
    assert.match(lines[0]!, / WARNING \/telemetry\/%E0%A4%A 400 /);
    assert.deepEqual(observed, ['unmatched GET 400']);
  } finally {
    await app.close();
  }
});
