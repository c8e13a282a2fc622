/**
 * ListMetrics filters, compressed bodies and conditional requests (issue 17, items 10-12): each test
 * would fail on the server before these were built (filters were ignored, bodies never compressed,
 * If-Modified-Since ignored, Status sent an ETag its changing body did not honour).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { SEED_CSV, publishCsv, testApp } from './helpers.js';

const TS = 1766501919;

function app(firstVersion = 1) {
  const built = testApp('ERROR', () => [], { firstVersion });
  const snapshot = publishCsv(built.store, SEED_CSV, TS * 1000);
  return { ...built, snapshot };
}

test('ListMetrics filters: switches and metrics by comma list, in snapshot order, with the whole body\'s text', async (t) => {
  const { app: server } = app();
  t.after(() => server.close());
  const whole = (await server.inject({ url: '/telemetry/ListMetrics' })).json<Record<string, Record<string, number>>>();
  const res = await server.inject({ url: '/telemetry/ListMetrics?switch=sw3,sw1&metric=utilization_percent,latency_ms' });
  assert.equal(res.statusCode, 200);
  assert.equal(res.body, '{"sw1":{"latency_ms":1.42,"utilization_percent":47.5,"timestamp":1766501919},"sw3":{"latency_ms":0,"utilization_percent":0,"timestamp":1766501919}}');
  assert.equal(res.headers['etag'], '"v1"');
  const onlySwitch = (await server.inject({ url: '/telemetry/ListMetrics?switch=sw2,sw2' })).json<Record<string, Record<string, number>>>();
  assert.deepEqual(onlySwitch, { sw2: whole['sw2'] }, 'a repeated item counts once');
  const onlyMetric = (await server.inject({ url: '/telemetry/ListMetrics?metric=link_status' })).json<Record<string, Record<string, number>>>();
  assert.deepEqual(Object.keys(onlyMetric), ['sw1', 'sw2', 'sw3']);
  assert.deepEqual(onlyMetric['sw3'], { link_status: 0, timestamp: TS });
});

test('ListMetrics filters: 400 for malformed, empty or repeated, 404 naming the unknown', async (t) => {
  const { app: server } = app();
  t.after(() => server.close());
  const cases: [string, number, string][] = [
    ['switch=sw1,sw9', 404, "unknown switch 'sw9'"],
    ['metric=latency_ms,nope', 404, "unknown metric 'nope'"],
    ['switch=sw1,,sw2', 400, "query parameter 'switch' has an empty item"],
    ['switch=', 400, "query parameter 'switch' is empty"],
    ['switch=sw1&switch=sw2', 400, "query parameter 'switch' must be given once"],
    ['switch=sw%201', 400, "query parameter 'switch' holds an item that is not a valid switch id (letters, digits and _ . : -, at most 64)"],
    ['metric=latency-ms', 400, "query parameter 'metric' holds an item that is not a valid metric name (letters, digits and _, at most 64)"],
  ];
  for (const [query, status, error] of cases) {
    const res = await server.inject({ url: `/telemetry/ListMetrics?${query}` });
    assert.equal(res.statusCode, status, query);
    assert.deepEqual(res.json(), { error }, query);
  }
});

test('ListMetrics compressed once per snapshot: brotli preferred, gzip next, identity otherwise, with Vary', async (t) => {
  const { app: server, views } = app();
  t.after(() => server.close());
  const identity = await server.inject({ url: '/telemetry/ListMetrics' });
  assert.equal(identity.headers['content-encoding'], undefined);
  assert.equal(identity.headers['vary'], 'Accept, Accept-Encoding');
  const cases: [string, string | undefined][] = [
    ['gzip, deflate, br', 'br'],
    ['gzip', 'gzip'],
    ['br;q=0, gzip;q=0.5', 'gzip'],
    ['*', 'br'],
    ['identity', undefined],
    ['gzip;q=0', undefined],
  ];
  for (const [accept, expected] of cases) {
    const res = await server.inject({ url: '/telemetry/ListMetrics', headers: { 'accept-encoding': accept } });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-encoding'], expected, accept);
    assert.equal(res.headers['vary'], 'Accept, Accept-Encoding');
    const raw = res.rawPayload;
    const decoded = expected === 'br' ? brotliDecompressSync(raw) : expected === 'gzip' ? gunzipSync(raw) : raw;
    assert.equal(decoded.toString('utf8'), identity.body, accept);
  }
  for (const name of ['list-metrics.json.br', 'list-metrics.json.gz'] as const) assert.equal(views.stats(name).renders, 1, `${name}: rendered once for the snapshot`);
});

test('If-Modified-Since answers 304 when the snapshot is not newer; If-None-Match takes precedence', async (t) => {
  const { app: server, snapshot } = app(5);
  t.after(() => server.close());
  const later = new Date((TS + 10) * 1000).toUTCString();
  const earlier = new Date((TS - 10) * 1000).toUTCString();
  for (const url of ['/telemetry/GetMetric?switch=sw1&metric=latency_ms', '/telemetry/ListMetrics', '/telemetry/ListMetrics?switch=sw1']) {
    const same = await server.inject({ url, headers: { 'if-modified-since': snapshot.lastModified } });
    assert.equal(same.statusCode, 304, `${url}: not modified since its own Last-Modified`);
    assert.equal(same.headers['etag'], '"v5"');
    assert.equal((await server.inject({ url, headers: { 'if-modified-since': later } })).statusCode, 304, url);
    assert.equal((await server.inject({ url, headers: { 'if-modified-since': earlier } })).statusCode, 200, url);
    assert.equal((await server.inject({ url, headers: { 'if-modified-since': 'not a date' } })).statusCode, 200, `${url}: an unreadable date is ignored`);
    const precedence = await server.inject({ url, headers: { 'if-none-match': '"v4"', 'if-modified-since': later } });
    assert.equal(precedence.statusCode, 200, `${url}: If-None-Match decides when present`);
  }
});

test('Status carries no validator its changing body would not honour, and never answers 304', async (t) => {
  const { app: server } = app();
  t.after(() => server.close());
  const res = await server.inject({ url: '/telemetry/Status' });
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['etag'], undefined);
  assert.equal(res.headers['last-modified'], undefined);
  assert.equal(res.headers['cache-control'], 'no-store');
  assert.match(String(res.headers['x-snapshot-age-seconds']), /^\d+\.\d{3}$/);
  assert.equal((await server.inject({ url: '/telemetry/Status', headers: { 'if-none-match': '"v1"' } })).statusCode, 200);
});
