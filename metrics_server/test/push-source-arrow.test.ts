/**
 * Push mode with Arrow events (`ingestion.format` arrow or auto): the server follows the generator's
 * `?format=arrow` stream through the same ingester and the same Arrow decoder as an Arrow poll,
 * resumes with Last-Event-ID, and treats every malformed Arrow event (not base64, truncated, a wrong
 * schema, a bomb) as it treats a malformed CSV event: reason logged once, snapshot kept, polling
 * standing in, push back when the stream is. Everything runs on 127.0.0.1 with short, bounded timers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
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
import { PollSource, type IngestionFormat } from '../src/sources/poll-source.js';
import { PushSource } from '../src/sources/push-source.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { FAULTS, arrowOf, f64, utf8 } from './arrow-faults.js';
import { until } from './generator-process.js';
import { memoryLogger, snapshotFromCsv } from './helpers.js';

const ARROW_EVENTS = 'application/vnd.apache.arrow.stream; encoding=base64';
const HEADER = 'switch_id,bandwidth_mbps,latency_ms';

function pushRig(streamUrl: URL, pollUrl: URL, format: IngestionFormat, preparer: SnapshotPreparer = new InlinePreparer(), maxBytes = 64 * 1024, idleTimeoutMs = 2000) {
  const store = new MemoryStore();
  const health = new IngestionHealth();
  const { logger, sink } = memoryLogger('INFO');
  const ingester = new Ingester({ preparer, publisher: store, reader: store, health });
  // The stand-in polls CSV: the fake upstreams below serve their polls as CSV.
  const poller = new PollSource({ url: pollUrl, intervalMs: 150, timeoutMs: 500, maxBodyBytes: maxBytes }, { ingester, reader: store, logger: logger.child('poller') });
  const push = new PushSource(
    { streamUrl, format, pollIntervalMs: 150, connectTimeoutMs: 500, maxEventBytes: maxBytes, reconnectInitialMs: 30, reconnectMaxMs: 120, idleTimeoutMs },
    { ingester, reader: store, logger: logger.child('push'), standIn: poller },
  );
  return { store, health, sink, push };
}

function assertSnapshotIs(store: MemoryStore, csv: string): void {
  const expected = snapshotFromCsv(csv);
  const actual = store.current()!;
  assert.deepEqual(actual.switchIds, expected.switchIds);
  for (const metric of expected.metrics) assert.deepEqual(actual.copyColumn(metric), expected.copyColumn(metric), metric);
}

/** An Arrow event as the generator frames it: the IPC stream in base64, one data line. */
function arrowEvent(id: string, event: 'full' | 'delta', bytes: Uint8Array): Buffer {
  return encodeSseEvent({ id, event, data: Buffer.from(bytes).toString('base64') });
}

/** A small Arrow body with the columns of HEADER. */
function arrowRows(rows: readonly [string, number, number][]): Uint8Array {
  return arrowOf(rows.length, [{ name: 'switch_id', data: utf8(rows.map((r) => r[0])) }, { name: 'bandwidth_mbps', data: f64(rows.map((r) => r[1])) }, { name: 'latency_ms', data: f64(rows.map((r) => r[2])) }]);
}

test('ingestion.format arrow: the server asks for Arrow events, applies them through the ingestion worker, and resumes with Last-Event-ID after a cut', async () => {
  const feed = new TelemetryFeed({ switchCount: 40, metrics: METRIC_NAMES, simulation: DEFAULT_SIMULATION, seed: 13, updateIntervalSeconds: 10, logger: createLogger({ level: 'ERROR', format: 'text', sink: new MemorySink() }) });
  const stream = new CounterStream(feed, { replayTicks: 60, replayMaxBytes: 1 << 24, maxClients: 10, maxBufferedBytes: undefined, keepAliveMs: 15_000, run: 'gen1' });
  const app = buildGeneratorApp({ feed, stream });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const seen: string[] = [];
  app.server.on('request', (req: http.IncomingMessage) => {
    if (req.url!.startsWith('/counters/stream')) seen.push(`${req.url} ${String(req.headers['last-event-id'])}`);
  });
  const preparer = new WorkerPreparer();
  // The generator sends nothing between ticks here (keep-alives every 15 s), so no idle timeout either.
  const { store, push, health } = pushRig(new URL(`${base}/counters/stream?delta=1`), new URL(`${base}/counters`), 'arrow', preparer, 64 * 1024, 20_000);
  try {
    push.start();
    await until(() => push.status().events === 1, 'the full event');
    assert.equal(push.status().format, 'arrow');
    // A poll may have stood in while the generator loaded the Arrow library for its first Arrow client.
    const first = store.current()!.version;
    for (let i = 0; i < 5; i++) {
      feed.advance();
      await until(() => push.status().last_event_id === `gen1:${i + 1}`, `delta ${i + 1}`);
    }
    assertSnapshotIs(store, feed.current().body.toString());
    assert.equal(store.current()!.version, first + 5);
    assert.equal(health.lastRecord?.format, 'arrow');

    app.server.closeAllConnections();
    feed.advance();
    feed.advance();
    await until(() => push.status().last_event_id === 'gen1:7', 'the missed ticks');
    assert.deepEqual(seen, ['/counters/stream?delta=1&format=arrow undefined', '/counters/stream?delta=1&format=arrow gen1:5']);
    // Exactly the two missed Arrow deltas: two new versions, no full reload.
    assert.equal(store.current()!.version, first + 7);
    assertSnapshotIs(store, feed.current().body.toString());
  } finally {
    await push.stop();
    await preparer.close();
    await app.close();
  }
});

test('auto asks for and takes CSV events; arrow refuses the CSV events of a generator without Arrow with a reason and polling stands in', async () => {
  // A generator from before Arrow: ignores ?format=arrow, sends CSV events and no X-Event-Data-Type.
  const urls: string[] = [];
  const server = http.createServer((req, res) => {
    if (!req.url!.startsWith('/counters/stream')) {
      res.writeHead(200, { 'content-type': 'text/csv' }).end(`${HEADER}\nsw1,7,0.7\n`);
      return;
    }
    urls.push(req.url!);
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(encodeSseEvent({ id: 'a:1', event: 'full', data: `${HEADER}\nsw1,1,0.1` }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const auto = pushRig(new URL(`${base}/counters/stream?delta=1`), new URL(`${base}/counters`), 'auto');
  const strict = pushRig(new URL(`${base}/counters/stream?delta=1`), new URL(`${base}/counters`), 'arrow');
  const csv = pushRig(new URL(`${base}/counters/stream?delta=1&format=arrow`), new URL(`${base}/counters`), 'csv');
  try {
    auto.push.start();
    await until(() => auto.push.status().events === 1, 'auto: the CSV full event');
    assert.equal(auto.push.status().format, 'csv');
    assert.deepEqual(auto.store.current()!.row('sw1'), [1, 0.1]);

    strict.push.start();
    await until(() => strict.push.status().polling_standing_in && strict.store.current() !== undefined, 'arrow: polling standing in');
    assert.equal(strict.push.status().events, 0);
    const refusals = strict.sink.lines.filter((l) => /expected Arrow events \(ingestion\.format arrow\), got X-Event-Data-Type ""/.test(l));
    assert.equal(refusals.length, 1, strict.sink.lines.join('\n'));
    assert.match(refusals[0]!, /ERROR/);

    // csv mode drops a format parameter the configured URL has: it asks for CSV events, as auto does
    // (Arrow events did not pay on the stream); only arrow asks for them.
    csv.push.start();
    await until(() => csv.push.status().events === 1, 'csv: the full event');
    const plain = urls.filter((u) => u === '/counters/stream?delta=1').length;
    const arrow = urls.filter((u) => u === '/counters/stream?delta=1&format=arrow').length;
    assert.ok(plain >= 2 && arrow >= 1 && plain + arrow === urls.length, urls.join(' '));
    assert.equal(auto.push.requestUrl.searchParams.get('format'), null);
    assert.equal(strict.push.requestUrl.searchParams.get('format'), 'arrow');
  } finally {
    await Promise.all([auto.push.stop(), strict.push.stop(), csv.push.stop()]);
    server.closeAllConnections();
    server.close();
  }
});

test('an Arrow delta after a gap, from a new run, or naming an unknown switch makes the source ask for a full Arrow event', async () => {
  let script: ((res: http.ServerResponse) => void)[] = [];
  const asked: (string | undefined)[] = [];
  const server = http.createServer((req, res) => {
    if (!req.url!.startsWith('/counters/stream')) {
      res.writeHead(200, { 'content-type': 'text/csv' }).end(`${HEADER}\nsw1,9,9.9\nsw2,9,9.9\n`);
      return;
    }
    asked.push(req.headers['last-event-id'] as string | undefined);
    res.writeHead(200, { 'content-type': 'text/event-stream', 'x-event-data-type': ARROW_EVENTS });
    script.shift()?.(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const { store, push, sink } = pushRig(new URL(`${base}/counters/stream?delta=1`), new URL(`${base}/counters`), 'arrow');
  const full = (id: string, rows: [string, number, number][]) => arrowEvent(id, 'full', arrowRows(rows));
  const delta = (id: string, rows: [string, number, number][]) => arrowEvent(id, 'delta', arrowRows(rows));
  try {
    script = [
      (res) => res.write(Buffer.concat([full('a:1', [['sw1', 1, 0.1], ['sw2', 2, 0.2]]), delta('a:2', [['sw1', 11, 0.11]]), delta('a:4', [['sw2', 44, 0.44]])])),
      (res) => res.write(Buffer.concat([full('a:4', [['sw1', 41, 0.41], ['sw2', 42, 0.42]]), delta('b:5', [['sw2', 55, 0.55]])])),
      (res) => res.write(Buffer.concat([full('b:5', [['sw1', 51, 0.51], ['sw2', 52, 0.52]]), delta('b:6', [['sw3', 6, 0.6]])])),
      (res) => res.write(Buffer.concat([full('b:6', [['sw1', 61, 0.61], ['sw2', 62, 0.62]]), delta('b:7', [])])),
    ];
    push.start();
    await until(() => push.status().last_event_id === 'b:7' && asked.length === 4, 'the last events', 5000);
    assert.deepEqual(asked, [undefined, undefined, undefined, undefined]);
    assert.deepEqual(store.current()!.row('sw1'), [61, 0.61]);
    assert.deepEqual(store.current()!.row('sw2'), [62, 0.62]);
    // a:1, a:2, a:4, b:5, b:6, b:7 (an empty delta: nothing changed, a new version).
    assert.equal(store.current()!.version, 6);
    assert.ok(sink.lines.some((l) => /a gap in ticks \(2 then 4\)/.test(l)));
    assert.ok(sink.lines.some((l) => /a new generator run/.test(l)));
    assert.ok(sink.lines.some((l) => /delta not applicable \(Arrow\): delta has switch sw3, which the snapshot does not have/.test(l)));
  } finally {
    await push.stop();
    server.closeAllConnections();
    server.close();
  }
});

/** The stream faults of the streams issue, redone for Arrow events; then each Arrow body fault of the faults table. */
const STREAM_FAULTS: readonly { name: string; fault: (res: http.ServerResponse) => void; reason: RegExp }[] = [
  { name: 'event data that is not base64', fault: (res) => res.write(encodeSseEvent({ id: 'a:2', event: 'full', data: `${HEADER}\nsw1,5,0.5` })), reason: /unusable Arrow: not base64: 45 characters, not a multiple of 4/ },
  { name: 'base64 with a line break inside', fault: (res) => res.write(`id: a:2\nevent: full\ndata: ${Buffer.from(arrowRows([['sw1', 5, 0.5]])).toString('base64').slice(0, 40)}\ndata: AAAA\n\n`), reason: /unusable Arrow: not base64/ },
  { name: 'an Arrow event larger than max_body_bytes', fault: (res) => res.write(arrowEvent('a:2', 'full', new Uint8Array(3.5 * 1024 * 1024))), reason: /event larger than 4194304 bytes/ },
  {
    name: 'a connection cut mid-event',
    fault: (res) => {
      res.write(`id: a:2\nevent: full\ndata: ${Buffer.from(arrowRows([['sw1', 5, 0.5]])).toString('base64').slice(0, 40)}`);
      setTimeout(() => res.destroy(), 20);
    },
    reason: /connection (closed|reset)|aborted|ended/,
  },
  ...FAULTS.filter((f) => f.name !== 'empty body').map((f) => {
    // Built once, before any server runs: the largest take a moment to write.
    const event = arrowEvent('a:2', 'full', f.body());
    return { name: `Arrow body: ${f.name}`, fault: (res: http.ServerResponse) => res.write(event), reason: new RegExp(`unusable Arrow: ${f.reason.source.replace(/^\^/, '').replace(/\$$/, '')}`) };
  }),
];

for (const { name, fault, reason } of STREAM_FAULTS) {
  test(`the Arrow stream dies (${name}): the reason is logged once, the snapshot kept, polling stands in, push returns`, async () => {
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
      res.writeHead(200, { 'content-type': 'text/event-stream', 'x-event-data-type': ARROW_EVENTS });
      if (phase === 'good') {
        res.write(arrowEvent('a:1', 'full', arrowRows([['sw1', 1, 0.1], ['sw2', 2, 0.2]])));
        phase = 'fault';
        return;
      }
      if (phase === 'fault') {
        phase = 'down';
        fault(res);
        return;
      }
      res.write(arrowEvent('a:3', 'full', arrowRows([['sw1', 3, 0.3], ['sw2', 4, 0.4]])));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // The first connection ends by the 2 s idle timeout (it sends one event, then nothing); the fault
    // is on the second. Inline decoding (the worker's start-up under load would race that timeout).
    const preparer = new InlinePreparer();
    const { store, push, sink, health } = pushRig(new URL(`${base}/counters/stream`), new URL(`${base}/counters`), 'arrow', preparer, 4 * 1024 * 1024);
    const versions: number[] = [];
    store.onPublish((s) => versions.push(s.version));
    try {
      push.start();
      await until(() => push.status().events === 1, 'the first full event');
      await until(() => phase === 'down' && polls > 0 && store.current()!.row('sw1')![0] === 7, 'polling standing in (a poll ingested)', 15_000);
      assert.equal(push.status().polling_standing_in, true, `${JSON.stringify(push.status())} ${sink.lines.join('\n')}`);
      const failureLines = sink.lines.filter((l) => reason.test(l));
      assert.equal(failureLines.length, 1, `lines: ${sink.lines.join('\n')}`);
      assert.match(failureLines[0]!, /ERROR/);
      // The failure kept the snapshot there was.
      assert.match(failureLines[0]!, /keeping snapshot v\d+ /);
      phase = 'back';
      await until(() => push.status().events === 2 && !push.status().polling_standing_in, 'push back', 15_000);
      assert.deepEqual(store.current()!.row('sw1'), [3, 0.3]);
      assert.ok(health.consecutiveFailures === 0);
      assert.deepEqual(versions, [...versions].sort((a, b) => a - b));
      assert.equal(new Set(versions).size, versions.length);
    } finally {
      await push.stop();
      await preparer.close();
      server.closeAllConnections();
      server.close();
    }
  });
}
