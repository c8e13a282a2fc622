/**
 * `/counters/stream?format=arrow`: the same events as the CSV stream (ids, full and delta, replay
 * ring, limits), each carrying the tick as an Arrow IPC stream in base64. Decoded by the
 * apache-arrow library (not by the services' own decoder), every event has the values of the CSV
 * event of the same tick; and the Arrow bodies are rendered once per tick, whatever the client count.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { tableFromIPC, type Table } from 'apache-arrow';
import type { FastifyInstance } from 'fastify';
import { createLogger, MemorySink } from '../../common/logger.js';
import { METRIC_NAMES } from '../../common/telemetry-schema.js';
import { openSse } from '../../common/test/sse-test-client.js';
import { buildGeneratorApp } from '../src/app.js';
import { DEFAULT_SIMULATION } from '../src/config.js';
import { CounterStream, type CounterStreamOptions } from '../src/counter-stream.js';
import { TelemetryFeed } from '../src/feed.js';

interface Rig {
  feed: TelemetryFeed;
  stream: CounterStream;
  app: FastifyInstance;
  url: string;
  /** Arrow renders of the feed so far (full and delta together count once per tick). */
  renders: () => number;
}

async function rig(options: Partial<CounterStreamOptions> = {}, switchCount = 40, volatility = 0.01, still = false): Promise<Rig> {
  const feed = new TelemetryFeed({
    switchCount,
    // Latency jitters every tick whatever the settings; a still fabric publishes only what can stand still.
    metrics: still ? ['link_status', 'packet_errors'] : METRIC_NAMES,
    simulation: still ? { ...DEFAULT_SIMULATION, volatility: 0, meanReversion: 0, linkDownProbability: 0, errorBurstProbability: 0, latencySpikeProbability: 0 } : { ...DEFAULT_SIMULATION, volatility, linkDownProbability: 0.05 },
    seed: 5,
    updateIntervalSeconds: 10,
    logger: createLogger({ level: 'ERROR', format: 'text', sink: new MemorySink() }),
  });
  // Counts the ticks whose Arrow bodies were rendered: a body object new to this counter is a render.
  const seen = new Set<Buffer>();
  const original = feed.currentArrowBodies.bind(feed);
  feed.currentArrowBodies = () => {
    const bodies = original();
    if (bodies !== undefined) seen.add(bodies.delta);
    return bodies;
  };
  const stream = new CounterStream(feed, { replayTicks: 60, replayMaxBytes: 64 * 1024 * 1024, maxClients: 100, maxBufferedBytes: undefined, keepAliveMs: 15_000, run: 'r1', ...options });
  const app = buildGeneratorApp({ feed, stream });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return { feed, stream, app, url: `http://127.0.0.1:${port}/counters/stream`, renders: () => seen.size };
}

/** An Arrow event's data, read by the library. */
function tableOf(data: string): Table {
  assert.match(data, /^[A-Za-z0-9+/]*={0,2}$/, 'one line of base64');
  return tableFromIPC(Buffer.from(data, 'base64'));
}

/** `switch_id,<metrics…>` then one line per row, numbers as JavaScript prints them. */
function rowsOfTable(table: Table): string[] {
  const names = table.schema.fields.map((f) => f.name);
  const columns = names.map((name) => table.getChild(name)!.toArray() as ArrayLike<unknown>);
  const rows = [names.join(',')];
  for (let r = 0; r < table.numRows; r++) rows.push(columns.map((c) => String(c[r])).join(','));
  return rows;
}

/** The same lines from a CSV event, numbers parsed and printed again (`6.80` and `6.8` are one value). */
function rowsOfCsv(data: string): string[] {
  const [header, ...lines] = data.trimEnd().split('\n');
  return [header!, ...lines.filter((l) => l !== '').map((line) => line.split(',').map((field, i) => (i === 0 ? field : String(Number(field)))).join(','))];
}

test('Arrow events: the header says so, ids and kinds are the CSV stream\'s, and each event decodes to the CSV event\'s values', async () => {
  const { feed, app, url } = await rig({}, 60, 0.05);
  const arrow = await openSse(`${url}?delta=1&format=arrow`);
  const csv = await openSse(`${url}?delta=1`);
  const arrowFull = await openSse(`${url}?format=arrow`);
  assert.equal(arrow.status, 200);
  assert.equal(arrow.headers['content-type'], 'text/event-stream; charset=utf-8');
  assert.equal(arrow.headers['x-event-data-type'], 'application/vnd.apache.arrow.stream; encoding=base64');
  assert.equal(csv.headers['x-event-data-type'], 'text/csv');
  await Promise.all([arrow.waitForEvents(1), csv.waitForEvents(1), arrowFull.waitForEvents(1)]);
  for (let i = 0; i < 12; i++) {
    feed.advance();
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all([arrow.waitForEvents(13), csv.waitForEvents(13), arrowFull.waitForEvents(13)]);
  assert.deepEqual(arrow.events.map((e) => [e.event, e.id]), csv.events.map((e) => [e.event, e.id]));
  for (let i = 0; i < 13; i++) {
    assert.deepEqual(rowsOfTable(tableOf(arrow.events[i]!.data)), rowsOfCsv(csv.events[i]!.data), `event ${arrow.events[i]!.id}`);
    assert.equal(arrowFull.events[i]!.event, 'full');
  }
  // The last full Arrow event is the tick's /counters Arrow body, and holds the last full CSV's values.
  const lastFull = arrowFull.events[12]!.data;
  assert.deepEqual(Buffer.from(lastFull, 'base64'), (await feed.currentArrow()).body);
  assert.deepEqual(rowsOfTable(tableOf(lastFull)), rowsOfCsv(feed.current().body.toString()));
  // Some deltas were partial (volatility 0.05 leaves switches unchanged), so the subset path ran.
  assert.ok(arrow.events.slice(1).some((e) => tableOf(e.data).numRows < 60));
  for (const c of [arrow, csv, arrowFull]) c.close();
  await app.close();
});

test('a delta with no changed switch is a schema and no rows', async () => {
  const { feed, app, url } = await rig({}, 10, 0, true);
  feed.advance();
  const client = await openSse(`${url}?delta=1&format=arrow`);
  await client.waitForEvents(1);
  const changed = feed.advance().changedSwitches;
  await client.waitForEvents(2);
  const table = tableOf(client.events[1]!.data);
  assert.equal(changed, 0, 'nothing moves without volatility, flaps, bursts or spikes');
  assert.equal(table.numRows, 0);
  assert.deepEqual(table.schema.fields.map((f) => f.name), ['switch_id', 'link_status', 'packet_errors']);
  client.close();
  await app.close();
});

test('Arrow is rendered once per tick for every Arrow client, and only while Arrow is wanted', async () => {
  const { feed, app, url, renders, stream } = await rig({ replayTicks: 3 });
  feed.advance();
  assert.equal(renders(), 0, 'no Arrow client yet: nothing rendered');
  const clients = await Promise.all(Array.from({ length: 5 }, (_, i) => openSse(`${url}${i % 2 === 0 ? '?delta=1&format=arrow' : '?format=arrow'}`)));
  await Promise.all(clients.map((c) => c.waitForEvents(1)));
  assert.equal(renders(), 1, 'the current tick, once for five clients');
  for (let i = 0; i < 4; i++) feed.advance();
  await Promise.all(clients.map((c) => c.waitForEvents(5)));
  assert.equal(renders(), 5);
  // Every client of the same kind got the same bytes.
  assert.equal(clients[0]!.events[4]!.data, clients[2]!.events[4]!.data);
  assert.equal(clients[1]!.events[4]!.data, clients[3]!.events[4]!.data);
  for (const c of clients) c.close();
  await until(() => stream.clientCount === 0);
  // After the last Arrow client left, rendering goes on for the ring's span (a client may resume), then stops.
  for (let i = 0; i < 6; i++) feed.advance();
  assert.equal(renders(), 8, 'replayTicks (3) more ticks, then none');
  await app.close();
});

test('Arrow resume: Last-Event-ID inside the ring gets exactly the missed ticks; across ticks never rendered in Arrow, one full', async () => {
  const { feed, app, url } = await rig({ replayTicks: 10 });
  const first = await openSse(`${url}?delta=1&format=arrow`);
  await first.waitForEvents(1);
  feed.advance();
  await first.waitForEvents(2);
  first.close();
  await new Promise((r) => setTimeout(r, 50));
  for (let i = 0; i < 3; i++) feed.advance(); // ticks 2..4 rendered for the ring, nobody connected
  const resumed = await openSse(`${url}?delta=1&format=arrow`, { 'last-event-id': 'r1:1' });
  await resumed.waitForEvents(3);
  assert.deepEqual(resumed.events.map((e) => [e.event, e.id]), [['delta', 'r1:2'], ['delta', 'r1:3'], ['delta', 'r1:4']]);
  const fullMode = await openSse(`${url}?format=arrow`, { 'last-event-id': 'r1:2' });
  await fullMode.waitForEvents(2);
  assert.deepEqual(fullMode.events.map((e) => [e.event, e.id]), [['full', 'r1:3'], ['full', 'r1:4']]);
  assert.equal(tableOf(fullMode.events[1]!.data).numRows, 40);
  resumed.close();
  fullMode.close();

  // A second generator whose ticks were never rendered in Arrow: a resume inside the ring gets the present state.
  const other = await rig({ replayTicks: 10 });
  for (let i = 0; i < 4; i++) other.feed.advance();
  const late = await openSse(`${other.url}?delta=1&format=arrow`, { 'last-event-id': 'r1:1' });
  await late.waitForEvents(1);
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(late.events.map((e) => [e.event, e.id]), [['full', 'r1:4']]);
  late.close();
  await other.app.close();
  await app.close();
});

test('format is csv or arrow (400 otherwise); the Arrow stream has the same client limit', async () => {
  const { app, url } = await rig({ maxClients: 2 });
  const bad = await fetch(`${url}?format=parquet`);
  assert.equal(bad.status, 400);
  assert.deepEqual(await bad.json(), { error: 'format must be csv or arrow' });
  const head = await fetch(`${url}?format=arrow`, { method: 'HEAD' });
  assert.equal(head.headers.get('x-event-data-type'), 'application/vnd.apache.arrow.stream; encoding=base64');
  const a = await openSse(`${url}?format=arrow`);
  const b = await openSse(url);
  const refused = await fetch(`${url}?format=arrow`);
  assert.equal(refused.status, 503);
  await refused.arrayBuffer();
  a.close();
  b.close();
  await app.close();
});

test('a slow Arrow client (reading nothing) is dropped, while a fast one gets every event', async () => {
  const { feed, app, url, stream } = await rig({}, 3000, 0.5);
  const fast = await openSse(`${url}?format=arrow`);
  await fast.waitForEvents(1);
  const full = fast.events[0]!.data.length;
  // A raw socket that never reads: its unsent bytes grow by one full event per tick.
  const net = await import('node:net');
  const slow = net.connect((app.server.address() as AddressInfo).port, '127.0.0.1');
  slow.pause();
  slow.write('GET /counters/stream?format=arrow HTTP/1.1\r\nHost: x\r\n\r\n');
  await until(() => stream.clientCount === 2);
  for (let i = 0; i < 40 && stream.droppedSlowClients === 0; i++) {
    feed.advance();
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.equal(stream.droppedSlowClients, 1);
  await fast.waitForEvents(2);
  const ticks = feed.current().tick;
  await fast.waitForEvents(ticks + 1);
  assert.ok(fast.events.every((e, i) => e.id === `r1:${i}`));
  // The tick's Arrow in base64 is larger than its CSV (the buffer limit's default follows the larger).
  assert.ok(full > feed.current().body.length);
  slow.destroy();
  fast.close();
  await app.close();
});

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}
