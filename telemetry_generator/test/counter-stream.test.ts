import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { createLogger, MemorySink } from '../../common/logger.js';
import { METRIC_NAMES } from '../../common/telemetry-schema.js';
import { openSse } from '../../common/test/sse-test-client.js';
import { buildGeneratorApp } from '../src/app.js';
import { DEFAULT_SIMULATION } from '../src/config.js';
import { CounterStream, type CounterStreamOptions } from '../src/counter-stream.js';
import { TelemetryFeed } from '../src/feed.js';

v8.setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

interface Rig {
  feed: TelemetryFeed;
  stream: CounterStream;
  app: FastifyInstance;
  url: string;
}

async function rig(options: Partial<CounterStreamOptions> = {}, switchCount = 20): Promise<Rig> {
  const feed = new TelemetryFeed({
    switchCount,
    metrics: METRIC_NAMES,
    simulation: { ...DEFAULT_SIMULATION, volatility: 0.01 },
    seed: 7,
    updateIntervalSeconds: 10,
    logger: createLogger({ level: 'ERROR', format: 'text', sink: new MemorySink() }),
  });
  const stream = new CounterStream(feed, { replayTicks: 60, replayMaxBytes: 64 * 1024 * 1024, maxClients: 100, maxBufferedBytes: undefined, keepAliveMs: 15_000, run: 'r1', ...options });
  const app = buildGeneratorApp({ feed, stream });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return { feed, stream, app, url: `http://127.0.0.1:${port}/counters/stream` };
}

/** The CSV an event carries, as the body a poll would have got (data lines joined, newline-terminated). */
const csvOf = (data: string): string => `${data}\n`;

/** Applies a delta CSV's lines to a full CSV, by switch id. */
function applyDelta(full: string, delta: string): string {
  const lines = full.trimEnd().split('\n');
  const [header, ...rows] = lines;
  const [deltaHeader, ...changed] = delta.trimEnd().split('\n');
  assert.equal(deltaHeader, header);
  const byId = new Map(rows.map((row) => [row.split(',')[0]!, row]));
  for (const row of changed) {
    assert.ok(byId.has(row.split(',')[0]!), `delta names an unknown switch: ${row}`);
    byId.set(row.split(',')[0]!, row);
  }
  return `${[header, ...byId.values()].join('\n')}\n`;
}

test('a client gets the headers, retry: 1000 and a full event, then one event per tick', async () => {
  const { feed, app, url } = await rig();
  const client = await openSse(url);
  assert.equal(client.status, 200);
  assert.equal(client.headers['content-type'], 'text/event-stream; charset=utf-8');
  assert.equal(client.headers['cache-control'], 'no-cache');
  assert.equal(client.headers['x-accel-buffering'], 'no');
  await client.waitForEvents(1);
  assert.deepEqual(client.retries, [1000]);
  assert.equal(client.events[0]!.event, 'full');
  assert.equal(client.events[0]!.id, 'r1:0');
  assert.equal(csvOf(client.events[0]!.data), feed.current().body.toString());
  feed.advance();
  feed.advance();
  await client.waitForEvents(3);
  assert.deepEqual(client.events.map((e) => [e.event, e.id]), [['full', 'r1:0'], ['full', 'r1:1'], ['full', 'r1:2']]);
  assert.equal(csvOf(client.events[2]!.data), feed.current().body.toString());
  client.close();
  await app.close();
});

test('delta events carry the header and the changed lines; applied in order they give each full CSV', async () => {
  const { feed, app, url } = await rig({}, 200);
  const client = await openSse(`${url}?delta=1`);
  await client.waitForEvents(1);
  assert.equal(client.events[0]!.event, 'full');
  let state = csvOf(client.events[0]!.data);
  const fulls: string[] = [];
  for (let i = 0; i < 20; i++) {
    fulls.push(feed.advance().body.toString());
    // Ticks are seconds apart in service; here the socket gets a turn to drain between them.
    await new Promise((r) => setTimeout(r, 1));
  }
  await client.waitForEvents(21);
  for (let i = 0; i < 20; i++) {
    const event = client.events[i + 1]!;
    assert.equal(event.event, 'delta');
    assert.equal(event.id, `r1:${i + 1}`);
    state = applyDelta(state, csvOf(event.data));
    assert.equal(state, fulls[i], `state after delta ${i + 1}`);
  }
  // Deltas are smaller than the CSV they stand for.
  assert.ok(client.events.slice(1).every((e) => e.data.length < client.events[0]!.data.length));
  client.close();
  await app.close();
});

test('Last-Event-ID inside the ring gets exactly the missed ticks in order; outside or another run gets one full', async () => {
  const { feed, app, url } = await rig({ replayTicks: 5 });
  for (let i = 0; i < 8; i++) feed.advance(); // ticks 0..8, the ring holds 4..8
  const resumed = await openSse(`${url}?delta=1`, { 'last-event-id': 'r1:5' });
  await resumed.waitForEvents(3);
  assert.deepEqual(resumed.events.map((e) => [e.event, e.id]), [['delta', 'r1:6'], ['delta', 'r1:7'], ['delta', 'r1:8']]);

  const viaQuery = await openSse(`${url}?delta=1&last_event_id=r1:3`);
  await viaQuery.waitForEvents(5);
  assert.deepEqual(viaQuery.events.map((e) => e.id), ['r1:4', 'r1:5', 'r1:6', 'r1:7', 'r1:8']);

  const fullMode = await openSse(url, { 'last-event-id': 'r1:6' });
  await fullMode.waitForEvents(2);
  assert.deepEqual(fullMode.events.map((e) => [e.event, e.id]), [['full', 'r1:7'], ['full', 'r1:8']]);

  for (const lastEventId of ['r1:2', 'other:7', 'r1:99', 'garbage']) {
    const client = await openSse(`${url}?delta=1`, { 'last-event-id': lastEventId });
    await client.waitForEvents(1);
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(client.events.map((e) => [e.event, e.id]), [['full', 'r1:8']], `Last-Event-ID ${lastEventId}`);
    client.close();
  }
  // Up to date: nothing to send until the next tick.
  const current = await openSse(`${url}?delta=1`, { 'last-event-id': 'r1:8' });
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(current.events.length, 0);
  feed.advance();
  await current.waitForEvents(1);
  assert.equal(current.events[0]!.id, 'r1:9');
  for (const c of [resumed, viaQuery, fullMode, current]) c.close();
  await app.close();
});

test('a full-mode resume past the ring\'s byte budget for CSVs gets the present state', async () => {
  const { feed, app, url } = await rig({ replayTicks: 10, replayMaxBytes: 1 });
  for (let i = 0; i < 4; i++) feed.advance();
  const client = await openSse(url, { 'last-event-id': 'r1:1' });
  await client.waitForEvents(1);
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(client.events.map((e) => e.id), ['r1:4']);
  const delta = await openSse(`${url}?delta=1`, { 'last-event-id': 'r1:1' });
  await delta.waitForEvents(3);
  assert.deepEqual(delta.events.map((e) => e.id), ['r1:2', 'r1:3', 'r1:4']);
  client.close();
  delta.close();
  await app.close();
});

test('past stream.max_clients a client gets 503 JSON; HEAD answers headers only', async () => {
  const { app, url } = await rig({ maxClients: 2 });
  const a = await openSse(url);
  const b = await openSse(url);
  const c = await openSse(url);
  assert.equal(c.status, 503);
  await c.waitForEnd();
  assert.match(JSON.parse(c.body()).error, /too many stream clients/);
  a.close();
  await new Promise((r) => setTimeout(r, 50));
  const d = await openSse(url);
  assert.equal(d.status, 200);
  const head = await app.inject({ method: 'HEAD', url: '/counters/stream' });
  assert.equal(head.statusCode, 200);
  assert.equal(head.headers['content-type'], 'text/event-stream; charset=utf-8');
  const post = await app.inject({ method: 'POST', url: '/counters/stream' });
  assert.equal(post.statusCode, 405);
  b.close();
  d.close();
  await app.close();
});

test('silence gets a keep-alive comment', async () => {
  const { app, url } = await rig({ keepAliveMs: 60 });
  const client = await openSse(url);
  await client.waitForEvents(1);
  await new Promise((r) => setTimeout(r, 250));
  assert.ok(client.comments.includes('keep-alive'), `comments: ${JSON.stringify(client.comments)}`);
  client.close();
  await app.close();
});

test('a client that reads nothing is dropped at its buffer limit while a fast one gets every event; memory stays flat', async () => {
  let dropped = 0;
  const { feed, stream, app, url } = await rig({ maxBufferedBytes: 256 * 1024, onSlowClientDropped: () => dropped++, replayTicks: 5 }, 5000);
  const fast = await openSse(url);
  // A raw socket that sends the request and never reads: the kernel buffers fill, then ours.
  const { port } = new URL(url);
  const slow = net.connect({ host: '127.0.0.1', port: Number(port) });
  slow.pause();
  slow.write(`GET /counters/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(stream.clientCount, 2);
  gc();
  const heapBefore = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
  const ticks = 120; // ~200 KB each: far past what the kernel's socket buffers hold
  for (let i = 0; i < ticks; i++) {
    feed.advance();
    await new Promise((r) => setImmediate(r));
  }
  await fast.waitForEvents(ticks + 1, 20_000);
  const ids = fast.events.map((e) => e.id);
  fast.events.length = 0; // the test's own copy of 24 MB of events is not the generator's memory
  gc();
  assert.equal(dropped, 1);
  assert.equal(stream.droppedSlowClients, 1);
  assert.equal(stream.clientCount, 1);
  assert.deepEqual(ids, Array.from({ length: ticks + 1 }, (_, i) => `r1:${i}`));
  const grown = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers - heapBefore;
  // 120 ticks x 200 KB = 24 MB went out; the slow client held at most its 256 KB limit, and the
  // replay ring (5 ticks here) holds about 2 MB: what stays is bounded by those, not by the ticks.
  assert.ok(grown < 16 * 1024 * 1024, `memory grew by ${grown} bytes`);
  slow.destroy();
  fast.close();
  await app.close();
});

test('closing the app ends every open stream promptly', async () => {
  const { app, url } = await rig();
  const clients = await Promise.all(Array.from({ length: 20 }, () => openSse(url)));
  await Promise.all(clients.map((c) => c.waitForEvents(1)));
  const started = performance.now();
  await app.close();
  await Promise.all(clients.map((c) => c.waitForEnd()));
  assert.ok(performance.now() - started < 2000);
});
