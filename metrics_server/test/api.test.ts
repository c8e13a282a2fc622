import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SEED_CSV, publishCsv, testApp } from './helpers.js';

const SEED_TS = 1766501919;

test('503 with a JSON error before the first snapshot, on every data endpoint', async () => {
  const { app } = testApp();
  for (const url of ['/telemetry/ListMetrics', '/telemetry/GetMetric?switch=sw1&metric=latency_ms', '/readyz']) {
    const res = await app.inject({ url });
    assert.equal(res.statusCode, 503, url);
    assert.match(res.headers['content-type'] as string, /^application\/json/);
    assert.ok(typeof res.json<{ error: string }>().error === 'string');
  }
  const status = await app.inject({ url: '/telemetry/Status' });
  assert.equal(status.statusCode, 200);
  assert.equal(status.json<{ snapshot: unknown }>().snapshot, null);
});

test('GetMetric answers the seed shape with numbers as the CSV gave them', async () => {
  const { app, store } = testApp();
  publishCsv(store, SEED_CSV, SEED_TS * 1000);
  const cases = [
    ['sw1', 'bandwidth_mbps', '{"switch":"sw1","metric":"bandwidth_mbps","value":8123,"timestamp":1766501919}'],
    ['sw1', 'latency_ms', '{"switch":"sw1","metric":"latency_ms","value":1.42,"timestamp":1766501919}'],
    ['sw2', 'latency_ms', '{"switch":"sw2","metric":"latency_ms","value":6.8,"timestamp":1766501919}'],
    ['sw3', 'link_status', '{"switch":"sw3","metric":"link_status","value":0,"timestamp":1766501919}'],
  ] as const;
  for (const [sw, metric, body] of cases) {
    const res = await app.inject({ url: `/telemetry/GetMetric?switch=${sw}&metric=${metric}` });
    assert.equal(res.statusCode, 200);
    assert.equal(res.body, body);
    assert.equal(res.headers['content-type'], 'application/json; charset=utf-8');
    assert.equal(res.headers.etag, '"v1"');
    assert.match(res.headers['x-snapshot-age-seconds'] as string, /^\d+\.\d{3}$/);
  }
});

test('ListMetrics answers every switch with one timestamp', async () => {
  const { app, store } = testApp('DEBUG', () => [], { firstVersion: 7 });
  publishCsv(store, SEED_CSV, SEED_TS * 1000);
  const res = await app.inject({ url: '/telemetry/ListMetrics' });
  assert.equal(res.statusCode, 200);
  assert.deepEqual(res.json(), {
    sw1: { bandwidth_mbps: 8123, latency_ms: 1.42, packet_errors: 0, link_status: 1, tx_queue_depth: 128, utilization_percent: 47.5, timestamp: SEED_TS },
    sw2: { bandwidth_mbps: 6400, latency_ms: 6.8, packet_errors: 2, link_status: 1, tx_queue_depth: 512, utilization_percent: 63.1, timestamp: SEED_TS },
    sw3: { bandwidth_mbps: 0, latency_ms: 0, packet_errors: 0, link_status: 0, tx_queue_depth: 0, utilization_percent: 0, timestamp: SEED_TS },
  });
  assert.equal(res.headers.etag, '"v7"');
  assert.equal(res.headers['last-modified'], new Date(SEED_TS * 1000).toUTCString());
});

test('If-None-Match with the current ETag gets 304; a stale one gets the body', async () => {
  const { app, store } = testApp('DEBUG', () => [], { firstVersion: 3 });
  publishCsv(store, SEED_CSV);
  for (const url of ['/telemetry/ListMetrics', '/telemetry/GetMetric?switch=sw1&metric=latency_ms']) {
    const fresh = await app.inject({ url, headers: { 'if-none-match': '"v3"' } });
    assert.equal(fresh.statusCode, 304, url);
    assert.equal(fresh.body, '');
    const stale = await app.inject({ url, headers: { 'if-none-match': '"v2"' } });
    assert.equal(stale.statusCode, 200, url);
  }
});

test('If-None-Match is a list compared weakly, and * matches any current snapshot', async () => {
  // Planted bug this catches: notModified() comparing If-None-Match as one exact string (no lists, no
  // W/, no *) answered 200 to every case below that expects 304 (RFC 9110 section 13.1.2).
  const { app, store } = testApp('DEBUG', () => [], { firstVersion: 3 });
  publishCsv(store, SEED_CSV);
  const cases: [string, number][] = [
    ['"v2", "v3"', 304],
    ['"v1","v3" , "v9"', 304],
    ['W/"v3"', 304],
    ['"v2", W/"v3"', 304],
    ['*', 304],
    ['"v2", W/"v1"', 200],
    ['"v33"', 200],
    ['W/"v2"', 200],
    ['v3', 200],
  ];
  for (const url of ['/telemetry/ListMetrics', '/telemetry/GetMetric?switch=sw1&metric=latency_ms']) {
    for (const [header, status] of cases) {
      const res = await app.inject({ url, headers: { 'if-none-match': header } });
      assert.equal(res.statusCode, status, `${url} If-None-Match: ${header}`);
      assert.equal(res.headers.etag, '"v3"', `${url} If-None-Match: ${header}`);
      if (status === 304) assert.equal(res.body, '');
      else assert.equal(res.body.length > 0, true);
    }
  }
});

test('HEAD answers headers without a body', async () => {
  const { app, store } = testApp();
  publishCsv(store, SEED_CSV);
  const res = await app.inject({ method: 'HEAD', url: '/telemetry/ListMetrics' });
  assert.equal(res.statusCode, 200);
  assert.equal(res.body, '');
  assert.equal(res.headers.etag, '"v1"');
});

test('bad requests: exact status and JSON error', async () => {
  const { app, store } = testApp();
  publishCsv(store, SEED_CSV);
  const cases: [string, number, string][] = [
    ['/telemetry/GetMetric', 400, "missing query parameter 'switch'"],
    ['/telemetry/GetMetric?metric=latency_ms', 400, "missing query parameter 'switch'"],
    ['/telemetry/GetMetric?switch=sw1', 400, "missing query parameter 'metric'"],
    ['/telemetry/GetMetric?switch=&metric=latency_ms', 400, "query parameter 'switch' is empty"],
    ['/telemetry/GetMetric?switch=sw1&metric=', 400, "query parameter 'metric' is empty"],
    ['/telemetry/GetMetric?switch=sw1&switch=sw2&metric=latency_ms', 400, "query parameter 'switch' must be given once"],
    ['/telemetry/GetMetric?switch=sw1&metric=latency_ms&metric=latency_ms', 400, "query parameter 'metric' must be given once"],
    ['/telemetry/GetMetric?switch[]=sw1&metric=latency_ms', 400, "missing query parameter 'switch'"],
    ['/telemetry/GetMetric?switch=sw%201&metric=latency_ms', 400, "query parameter 'switch' is not a valid switch id (letters, digits and _ . : -, at most 64)"],
    ['/telemetry/GetMetric?switch=sw1&metric=latency-ms', 400, "query parameter 'metric' is not a valid metric name (letters, digits and _, at most 64)"],
    ['/telemetry/GetMetric?switch=sw1&metric=timestamp', 400, "query parameter 'metric' is not a valid metric name (letters, digits and _, at most 64)"],
    ['/telemetry/GetMetric?switch=sw9&metric=latency_ms', 404, "unknown switch 'sw9'"],
    ['/telemetry/GetMetric?switch=sw1&metric=temperature_c', 404, "unknown metric 'temperature_c'"],
    ['/telemetry/Nope', 404, 'no such endpoint'],
    ['/telemetry/getmetric?switch=sw1&metric=latency_ms', 404, 'no such endpoint'],
    ['/', 404, 'no such endpoint'],
    ['/telemetry/../etc/passwd', 404, 'no such endpoint'],
    ['/telemetry/ListMetrics/', 404, 'no such endpoint'],
  ];
  for (const [url, status, error] of cases) {
    const res = await app.inject({ url });
    assert.equal(res.statusCode, status, url);
    assert.deepEqual(res.json(), { error }, url);
  }
});

test('405 with Allow for other methods on known paths; 404 for unknown paths whatever the method', async () => {
  const { app, store } = testApp();
  publishCsv(store, SEED_CSV);
  for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const) {
    for (const url of ['/telemetry/GetMetric', '/telemetry/ListMetrics', '/telemetry/Status', '/healthz', '/readyz']) {
      const res = await app.inject({ method, url });
      assert.equal(res.statusCode, 405, `${method} ${url}`);
      assert.equal(res.headers.allow, 'GET, HEAD');
      assert.match(res.json<{ error: string }>().error, /not allowed/);
    }
    const unknown = await app.inject({ method, url: '/nowhere' });
    assert.equal(unknown.statusCode, 404);
  }
});

test('Status reports the snapshot and the ingestion', async () => {
  const { app, store, health } = testApp('DEBUG', () => [], { firstVersion: 4 });
  publishCsv(store, SEED_CSV, Date.now() - 2000);
  health.record({ outcome: 'failed', startedAtMs: Date.now(), durationMs: 3.5, bytes: 0, error: 'cannot connect: ECONNREFUSED' });
  const res = await app.inject({ url: '/telemetry/Status' });
  const doc = res.json<{ snapshot: Record<string, unknown>; ingestion: Record<string, unknown> }>();
  assert.equal(doc.snapshot['version'], 4);
  assert.equal(doc.snapshot['switches'], 3);
  assert.equal(doc.snapshot['metrics'], 6);
  assert.ok((doc.snapshot['age_seconds'] as number) >= 2);
  assert.equal(doc.ingestion['consecutive_failures'], 1);
  assert.deepEqual(doc.ingestion['last_error'], { message: 'cannot connect: ECONNREFUSED', at: Math.floor(health.lastError!.atMs / 1000) });
  assert.deepEqual(doc.ingestion['polls'], { ok: 0, not_modified: 0, failed: 1 });
});

test('healthz always 200; readyz 200 only while the snapshot was confirmed current recently', async () => {
  const { app, store } = testApp();
  assert.equal((await app.inject({ url: '/healthz' })).statusCode, 200);
  publishCsv(store, SEED_CSV, Date.now() - 60_000);
  const stale = await app.inject({ url: '/readyz' });
  assert.equal(stale.statusCode, 503);
  assert.match(stale.json<{ error: string }>().error, /^not ready: snapshot v1 not confirmed current for 60\.\d s \(limit 17 s; the data is 60\.\d s old\)$/);
  publishCsv(store, SEED_CSV, Date.now());
  assert.equal((await app.inject({ url: '/readyz' })).statusCode, 200);
});

test('a 304 confirms old data as current: ready, with the data\'s own age kept in Status', async () => {
  // Before the fix readiness went by the data's age alone: a generator ticking every 10 s polled every
  // second answered 304 and /readyz flapped to 503 although every poll succeeded.
  const { app, store, health } = testApp();
  publishCsv(store, SEED_CSV, Date.now() - 60_000);
  health.record({ outcome: 'not_modified', startedAtMs: Date.now() - 5, durationMs: 2, bytes: 0 });
  const ready = await app.inject({ url: '/readyz' });
  assert.equal(ready.statusCode, 200, ready.body);
  const doc = (await app.inject({ url: '/telemetry/Status' })).json<{ snapshot: Record<string, number> }>();
  assert.ok(doc.snapshot['age_seconds']! >= 60, 'the data\'s own age is never reset by a 304');
  assert.ok(doc.snapshot['confirmed_age_seconds']! < 5, String(doc.snapshot['confirmed_age_seconds']));
  assert.equal(doc.snapshot['confirmed_at'], Math.floor(health.lastSuccessAtMs! / 1000));
  // A failed poll confirms nothing.
  health.record({ outcome: 'failed', startedAtMs: Date.now(), durationMs: 1, bytes: 0, error: 'HTTP 500' });
  assert.equal((await app.inject({ url: '/readyz' })).statusCode, 200, 'still within the limit of the last confirmation');
});

test('not-ready probes log a WARNING when readiness is lost, then DEBUG, never ERROR; ready again re-arms the warning', async () => {
  const { app, store, sink } = testApp('DEBUG');
  publishCsv(store, SEED_CSV, Date.now() - 60_000);
  for (let i = 0; i < 3; i++) assert.equal((await app.inject({ url: '/readyz' })).statusCode, 503);
  const probeLines = (): string[] => sink.lines.filter((l) => l.includes(' /readyz '));
  assert.deepEqual(
    probeLines().map((l) => l.split(' ')[1]),
    ['WARNING', 'DEBUG', 'DEBUG'],
  );
  publishCsv(store, SEED_CSV, Date.now());
  assert.equal((await app.inject({ url: '/readyz' })).statusCode, 200);
  publishCsv(store, SEED_CSV, Date.now() - 60_000);
  assert.equal((await app.inject({ url: '/readyz' })).statusCode, 503);
  assert.deepEqual(
    probeLines().map((l) => l.split(' ')[1]),
    ['WARNING', 'DEBUG', 'DEBUG', 'INFO', 'WARNING'],
  );
});

test('a query string over the limit gets 414', async () => {
  const { app } = testApp();
  const res = await app.inject({ url: `/telemetry/GetMetric?switch=${'a'.repeat(3000)}&metric=x` });
  assert.equal(res.statusCode, 414);
  assert.deepEqual(res.json(), { error: 'query string longer than 2048 bytes' });
});

test('a request body over the body limit on a known path is refused with the 405, before it is parsed', async () => {
  // Was "405 or 413": the spec wants 405 for any other method on a known path, and the method guard
  // runs before the body parser (app.ts), so a body over the 1 KiB limit must not turn it into a 413.
  // Planted bug this catches: the 405 routes without their onRequest guard answered 413.
  const { app } = testApp();
  for (const url of ['/telemetry/GetMetric', '/telemetry/ListMetrics']) {
    const res = await app.inject({ method: 'POST', url, payload: 'x'.repeat(5000), headers: { 'content-type': 'text/plain' } });
    assert.equal(res.statusCode, 405, url);
    assert.equal(res.headers.allow, 'GET, HEAD');
    assert.deepEqual(res.json(), { error: 'method POST is not allowed on this path (allowed: GET, HEAD)' });
  }
});

test('an unexpected error is a 500 with a generic JSON body, logged with its cause, the request line at ERROR', async () => {
  // The 500 handler (app.ts setErrorHandler) was untested: no test produced a 500 through the server.
  // Here the store itself breaks, as a bug in it would, under the real routes, handler and request log.
  // Planted bugs this catches: levelForStatus() with `> 500` instead of `>= 500` logged this line at
  // WARNING; a handler sending error.message leaked the internal message to the client.
  const { app, store, sink } = testApp('DEBUG', () => [], { fastReadPath: false });
  publishCsv(store, SEED_CSV);
  store.current = () => {
    throw new TypeError('store exploded at /work/secret/path');
  };
  for (const url of ['/telemetry/GetMetric?switch=sw1&metric=latency_ms', '/telemetry/ListMetrics']) {
    const res = await app.inject({ url });
    assert.equal(res.statusCode, 500, url);
    assert.equal(res.headers['content-type'], 'application/json; charset=utf-8');
    assert.deepEqual(res.json(), { error: 'internal server error' }, url);
    assert.doesNotMatch(res.body, /exploded|secret/);
    const requestLine = sink.lines.find((l) => l.includes(` ${url} 500 `));
    assert.match(requestLine ?? '', /^\S+ ERROR \S+ 500 \d+\.\d\dms$/, sink.lines.join('\n'));
    assert.ok(sink.lines.some((l) => l.includes(` ERROR internal error on GET ${url}`) && l.includes('store exploded')), sink.lines.join('\n'));
  }
  await app.close();
});
