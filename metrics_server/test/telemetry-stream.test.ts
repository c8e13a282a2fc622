/** `GET /telemetry/stream` over real sockets, read with eventsource-parser (not the server's framing). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { inflateSync } from 'node:zlib';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { openSse } from '../../common/test/sse-test-client.js';
import { TelemetryStreamHub, streamFilter, telemetryStreamPlugin, type TelemetryStreamLimits } from '../src/http/telemetry-stream.js';
import { startMetricsServer } from '../src/metrics-server.js';
import { MemoryStore } from '../src/store/memory-store.js';
import type { Snapshot } from '../src/snapshot/snapshot.js';
import { InlineRenderer, type ViewRenderer } from '../src/views/render/renderer.js';
import type { RenderExtras, ViewName } from '../src/views/view-kinds.js';
import { contentFromCsv, memoryLogger, publishCsv, testApp, testConfig } from './helpers.js';

const HEADER = 'switch_id,bandwidth_mbps,latency_ms,link_status';
const csv = (...rows: string[]): string => `${HEADER}\n${rows.join('\n')}\n`;
const V1 = csv('sw1,100,0.5,1', 'sw2,200,0.6,1', 'sw3,300,0.7,1');
const V2 = csv('sw1,100,0.5,1', 'sw2,250,0.6,1', 'sw3,0,0,0');
const V3 = csv('sw1,101,0.5,1', 'sw2,250,0.6,1', 'sw3,0,0,0');

async function rig(limits: Partial<TelemetryStreamLimits> = {}, renderer?: ViewRenderer) {
  let hub: TelemetryStreamHub | undefined;
  const made = testApp(
    'INFO',
    (store, _health, views) => {
      hub = new TelemetryStreamHub(store, views, { maxClients: 1000, maxBufferedBytes: undefined, keepAliveMs: 15_000, compression: 'deflate', ...limits });
      return [telemetryStreamPlugin(hub, store)];
    },
    renderer === undefined ? {} : { renderer },
  );
  await made.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = made.app.server.address() as AddressInfo;
  return { ...made, hub: hub!, url: `http://127.0.0.1:${port}/telemetry/stream` };
}

const publish = (store: MemoryStore, body: string) => publishCsv(store, body, 1766501919_000);
const json = (data: string) => JSON.parse(data) as { version: number; timestamp: number; switches: Record<string, Record<string, number>> };

async function closeApp(app: FastifyInstance): Promise<void> {
  await app.close();
}

test('no snapshot yet: 503 JSON; then a snapshot event on connect and one event per snapshot', async () => {
  const { app, store, url, sink } = await rig();
  const early = await openSse(url);
  assert.equal(early.status, 503);
  await early.waitForEnd();
  assert.match(JSON.parse(early.body()).error, /no telemetry snapshot/);

  publish(store, V1);
  const client = await openSse(url);
  assert.equal(client.status, 200);
  assert.equal(client.headers['content-type'], 'text/event-stream; charset=utf-8');
  assert.equal(client.headers['x-accel-buffering'], 'no');
  await client.waitForEvents(1);
  assert.deepEqual(client.retries, [1000]);
  assert.equal(client.events[0]!.event, 'snapshot');
  assert.equal(client.events[0]!.id, '1');
  assert.deepEqual(json(client.events[0]!.data), {
    version: 1,
    timestamp: 1766501919,
    switches: {
      sw1: { bandwidth_mbps: 100, latency_ms: 0.5, link_status: 1, timestamp: 1766501919 },
      sw2: { bandwidth_mbps: 200, latency_ms: 0.6, link_status: 1, timestamp: 1766501919 },
      sw3: { bandwidth_mbps: 300, latency_ms: 0.7, link_status: 1, timestamp: 1766501919 },
    },
  });
  publish(store, V2);
  await client.waitForEvents(2);
  assert.equal(client.events[1]!.event, 'snapshot');
  assert.equal(json(client.events[1]!.data).switches['sw3']!['link_status'], 0);
  client.close();
  await closeApp(app);
  assert.ok(sink.lines.some((l) => /ERROR \/telemetry\/stream 503/.test(l)), sink.lines.join('\n'));
});

test('changes=1: only the changed switches and metrics, without per-switch timestamps; the event JSON is made once per snapshot and filter set', async () => {
  const { app, store, url, hub } = await rig();
  publish(store, V1);
  const clients = await Promise.all(Array.from({ length: 5 }, () => openSse(`${url}?changes=1`)));
  const filtered = await openSse(`${url}?changes=1&switch=sw3,sw1&metric=link_status`);
  await Promise.all([...clients, filtered].map((c) => c.waitForEvents(1)));
  const madeBefore = hub.eventsMade;
  publish(store, V2);
  await Promise.all([...clients, filtered].map((c) => c.waitForEvents(2)));
  // One changes event for the five unfiltered clients, one for the filtered one.
  assert.equal(hub.eventsMade - madeBefore, 2);
  for (const c of clients) {
    assert.equal(c.events[1]!.event, 'changes');
    assert.equal(c.events[1]!.id, '2');
    assert.deepEqual(json(c.events[1]!.data), { version: 2, timestamp: 1766501919, switches: { sw2: { bandwidth_mbps: 250 }, sw3: { bandwidth_mbps: 0, latency_ms: 0, link_status: 0 } } });
  }
  assert.equal(filtered.events[0]!.event, 'snapshot');
  assert.deepEqual(json(filtered.events[0]!.data).switches, { sw1: { link_status: 1, timestamp: 1766501919 }, sw3: { link_status: 1, timestamp: 1766501919 } });
  assert.deepEqual(json(filtered.events[1]!.data).switches, { sw3: { link_status: 0 } });
  publish(store, V3);
  await filtered.waitForEvents(3);
  assert.deepEqual(json(filtered.events[2]!.data).switches, {}, 'nothing this client watches changed');
  for (const c of [...clients, filtered]) c.close();
  await closeApp(app);
});

test('a broadcast that drains over several turns keeps its own events when the next snapshot is delivered meanwhile', async () => {
  // 260 clients are six slices of BROADCAST_SLICE: V2's broadcast is still going out when V3's
  // delivery replaces the hub's newest events. Seen failing when the broadcast read the hub's
  // newest events instead of its own: later clients got V3's event in V2's place, then again.
  const { app, store, url } = await rig();
  publish(store, V1);
  const clients = await Promise.all(Array.from({ length: 260 }, () => openSse(`${url}?changes=1`)));
  try {
    await Promise.all(clients.map((c) => c.waitForEvents(1)));
    publish(store, V2);
    publish(store, V3);
    await Promise.all(clients.map((c) => c.waitForEvents(3)));
    await new Promise((resolve) => setTimeout(resolve, 100));
    for (const c of clients) {
      assert.deepEqual(c.events.map((e) => e.id), ['1', '2', '3']);
      assert.deepEqual(json(c.events[1]!.data).switches, { sw2: { bandwidth_mbps: 250 }, sw3: { bandwidth_mbps: 0, latency_ms: 0, link_status: 0 } });
      assert.deepEqual(json(c.events[2]!.data).switches, { sw1: { bandwidth_mbps: 101 } });
    }
  } finally {
    for (const c of clients) c.close();
    await closeApp(app);
  }
});

/** A renderer (the render worker's stand-in) whose renders wait until `open()`, and that counts them. */
class GatedRenderer implements ViewRenderer {
  private readonly inner = new InlineRenderer();
  private gate: Promise<void> | undefined;
  private opening: (() => void) | undefined;
  readonly renders: string[] = [];

  close(): Promise<void> {
    return this.inner.close();
  }

  shut(): void {
    this.gate = new Promise((resolve) => (this.opening = resolve));
  }

  open(): void {
    this.opening?.();
    this.gate = undefined;
  }

  async render(view: ViewName, snapshot: Snapshot, extras?: RenderExtras): Promise<Buffer> {
    this.renders.push(`${view}@${snapshot.version}`);
    await this.gate;
    return this.inner.render(view, snapshot, extras);
  }
}

test('a client connecting before the ListMetrics body is rendered waits for the render worker, then gets its snapshot and the live events after it, in order', async () => {
  // Building the whole-fabric snapshot event on the main thread holds the loop for ~100 ms at
  // 100,000 switches; the catch-up now waits for the worker's body while broadcasts go on (seen
  // failing with the catch-up written at connect: no event ever waited for the gate).
  const renderer = new GatedRenderer();
  const { app, store, url } = await rig({}, renderer);
  renderer.shut();
  publish(store, V1);
  const client = await openSse(`${url}?changes=1`);
  try {
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(client.events.length, 0, 'nothing before the worker made the body');
    assert.ok(renderer.renders.includes('list-metrics.json@1'), renderer.renders.join(' '));
    publish(store, V2); // delivered while the client's catch-up still waits
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(client.events.length, 0);
    renderer.open();
    await client.waitForEvents(2);
    assert.deepEqual(
      client.events.map((e) => [e.event, e.id]),
      [
        ['snapshot', '1'],
        ['changes', '2'],
      ],
    );
    assert.equal(json(client.events[0]!.data).switches['sw2']!['bandwidth_mbps'], 200);
    assert.deepEqual(json(client.events[1]!.data).switches, { sw2: { bandwidth_mbps: 250 }, sw3: { bandwidth_mbps: 0, latency_ms: 0, link_status: 0 } });
  } finally {
    // Open even after a failed assertion: a delivery waiting on the gate would hold the close.
    renderer.open();
    client.close();
    await closeApp(app);
  }
});

test('a resume from an older version gets its changes from the render worker, not this thread', async () => {
  const renderer = new GatedRenderer();
  const { app, store, url, hub } = await rig({}, renderer);
  publish(store, V1);
  publish(store, V2);
  publish(store, V3);
  await hub.whenDelivered();
  renderer.shut();
  const client = await openSse(`${url}?changes=1`, { 'last-event-id': '1' });
  try {
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(client.events.length, 0, 'the catch-up waits for the worker');
    assert.ok(renderer.renders.includes('stream-changes.json@3'), renderer.renders.join(' '));
    renderer.open();
    await client.waitForEvents(1);
    assert.deepEqual([client.events[0]!.event, client.events[0]!.id], ['changes', '3']);
    assert.deepEqual(json(client.events[0]!.data).switches, { sw1: { bandwidth_mbps: 101 }, sw2: { bandwidth_mbps: 250 }, sw3: { bandwidth_mbps: 0, latency_ms: 0, link_status: 0 } });
  } finally {
    renderer.open();
    client.close();
    await closeApp(app);
  }
});

test('a client that accepts deflate gets the same events deflated, each made once for all such clients, and a whole zlib stream at the end', async () => {
  const { app, store, url, hub } = await rig();
  publish(store, V1);
  const deflate = { 'accept-encoding': 'gzip, deflate, br' };
  const plain = await openSse(`${url}?changes=1`);
  const packed = await Promise.all([openSse(`${url}?changes=1`, deflate), openSse(`${url}?changes=1`, deflate)]);
  const packedFiltered = await openSse(`${url}?changes=1&switch=sw3`, deflate);
  const refused = await openSse(`${url}?changes=1`, { 'accept-encoding': 'gzip, deflate;q=0' });
  const all = [plain, ...packed, packedFiltered, refused];
  await Promise.all(all.map((c) => c.waitForEvents(1)));
  publish(store, V2);
  publish(store, V3);
  await Promise.all(all.map((c) => c.waitForEvents(3)));
  assert.equal(plain.headers['content-encoding'], undefined);
  assert.equal(refused.headers['content-encoding'], undefined, 'deflate;q=0 is a refusal');
  assert.equal(plain.headers['vary'], 'accept-encoding');
  for (const c of [...packed, packedFiltered]) assert.equal(c.headers['content-encoding'], 'deflate');
  const strip = (c: typeof plain) => c.events.map((e) => ({ event: e.event, id: e.id, data: e.data }));
  for (const c of packed) assert.deepEqual(strip(c), strip(plain));
  assert.deepEqual(
    packedFiltered.events.map((e) => Object.keys(json(e.data).switches)),
    [['sw3'], ['sw3'], []],
  );
  // The two unfiltered deflate clients got byte-identical wire bytes: one deflate per event.
  assert.deepEqual(packed[0]!.wire(), packed[1]!.wire());
  // A stop ends each deflate stream with its final block and checksum: the whole body inflates.
  await closeApp(app);
  await Promise.all(packed.map((c) => c.waitForEnd()));
  const whole = inflateSync(packed[0]!.wire()).toString();
  assert.match(whole, /^retry: 1000\n\n/);
  assert.equal(whole.match(/^event: /gm)?.length, 3);
  assert.ok(hub.eventsMade > 0);
  for (const c of all) c.close();
});

test("stream.compression 'off' never compresses", async () => {
  const { app, store, url } = await rig({ compression: 'off' });
  publish(store, V1);
  const client = await openSse(url, { 'accept-encoding': 'deflate' });
  await client.waitForEvents(1);
  assert.equal(client.headers['content-encoding'], undefined);
  assert.equal(client.headers['vary'], undefined);
  client.close();
  await closeApp(app);
});

test('filters: unknown switch or metric 404, malformed 400, more than 1,000 ids 400', async () => {
  const { app, store } = await rig();
  publish(store, V1);
  const cases: [string, number, RegExp][] = [
    ['switch=sw1,sw9', 404, /unknown switch 'sw9'/],
    ['metric=latency_ms,nope', 404, /unknown metric 'nope'/],
    ['switch=sw1,,sw2', 400, /empty item/],
    ['switch=bad%20id', 400, /not a valid switch id/],
  ];
  for (const [query, status, message] of cases) {
    const res = await app.inject({ url: `/telemetry/stream?${query}` });
    assert.equal(res.statusCode, status, query.slice(0, 40));
    assert.match(JSON.parse(res.body).error, message);
  }
  assert.equal((await app.inject({ method: 'POST', url: '/telemetry/stream' })).statusCode, 405);
  // 1,001 ids do not fit the default query limit (414); past a raised limit the filter itself refuses them.
  const many = Array.from({ length: 1001 }, (_, i) => `sw${i}`).join(',');
  assert.throws(() => streamFilter({ switch: many }, store.current()!), /more than 1000 switches/);
  await closeApp(app);
});

test('Last-Event-ID of a held version resumes with the changes since; an unknown one gets a snapshot first', async () => {
  const { app, store, url, hub } = await rig();
  publish(store, V1);
  publish(store, V2);
  publish(store, V3);
  // Events are prepared off the request path: until v3 is delivered, a new client catches up to v2.
  await hub.whenDelivered();
  const resumed = await openSse(`${url}?changes=1`, { 'last-event-id': '1' });
  await resumed.waitForEvents(1);
  assert.equal(resumed.events[0]!.event, 'changes');
  assert.equal(resumed.events[0]!.id, '3');
  assert.deepEqual(json(resumed.events[0]!.data).switches, { sw1: { bandwidth_mbps: 101 }, sw2: { bandwidth_mbps: 250 }, sw3: { bandwidth_mbps: 0, latency_ms: 0, link_status: 0 } });
  const previous = await openSse(`${url}?changes=1&last_event_id=2`);
  await previous.waitForEvents(1);
  assert.deepEqual(json(previous.events[0]!.data).switches, { sw1: { bandwidth_mbps: 101 } });
  const unknown = await openSse(`${url}?changes=1`, { 'last-event-id': '999' });
  await unknown.waitForEvents(1);
  assert.equal(unknown.events[0]!.event, 'snapshot');
  const current = await openSse(`${url}?changes=1`, { 'last-event-id': '3' });
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(current.events.length, 0);
  for (const c of [resumed, previous, unknown, current]) c.close();
  await closeApp(app);
});

test('past stream.max_clients: 503 JSON; keep-alive comments in silence', async () => {
  const { app, store, url } = await rig({ maxClients: 2, keepAliveMs: 60 });
  publish(store, V1);
  const a = await openSse(url);
  const b = await openSse(url);
  const c = await openSse(url);
  assert.equal(c.status, 503);
  await c.waitForEnd();
  assert.match(JSON.parse(c.body()).error, /too many stream clients \(at most 2\)/);
  await new Promise((r) => setTimeout(r, 250));
  assert.ok(a.comments.includes('keep-alive'));
  a.close();
  b.close();
  await closeApp(app);
});

test('a client reading nothing is dropped at its buffer limit; a fast client gets every event', async () => {
  const { app, store, url, hub } = await rig({ maxBufferedBytes: 64 * 1024 });
  const rows = (k: number) => Array.from({ length: 2000 }, (_, i) => `sw${i + 1},${i * k},${(i % 100) / 10},1`);
  publish(store, csv(...rows(1)));
  const fast = await openSse(url);
  const { port } = new URL(url);
  const slow = net.connect({ host: '127.0.0.1', port: Number(port) });
  slow.pause();
  slow.write('GET /telemetry/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(hub.clientCount, 2);
  for (let k = 2; k <= 60; k++) {
    publish(store, csv(...rows(k)));
    await new Promise((r) => setTimeout(r, 1));
  }
  await fast.waitForEvents(60, 20_000);
  assert.equal(hub.droppedSlowClients, 1);
  assert.equal(hub.clientCount, 1);
  assert.deepEqual(fast.events.map((e) => e.id), Array.from({ length: 60 }, (_, i) => String(i + 1)));
  slow.destroy();
  fast.close();
  await closeApp(app);
});

test('a graceful stop ends 100 open streams and completes within 2 s', async () => {
  const store = new MemoryStore();
  store.publishNow(contentFromCsv(V1));
  const { logger } = memoryLogger('ERROR');
  const server = await startMetricsServer(testConfig(), { logger, store });
  const clients = await Promise.all(Array.from({ length: 100 }, (_, i) => openSse(`${server.url}/telemetry/stream${i % 2 === 0 ? '?changes=1' : ''}`)));
  await Promise.all(clients.map((c) => c.waitForEvents(1)));
  assert.equal(server.streams.clientCount, 100);
  const started = performance.now();
  await server.stop();
  const elapsed = performance.now() - started;
  await Promise.all(clients.map((c) => c.waitForEnd(2000)));
  assert.ok(elapsed < 2000, `stop took ${elapsed} ms`);
});

test('/metrics and Status count stream clients', async () => {
  const store = new MemoryStore();
  store.publishNow(contentFromCsv(V1));
  const { logger } = memoryLogger('ERROR');
  const server = await startMetricsServer(testConfig(), { logger, store });
  try {
    const client = await openSse(`${server.url}/telemetry/stream`);
    await client.waitForEvents(1);
    const text = (await server.app.inject({ url: '/metrics' })).body;
    assert.match(text, /^metrics_server_stream_clients 1$/m);
    assert.match(text, /^metrics_server_stream_slow_clients_dropped_total 0$/m);
    const status = JSON.parse((await server.app.inject({ url: '/telemetry/Status' })).body);
    assert.deepEqual(status.streams, { clients: 1, slow_clients_dropped: 0 });
    assert.equal(status.ingestion.mode, 'poll');
    client.close();
  } finally {
    await server.stop();
  }
});
