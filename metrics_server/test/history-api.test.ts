/**
 * The history endpoints (http/history-routes.ts) as a client sees them: shapes and exact value text
 * of GetHistory, Aggregate and Top; every parameter's bad input with its status and JSON error; and,
 * against a whole server polling a fake generator, that a 304 and a failed poll add nothing, an
 * outage shows as a gap, and Status and /metrics report the history.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HistoryStore } from '../src/history/history-store.js';
import { historyRoutes } from '../src/http/history-routes.js';
import { startMetricsServer } from '../src/metrics-server.js';
import { contentFromCsv, csvHandler, fakeUpstream, memoryLogger, testApp, testConfig } from './helpers.js';

const NOW = 1_766_501_919;
const csv = (latency: string, bandwidth: number): string =>
  `switch_id,bandwidth_mbps,latency_ms,packet_errors,link_status,tx_queue_depth,utilization_percent\nsw1,${bandwidth},${latency},0,1,128,47.5\nsw2,6400,6.8,2,1,512,63.1\nsw3,0,0,0,0,0,0\n`;

/** An app over a history holding three snapshots, 10 s apart, the last at NOW. */
async function historyApp(retentionSeconds = 3600, follow = true) {
  const history = new HistoryStore({ retentionSeconds, maxMemoryBytes: 64 * 1024 * 1024 });
  const { logger } = memoryLogger();
  const made = testApp('DEBUG', (store) => {
    if (follow) history.follow(store);
    return [historyRoutes({ history, reader: store, retentionSeconds, logger, now: () => NOW })];
  });
  return { ...made, history };
}

async function get(app: Awaited<ReturnType<typeof historyApp>>['app'], url: string): Promise<{ status: number; body: string; json: Record<string, unknown>; headers: Record<string, unknown> }> {
  const res = await app.inject({ method: 'GET', url });
  return { status: res.statusCode, body: res.body, json: JSON.parse(res.body) as Record<string, unknown>, headers: res.headers };
}

test('GetHistory, Aggregate and Top: the SPEC shapes, values as the CSV gave them', async () => {
  const { app, store, history } = await historyApp();
  store.publishNow(contentFromCsv(csv('1.42', 8123), (NOW - 20) * 1000));
  store.publishNow(contentFromCsv(csv('1.5', 8200), (NOW - 10) * 1000));
  store.publishNow(contentFromCsv(csv('0.07', 8123), NOW * 1000));
  await history.idle();

  const raw = await get(app, '/telemetry/GetHistory?switch=sw1&metric=latency_ms');
  assert.equal(raw.status, 200);
  assert.equal(
    raw.body,
    `{"switch":"sw1","metric":"latency_ms","since":${NOW - 3600},"until":${NOW},"step":null,"samples":[{"timestamp":${NOW - 20},"value":1.42},{"timestamp":${NOW - 10},"value":1.5},{"timestamp":${NOW},"value":0.07}]}`,
  );
  assert.equal(raw.headers['cache-control'], 'no-store');
  assert.ok(raw.headers['x-snapshot-age-seconds'] !== undefined);
  // The same text GetMetric gives for the newest sample.
  const current = await get(app, '/telemetry/GetMetric?switch=sw1&metric=latency_ms');
  assert.equal(current.json['value'], 0.07);
  assert.match(current.body, /"value":0\.07,/);

  const integer = await get(app, `/telemetry/GetHistory?switch=sw1&metric=bandwidth_mbps&since=${NOW - 10}&until=now`);
  assert.deepEqual(integer.json['samples'], [{ timestamp: NOW - 10, value: 8200 }, { timestamp: NOW, value: 8123 }]);
  assert.match(integer.body, /"value":8200\}/);

  const buckets = await get(app, `/telemetry/GetHistory?switch=sw1&metric=latency_ms&since=-1m&step=1m`);
  const start = Math.floor((NOW - 20) / 60) * 60;
  const expected = [NOW - 20, NOW - 10, NOW].reduce<Map<number, number[]>>((m, t, i) => m.set(Math.floor(t / 60) * 60, [...(m.get(Math.floor(t / 60) * 60) ?? []), [1.42, 1.5, 0.07][i]!]), new Map());
  assert.equal(buckets.json['step'], 60);
  assert.deepEqual(
    buckets.json['samples'],
    [...expected].map(([timestamp, xs]) => ({ timestamp, min: Math.min(...xs), max: Math.max(...xs), avg: Number((xs.reduce((a, b) => a + b, 0) / xs.length).toPrecision(15)), count: xs.length })),
  );
  assert.ok((buckets.json['samples'] as { timestamp: number }[])[0]!.timestamp >= start);

  const p50 = await get(app, '/telemetry/Aggregate?metric=latency_ms&fn=p50&window=1h&switch=sw1');
  assert.equal(p50.body, `{"metric":"latency_ms","fn":"p50","window":"1h","switch":"sw1","from":${NOW - 3600},"to":${NOW},"samples":3,"value":1.42}`);
  const fabricMax = await get(app, '/telemetry/Aggregate?metric=latency_ms&fn=max&window=30s');
  assert.equal(fabricMax.body, `{"metric":"latency_ms","fn":"max","window":"30s","from":${NOW - 30},"to":${NOW},"samples":9,"value":6.8}`);
  const flaps = await get(app, '/telemetry/Aggregate?metric=bandwidth_mbps&fn=changes&window=1h&switch=sw1');
  assert.equal(flaps.json['value'], 2);
  const none = await get(app, '/telemetry/Aggregate?metric=latency_ms&fn=avg&window=5s&switch=sw1');
  assert.equal(none.json['value'], 0.07);

  const top = await get(app, '/telemetry/Top?metric=latency_ms&k=2&fn=max&window=1h');
  assert.equal(top.body, '{"metric":"latency_ms","fn":"max","window":"1h","k":2,"order":"desc","switches":[{"switch":"sw2","value":6.8},{"switch":"sw1","value":1.5}]}');
  // Defaults: fn=last, k=10, window=1h; ascending here: the tie of sw1 and sw3 (both 0) keeps snapshot order.
  const last = await get(app, '/telemetry/Top?metric=packet_errors&order=asc');
  assert.deepEqual(last.json['switches'], [{ switch: 'sw1', value: 0 }, { switch: 'sw3', value: 0 }, { switch: 'sw2', value: 2 }]);
  assert.equal(last.json['k'], 10);
  await app.close();
});

test('bad input for every parameter: status and JSON error', async () => {
  const { app, store, history } = await historyApp();
  const empty = await get(app, '/telemetry/GetHistory?switch=sw1&metric=latency_ms');
  assert.equal(empty.status, 503);
  store.publishNow(contentFromCsv(csv('1.42', 8123), NOW * 1000));
  await history.idle();
  const cases: [string, number, RegExp][] = [
    ['/telemetry/GetHistory?metric=latency_ms', 400, /missing query parameter 'switch'/],
    ['/telemetry/GetHistory?switch=sw1&switch=sw2&metric=latency_ms', 400, /'switch' must be given once/],
    ['/telemetry/GetHistory?switch=sw1&metric=latency_ms&since=-1h&since=-2m', 400, /'since' must be given once/],
    ['/telemetry/GetHistory?switch=sw1&metric=latency_ms&since=', 400, /'since' is empty/],
    ['/telemetry/GetHistory?switch=sw1&metric=latency_ms&since=yesterday', 400, /'since' is not a time/],
    ['/telemetry/GetHistory?switch=sw1&metric=latency_ms&since=-0m', 400, /'since' is not a time/],
    ['/telemetry/GetHistory?switch=sw1&metric=latency_ms&since=-15x', 400, /'since' is not a time/],
    ['/telemetry/GetHistory?switch=sw1&metric=latency_ms&since=-1.5h', 400, /'since' is not a time/],
    ['/telemetry/GetHistory?switch=sw1&metric=latency_ms&since=1766501919.5', 400, /'since' is not a time/],
    ['/telemetry/GetHistory?switch=sw1&metric=latency_ms&until=-1d2h', 400, /'until' is not a time/],
    ['/telemetry/GetHistory?switch=sw1&metric=latency_ms&since=now&until=-1m', 400, /'since' \(\d+\) is after 'until'/],
    ['/telemetry/GetHistory?switch=sw1&metric=latency_ms&since=-2h', 400, /longer than the history's retention of 3600 s/],
    ['/telemetry/GetHistory?switch=sw1&metric=latency_ms&step=0s', 400, /'step' is not a duration/],
    ['/telemetry/GetHistory?switch=sw1&metric=latency_ms&step=1', 400, /'step' is not a duration/],
    ['/telemetry/GetHistory?switch=sw1&metric=latency_ms&step=1m&step=5m', 400, /'step' must be given once/],
    ['/telemetry/GetHistory?switch=sw%20&metric=latency_ms', 400, /not a valid switch id/],
    ['/telemetry/GetHistory?switch=sw9&metric=latency_ms', 404, /unknown switch 'sw9'/],
    ['/telemetry/GetHistory?switch=sw1&metric=jitter_ms', 404, /unknown metric 'jitter_ms'/],
    ['/telemetry/Aggregate?metric=latency_ms&window=1h', 400, /missing query parameter 'fn'/],
    ['/telemetry/Aggregate?metric=latency_ms&fn=p42&window=1h', 400, /'fn' must be one of min, max, avg, sum, count, last, changes, p50, p90, p95, p99/],
    ['/telemetry/Aggregate?metric=latency_ms&fn=max&fn=min', 400, /'fn' must be given once/],
    ['/telemetry/Aggregate?metric=latency_ms&fn=max&window=0h', 400, /'window' is not a duration/],
    ['/telemetry/Aggregate?metric=latency_ms&fn=max&window=-1h', 400, /'window' is not a duration/],
    ['/telemetry/Aggregate?metric=latency_ms&fn=max&window=2d', 400, /longer than the history's retention/],
    ['/telemetry/Aggregate?metric=latency_ms&fn=max&switch=sw9', 404, /unknown switch 'sw9'/],
    ['/telemetry/Aggregate?metric=nope&fn=max', 404, /unknown metric 'nope'/],
    ['/telemetry/Top?metric=latency_ms&k=0', 400, /'k' must be an integer from 1 to 1000/],
    ['/telemetry/Top?metric=latency_ms&k=1001', 400, /'k' must be an integer from 1 to 1000/],
    ['/telemetry/Top?metric=latency_ms&k=2.5', 400, /'k' must be an integer from 1 to 1000/],
    ['/telemetry/Top?metric=latency_ms&k=ten', 400, /'k' must be an integer from 1 to 1000/],
    ['/telemetry/Top?metric=latency_ms&k=1&k=2', 400, /'k' must be given once/],
    ['/telemetry/Top?metric=latency_ms&order=up', 400, /'order' must be one of desc, asc/],
    ['/telemetry/Top?metric=latency_ms&fn=median', 400, /'fn' must be one of/],
    ['/telemetry/Top?metric=latency_ms&window=90', 400, /'window' is not a duration/],
    ['/telemetry/Top?k=3', 400, /missing query parameter 'metric'/],
  ];
  for (const [url, status, message] of cases) {
    const res = await get(app, url);
    assert.equal(res.status, status, `${url}: ${res.body}`);
    assert.deepEqual(Object.keys(res.json), ['error'], url);
    assert.match(String(res.json['error']), message, url);
  }
  const post = await app.inject({ method: 'POST', url: '/telemetry/Top?metric=latency_ms' });
  assert.equal(post.statusCode, 405);
  assert.equal(post.headers['allow'], 'GET, HEAD');
  const head = await app.inject({ method: 'HEAD', url: '/telemetry/Top?metric=latency_ms' });
  assert.equal(head.statusCode, 200);
  await app.close();
});

test('too many points: a window of more than 11,000 samples or buckets is a 400 naming a larger step', async () => {
  // Appended at once (not followed): 11,001 publishes in a row would overrun the append queue.
  const { app, store, history } = await historyApp(86400, false);
  const one = (v: number): string => `switch_id,latency_ms\nsw1,${v / 100}\n`;
  for (let i = 0; i <= 11_000; i++) history.appendNow(store.publishNow(contentFromCsv(one(i % 300), (NOW - 11_000 + i) * 1000)));
  await history.idle();
  const tooMany = await get(app, '/telemetry/GetHistory?switch=sw1&metric=latency_ms&since=-1d');
  assert.equal(tooMany.status, 400);
  assert.match(String(tooMany.json['error']), /holds 11001 samples, more than 11000; ask for buckets with step=10s or larger/);
  const justRight = await get(app, '/telemetry/GetHistory?switch=sw1&metric=latency_ms&since=-10999s');
  assert.equal((justRight.json['samples'] as unknown[]).length, 11_000);
  const buckets = await get(app, '/telemetry/GetHistory?switch=sw1&metric=latency_ms&since=-1d&step=5s');
  assert.equal(buckets.status, 400);
  assert.match(String(buckets.json['error']), /step=5s makes 1728[01] buckets, more than 11000; use step=10s or larger/);
  const ok = await get(app, '/telemetry/GetHistory?switch=sw1&metric=latency_ms&since=-1d&step=10s');
  assert.equal(ok.status, 200);
  assert.equal((ok.json['samples'] as { count: number }[]).reduce((n, b) => n + b.count, 0), 11_001);
  await app.close();
});

test('a whole server: a 304 and a failed poll add nothing, an outage is a gap; Status and /metrics report the history', async () => {
  const upstream = await fakeUpstream(csvHandler(csv('1.42', 8123), '"a"'));
  const { logger } = memoryLogger('WARNING');
  const server = await startMetricsServer(testConfig({ generatorUrl: upstream.url }), { logger });
  try {
    await server.source.pollOnce();
    await server.source.pollOnce(); // 304: the same data confirmed
    upstream.setHandler((_req, res) => res.writeHead(500).end());
    await server.source.pollOnce(); // failed
    await new Promise((resolve) => setTimeout(resolve, 1100));
    upstream.setHandler(csvHandler(csv('2.5', 9000), '"b"'));
    await server.source.pollOnce();
    await server.history!.idle();
    const res = await fetch(`${server.url}/telemetry/GetHistory?switch=sw1&metric=latency_ms`);
    const body = (await res.json()) as { samples: { timestamp: number; value: number }[] };
    assert.deepEqual(body.samples.map((s) => s.value), [1.42, 2.5]);
    assert.ok(body.samples[1]!.timestamp - body.samples[0]!.timestamp >= 1, 'the outage is a gap between the two samples');
    const status = (await (await fetch(`${server.url}/telemetry/Status`)).json()) as { history: Record<string, unknown> };
    assert.equal(status.history['samples'], 2 * 3 * 6);
    assert.equal(status.history['snapshots'], 2);
    assert.equal(status.history['oldest_timestamp'], body.samples[0]!.timestamp);
    assert.ok((status.history['bytes'] as number) > 0);
    assert.deepEqual(status.history['early_drops'], { samples: 0, chunks: 0, last_at: null });
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(metrics, /^metrics_server_history_samples 36$/m);
    assert.match(metrics, /^metrics_server_history_bytes \d+$/m);
    assert.match(metrics, new RegExp(`^metrics_server_history_oldest_timestamp_seconds ${body.samples[0]!.timestamp}$`, 'm'));
  } finally {
    await server.stop();
    await upstream.close();
  }
});

test('a retention under an hour: requests without since or window default to the whole retention, not a 400', async () => {
  const { app, store, history } = await historyApp(600);
  store.publishNow(contentFromCsv(csv('1.42', 8123), NOW * 1000));
  await history.idle();
  const raw = await get(app, '/telemetry/GetHistory?switch=sw1&metric=latency_ms');
  assert.equal(raw.status, 200);
  assert.equal(raw.json['since'], NOW - 600);
  const top = await get(app, '/telemetry/Top?metric=latency_ms');
  assert.equal(top.json['window'], '600s');
  const agg = await get(app, '/telemetry/Aggregate?metric=latency_ms&fn=max');
  assert.equal(agg.json['from'], NOW - 600);
  assert.equal((await get(app, '/telemetry/Aggregate?metric=latency_ms&fn=max&window=1h')).status, 400);
  await app.close();
});
