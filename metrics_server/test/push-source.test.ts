/**
 * Push mode: the server follows the generator's event stream through the same ingester as a poll,
 * resumes with Last-Event-ID, asks for a full event when a delta cannot be applied, and falls back to
 * polling while the stream is down. Everything runs on 127.0.0.1 with short, bounded timers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, MemorySink } from '../../common/logger.js';
import { METRIC_NAMES } from '../../common/telemetry-schema.js';
import { encodeSseEvent } from '../../common/sse.js';
import { buildGeneratorApp } from '../../telemetry_generator/src/app.js';
import { DEFAULT_SIMULATION } from '../../telemetry_generator/src/config.js';
import { CounterStream } from '../../telemetry_generator/src/counter-stream.js';
import { TelemetryFeed } from '../../telemetry_generator/src/feed.js';
import { Ingester } from '../src/ingest/ingester.js';
import { IngestionHealth } from '../src/ingest/ingestion-health.js';
import { InlinePreparer, WorkerPreparer, type SnapshotPreparer } from '../src/ingest/worker/preparer.js';
import { startMetricsServer } from '../src/metrics-server.js';
import { PollSource } from '../src/sources/poll-source.js';
import { PushSource } from '../src/sources/push-source.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { startGeneratorProcess, stopProcess, until, writeGeneratorConfig } from './generator-process.js';
import { memoryLogger, snapshotFromCsv, testConfig } from './helpers.js';

const HEADER = 'switch_id,bandwidth_mbps,latency_ms';

/** A push source (with its poll stand-in) over a fresh store. */
function pushRig(streamUrl: URL, pollUrl: URL, preparer: SnapshotPreparer = new InlinePreparer(), maxBytes = 64 * 1024) {
  const store = new MemoryStore();
  const health = new IngestionHealth();
  const { logger, sink } = memoryLogger('INFO');
  const ingester = new Ingester({ preparer, publisher: store, reader: store, health });
  const poller = new PollSource({ url: pollUrl, intervalMs: 150, timeoutMs: 500, maxBodyBytes: maxBytes }, { ingester, reader: store, logger: logger.child('poller') });
  const push = new PushSource(
    { streamUrl, pollIntervalMs: 150, connectTimeoutMs: 500, maxEventBytes: maxBytes, reconnectInitialMs: 30, reconnectMaxMs: 120, idleTimeoutMs: 2000 },
    { ingester, reader: store, logger: logger.child('push'), standIn: poller },
  );
  return { store, health, sink, push, poller };
}

/** A generator in this process, ticked by the test. */
async function inProcessGenerator(switchCount = 30, replayTicks = 60) {
  const feed = new TelemetryFeed({ switchCount, metrics: METRIC_NAMES, simulation: DEFAULT_SIMULATION, seed: 11, updateIntervalSeconds: 10, logger: createLogger({ level: 'ERROR', format: 'text', sink: new MemorySink() }) });
  const stream = new CounterStream(feed, { replayTicks, replayMaxBytes: 1 << 24, maxClients: 10, maxBufferedBytes: undefined, keepAliveMs: 15_000, run: 'gen1' });
  const app = buildGeneratorApp({ feed, stream });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  const base = `http://127.0.0.1:${port}`;
  return { feed, stream, app, streamUrl: new URL(`${base}/counters/stream?delta=1`), pollUrl: new URL(`${base}/counters`) };
}

/** Values of the current snapshot equal those of `csv`. */
function assertSnapshotIs(store: MemoryStore, csv: string): void {
  const expected = snapshotFromCsv(csv);
  const actual = store.current()!;
  assert.deepEqual(actual.switchIds, expected.switchIds);
  for (const metric of expected.metrics) assert.deepEqual(actual.copyColumn(metric), expected.copyColumn(metric), metric);
}

test('push mode follows the ticks with deltas through the ingestion worker and resumes with Last-Event-ID after a cut', async () => {
  const gen = await inProcessGenerator();
  const preparer = new WorkerPreparer();
  const { store, push } = pushRig(gen.streamUrl, gen.pollUrl, preparer);
  const seen: (string | undefined)[] = [];
  gen.app.server.on('request', (req: http.IncomingMessage) => {
    if (req.url!.startsWith('/counters/stream')) seen.push(req.headers['last-event-id'] as string | undefined);
  });
  try {
    push.start();
    await until(() => push.status().events === 1, 'the full event');
    for (let i = 0; i < 5; i++) {
      gen.feed.advance();
      await until(() => push.status().last_event_id === `gen1:${i + 1}`, `delta ${i + 1}`);
    }
    assertSnapshotIs(store, gen.feed.current().body.toString());
    assert.equal(store.current()!.version, 6);

    // Cut every connection; ticks happen while the server is away; it resumes from where it was.
    gen.app.server.closeAllConnections();
    gen.feed.advance();
    gen.feed.advance();
    await until(() => push.status().last_event_id === 'gen1:7', 'the missed ticks');
    assert.deepEqual(seen, [undefined, 'gen1:5']);
    assert.equal(push.status().reconnects, 1);
    assert.equal(push.status().events, 8);
    // Exactly the two missed deltas were applied: two new versions, no full reload.
    assert.equal(store.current()!.version, 8);
    assertSnapshotIs(store, gen.feed.current().body.toString());
  } finally {
    await push.stop();
    await preparer.close();
    await gen.app.close();
  }
});

test('a delta after a gap in ticks, from a new run, or naming an unknown switch makes the source ask for a full event', async () => {
  let script: ((res: http.ServerResponse, lastEventId: string | undefined) => void)[] = [];
  const asked: (string | undefined)[] = [];
  const server = http.createServer((req, res) => {
    if (!req.url!.startsWith('/counters/stream')) {
      res.writeHead(200, { 'content-type': 'text/csv' }).end(`${HEADER}\nsw1,9,9.9\nsw2,9,9.9\n`);
      return;
    }
    const lastEventId = req.headers['last-event-id'] as string | undefined;
    asked.push(lastEventId);
    const step = script.shift();
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    if (step === undefined) return; // hold the stream open, silent
    step(res, lastEventId);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const { store, push, sink } = pushRig(new URL(`http://127.0.0.1:${port}/counters/stream?delta=1`), new URL(`http://127.0.0.1:${port}/counters`));
  const full = (id: string, rows: string) => encodeSseEvent({ id, event: 'full', data: `${HEADER}\n${rows}` });
  const delta = (id: string, rows: string) => encodeSseEvent({ id, event: 'delta', data: `${HEADER}\n${rows}` });
  try {
    script = [
      // full at tick 1, delta 2 fine, then a delta for tick 4: a gap.
      (res) => res.write(Buffer.concat([full('a:1', 'sw1,1,0.1\nsw2,2,0.2'), delta('a:2', 'sw1,11,0.11'), delta('a:4', 'sw2,44,0.44')])),
      // asked again without Last-Event-ID: a full, then a delta from another run.
      (res) => res.write(Buffer.concat([full('a:4', 'sw1,41,0.41\nsw2,42,0.42'), delta('b:5', 'sw2,55,0.55')])),
      // again a full, then a delta naming a switch the server never saw.
      (res) => res.write(Buffer.concat([full('b:5', 'sw1,51,0.51\nsw2,52,0.52'), delta('b:6', 'sw3,6,0.6')])),
      (res) => res.write(full('b:6', 'sw1,61,0.61\nsw2,62,0.62')),
    ];
    push.start();
    await until(() => push.status().last_event_id === 'b:6' && asked.length === 4, 'the last full event', 5000);
    assert.deepEqual(asked, [undefined, undefined, undefined, undefined]);
    assert.deepEqual(store.current()!.row('sw1'), [61, 0.61]);
    assert.deepEqual(store.current()!.row('sw2'), [62, 0.62]);
    // No state mixing the rejected deltas ever became current: versions 1 (a:1), 2 (a:2), 3 (a:4), 4 (b:5), 5 (b:6).
    assert.equal(store.current()!.version, 5);
    assert.ok(sink.lines.some((l) => /a gap in ticks \(2 then 4\)/.test(l)));
    assert.ok(sink.lines.some((l) => /a new generator run/.test(l)));
    assert.ok(sink.lines.some((l) => /switch sw3, which the snapshot does not have/.test(l)));

  } finally {
    await push.stop();
    server.closeAllConnections();
    server.close();
  }
});

for (const [name, fault, reason] of [
  ['connection cut mid-event', (res: http.ServerResponse) => { res.write('id: a:2\nevent: full\ndata: switch_id,bandwidth_mbps,latency_ms\ndata: sw1,5'); setTimeout(() => res.destroy(), 20); }, /connection (closed|reset)|aborted|ended/],
  ['garbage bytes', (res: http.ServerResponse) => res.write(Buffer.from([0xff, 0x00, 0x0a, 0x64, 0x61, 0x74, 0x61, 0x3a, 0xfe, 0x0a, 0x0a])), /unexpected event type "message"/],
  ['an event larger than max_body_bytes', (res: http.ServerResponse) => res.write(`id: a:2\nevent: full\ndata: ${'x'.repeat(70 * 1024)}\n\n`), /event larger than 65536 bytes/],
  ['a malformed CSV inside an event', (res: http.ServerResponse) => res.write(encodeSseEvent({ id: 'a:2', event: 'full', data: 'this,is\nnot,telemetry' })), /unusable CSV/],
] as const) {
  test(`the stream dies (${name}): the reason is logged once, the snapshot kept, polling stands in, push returns`, async () => {
    let phase: 'good' | 'fault' | 'down' | 'back' = 'good';
    let polls = 0;
    const server = http.createServer((req, res) => {
      if (!req.url!.startsWith('/counters/stream')) {
        polls++;
        res.writeHead(200, { 'content-type': 'text/csv' }).end(`${HEADER}\nsw1,7,0.7\nsw2,8,0.8\n`);
        return;
      }
      if (phase === 'down') {
        res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"down"}');
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      if (phase === 'good') {
        res.write(encodeSseEvent({ id: 'a:1', event: 'full', data: `${HEADER}\nsw1,1,0.1\nsw2,2,0.2` }));
        phase = 'fault';
        return;
      }
      if (phase === 'fault') {
        phase = 'down';
        fault(res);
        return;
      }
      res.write(encodeSseEvent({ id: 'a:3', event: 'full', data: `${HEADER}\nsw1,3,0.3\nsw2,4,0.4` }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    const { store, push, sink, health } = pushRig(new URL(`http://127.0.0.1:${port}/counters/stream`), new URL(`http://127.0.0.1:${port}/counters`));
    const versions: number[] = [];
    store.onPublish((s) => versions.push(s.version));
    try {
      push.start();
      await until(() => push.status().events === 1, 'the first full event');
      // The fault: the good snapshot stays; after a poll interval the poller stands in.
      await until(() => phase === 'down' && polls > 0 && store.current()!.row('sw1')![0] === 7, 'polling standing in (a poll ingested)', 5000);
      assert.equal(push.status().polling_standing_in, true);
      assert.equal(push.status().connected, false);
      assert.deepEqual(store.current()!.row('sw1'), [7, 0.7]);
      const failureLines = sink.lines.filter((l) => reason.test(l));
      assert.equal(failureLines.length, 1, `lines: ${sink.lines.join('\n')}`);
      assert.match(failureLines[0]!, /ERROR/);
      // The stream is back: push resumes, polling stops.
      phase = 'back';
      await until(() => push.status().events === 2 && !push.status().polling_standing_in, 'push back', 5000);
      assert.deepEqual(store.current()!.row('sw1'), [3, 0.3]);
      const pollsAtReturn = polls;
      await new Promise((r) => setTimeout(r, 400));
      assert.equal(polls, pollsAtReturn, 'polling stopped');
      assert.ok(sink.lines.some((l) => /is back; polling stopped/.test(l)));
      assert.ok(health.consecutiveFailures === 0);
      assert.deepEqual(versions, [...versions].sort((a, b) => a - b));
      assert.equal(new Set(versions).size, versions.length);
    } finally {
      await push.stop();
      server.closeAllConnections();
      server.close();
    }
  });
}

test('a killed generator: snapshot kept, polling stands in, push returns when a new generator runs (a new run: full event); versions only increase', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'push-kill-'));
  const configPath = writeGeneratorConfig(dir, 5, 40, 0.2);
  let generator = await startGeneratorProcess(configPath);
  const config = testConfig({ mode: 'push', generatorUrl: new URL(`${generator.url}/counters`), streamUrl: new URL(`${generator.url}/counters/stream?delta=1`), pollIntervalMs: 300, fetchTimeoutMs: 500 });
  const { logger, sink } = memoryLogger('INFO');
  const server = await startMetricsServer(config, { logger });
  const versions: number[] = [];
  server.store.onPublish((s) => versions.push(s.version));
  try {
    await until(() => (server.push?.status().events ?? 0) >= 3, 'push events', 10_000);
    generator.child.kill('SIGKILL');
    await until(() => server.push!.status().polling_standing_in, 'polling standing in', 5000);
    const kept = server.store.current()!;
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(server.store.current(), kept);
    const status = JSON.parse((await server.app.inject({ url: '/telemetry/Status' })).body);
    assert.equal(status.ingestion.mode, 'push');
    assert.equal(status.ingestion.stream.connected, false);
    assert.equal(status.ingestion.stream.polling_standing_in, true);
    generator = await startGeneratorProcess(configPath, generator.port);
    const eventsBefore = server.push!.status().events;
    await until(() => server.push!.status().connected && server.push!.status().events > eventsBefore + 2, 'push back', 10_000);
    assert.equal(server.push!.status().polling_standing_in, false);
    assert.ok(sink.lines.filter((l) => /connection refused/.test(l) && /ERROR/.test(l)).length <= 1);
    assert.deepEqual(versions, [...versions].sort((a, b) => a - b));
  } finally {
    await server.stop();
    await stopProcess(generator.child);
  }
});
