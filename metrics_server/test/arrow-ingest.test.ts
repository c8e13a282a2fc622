/**
 * Arrow IPC ingestion (SPEC, "Binary transport"): the same validation and the same snapshot as the
 * CSV of the same tick, and every malformed Arrow body fails the poll with a reason logged once while
 * the last snapshot stays.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Dictionary, Int8, makeVector, Utf8, makeData } from 'apache-arrow';
import { ARROW_STREAM_TYPE } from '../../common/arrow-media.js';
import { METRIC_NAMES } from '../../common/telemetry-schema.js';
import { buildGeneratorApp } from '../../telemetry_generator/src/app.js';
import { renderArrow } from '../../telemetry_generator/src/arrow-writer.js';
import { DEFAULT_SIMULATION } from '../../telemetry_generator/src/config.js';
import { renderCsv } from '../../telemetry_generator/src/csv-writer.js';
import { TelemetryFeed } from '../../telemetry_generator/src/feed.js';
import { simulate } from '../../telemetry_generator/src/simulator.js';
import { createLogger, MemorySink } from '../../common/logger.js';
import { prepareBody, type PrepareResult } from '../src/ingest/prepare.js';
import { decodeColumns } from '../src/snapshot/wire.js';
import { bodyFormat } from '../src/sources/poll-source.js';
import { startMetricsServer } from '../src/metrics-server.js';
import { FAULTS, GOOD, arrowOf, enc, f64, i32, utf8 } from './arrow-faults.js';
import { memoryLogger, testConfig } from './helpers.js';

/**
 * The same snapshot content: ids in order, metric names, number kinds and values. (The id hash
 * table's size may differ: the CSV parser sizes it by line count, the Arrow decoder by row count.)
 */
function assertSameColumns(actual: PrepareResult, expected: PrepareResult, message: string): void {
  assert.ok(actual.ok && expected.ok, message);
  const a = decodeColumns(actual.block, 'own');
  const b = decodeColumns(expected.block, 'own');
  assert.ok(a.ok && b.ok);
  assert.equal(a.value.rowCount, b.value.rowCount, message);
  assert.deepEqual(Buffer.from(a.value.ids.idText), Buffer.from(b.value.ids.idText), message);
  assert.deepEqual(a.value.ids.idEnds, b.value.ids.idEnds, message);
  assert.deepEqual(
    a.value.metrics.map((m) => [m.name, m.decimals, [...m.values]]),
    b.value.metrics.map((m) => [m.name, m.decimals, [...m.values]]),
    message,
  );
}


test('fault table: every malformed Arrow body is refused whole, with its reason', () => {
  for (const fault of FAULTS) {
    const result = prepareBody(fault.body(), 'arrow');
    assert.equal(result.ok, false, fault.name);
    if (!result.ok) assert.match(result.reason, fault.reason, fault.name);
  }
});

test('rows are rejected for the same reasons and counted as the same CSV rows would be', () => {
  const ids = ['sw1', 'sw2', null, 'bad id', 'sw1', 'sw5', 'sw6', 'x'.repeat(65), 'sw9'];
  const latency = [1.5, null, 2, 3, 4, Number.NaN, Number.POSITIVE_INFINITY, 5, -0.25];
  const arrow = prepareBody(arrowOf(ids.length, [{ name: 'switch_id', data: utf8(ids) }, { name: 'latency_ms', data: f64(latency) }, { name: 'link_status', data: i32([1, 1, 1, 1, 1, 1, 1, 1, 0]) }]), 'arrow');
  const csvRows = ids.map((id, i) => `${id ?? ''},${latency[i] === null ? '' : String(latency[i])},${i === 8 ? 0 : 1}`);
  const csv = prepareBody(enc.encode(`switch_id,latency_ms,link_status\n${csvRows.join('\n')}\n`), 'csv');
  assert.ok(arrow.ok && csv.ok);
  assert.deepEqual(arrow.rejected, { wrong_field_count: 0, invalid_number: 3, invalid_switch_id: 3, duplicate_switch_id: 1 });
  assert.deepEqual(arrow.rejected, csv.rejected);
  assert.equal(arrow.rowsSeen, csv.rowsSeen);
  assertSameColumns(arrow, csv, 'the same columns, so every view is the same');
});

test('a dictionary-encoded switch_id column is read like a plain one', () => {
  const dictionary = utf8(['sw1', 'sw2', 'sw3']);
  const type = new Dictionary(new Utf8(), new Int8());
  const ids = makeData({ type, length: 4, nullCount: 0, data: Int8Array.from([2, 0, 1, 0]), dictionary: makeVector(dictionary) });
  const result = prepareBody(arrowOf(4, [{ name: 'switch_id', data: ids }, { name: 'a', data: i32([3, 1, 2, 9]) }]), 'arrow');
  const csv = prepareBody(enc.encode('switch_id,a\nsw3,3\nsw1,1\nsw2,2\nsw1,9\n'), 'csv');
  assertSameColumns(result, csv, 'dictionary ids');
});

test('property-style: every simulated tick ingested from Arrow gives the columns of CSV ingestion', () => {
  for (const [seed, switchCount, tick] of [
    [1, 1, 0],
    [42, 300, 7],
    [7, 1000, 30],
    [2 ** 31, 64, 3],
  ] as const) {
    const state = simulate({ switchCount, simulation: DEFAULT_SIMULATION, seed }, tick);
    const fromCsv = prepareBody(renderCsv(state, METRIC_NAMES), 'csv');
    const fromArrow = prepareBody(renderArrow(state, METRIC_NAMES), 'arrow');
    assertSameColumns(fromArrow, fromCsv, `seed ${seed}, ${switchCount} switches, tick ${tick}`);
  }
});

test('which parser reads an answer, by ingestion.format and Content-Type', () => {
  assert.equal(bodyFormat('csv', ARROW_STREAM_TYPE), 'csv');
  assert.equal(bodyFormat('auto', ARROW_STREAM_TYPE), 'arrow');
  assert.equal(bodyFormat('auto', 'text/csv; charset=utf-8'), 'csv');
  assert.equal(bodyFormat('auto', undefined), 'csv');
  assert.equal(bodyFormat('arrow', `${ARROW_STREAM_TYPE}; x=1`), 'arrow');
  assert.equal(bodyFormat('arrow', 'text/csv'), undefined);
});

/** A one-route upstream serving whatever body is set, labelled as Arrow. */
async function arrowUpstream(): Promise<{ url: URL; set: (body: Uint8Array) => void; close: () => Promise<void> }> {
  let body: Uint8Array = new Uint8Array(0);
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': ARROW_STREAM_TYPE, 'content-length': body.length });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: new URL(`http://127.0.0.1:${port}/counters`), set: (b) => (body = b), close: () => new Promise((resolve) => server.close(() => resolve())) };
}

test('fault table through a running server: each bad Arrow body fails its poll, logs one line, keeps the snapshot', async (t) => {
  const upstream = await arrowUpstream();
  t.after(() => upstream.close());
  const { logger, sink } = memoryLogger('INFO');
  const server = await startMetricsServer(testConfig({ generatorUrl: upstream.url, pollIntervalMs: 3_600_000, format: 'arrow', maxBodyBytes: 8 * 1024 * 1024 }), { logger });
  t.after(() => server.stop());
  upstream.set(GOOD(1));
  assert.equal((await server.source.pollOnce()).outcome, 'ok');
  const kept = server.store.current()!;
  const keptList = await (await fetch(`${server.url}/telemetry/ListMetrics`)).text();
  for (const fault of FAULTS) {
    upstream.set(fault.body());
    const before = sink.lines.length;
    const record = await server.source.pollOnce();
    assert.equal(record.outcome, 'failed', fault.name);
    assert.match(record.error ?? '', new RegExp(`^unusable Arrow: ${fault.reason.source.replace(/^\^/, '')}`), fault.name);
    assert.equal(server.store.current(), kept, `${fault.name}: the last snapshot stays`);
    const logged = sink.lines.slice(before).filter((l) => l.includes('[poller]'));
    assert.equal(logged.length, 1, `${fault.name}: one line, got ${JSON.stringify(logged)}`);
    assert.match(logged[0]!, /ERROR \[poller\] poll of .* failed: unusable Arrow: .*; keeping snapshot v1/);
  }
  assert.equal(await (await fetch(`${server.url}/telemetry/ListMetrics`)).text(), keptList);
  upstream.set(GOOD(2));
  assert.equal((await server.source.pollOnce()).outcome, 'ok');
  assert.equal(server.store.current()!.version, 2);
});

test('servers ingesting the generator in csv, arrow and auto serve the same answers for the same tick', async (t) => {
  const feed = new TelemetryFeed({ switchCount: 500, metrics: METRIC_NAMES, simulation: DEFAULT_SIMULATION, seed: 11, updateIntervalSeconds: 3600, logger: createLogger({ level: 'ERROR', format: 'text', sink: new MemorySink() }) });
  feed.advance();
  const generator = buildGeneratorApp({ feed });
  await generator.listen({ host: '127.0.0.1', port: 0 });
  t.after(() => generator.close());
  const { port } = generator.server.address() as AddressInfo;
  const generatorUrl = new URL(`http://127.0.0.1:${port}/counters`);
  const answers: string[][] = [];
  for (const format of ['csv', 'arrow', 'auto'] as const) {
    const server = await startMetricsServer(testConfig({ generatorUrl, pollIntervalMs: 3_600_000, format }), { logger: memoryLogger('ERROR').logger });
    const record = await server.source.pollOnce();
    assert.equal(record.outcome, 'ok', format);
    // Status says which encoding the last body had (auto asks for Arrow, and this generator has it).
    const lastPoll = ((await (await fetch(`${server.url}/telemetry/Status`)).json()) as { ingestion: { last_poll: { format?: string } } }).ingestion.last_poll;
    assert.equal(lastPoll.format, format === 'csv' ? 'csv' : 'arrow', format);
    const get = async (path: string): Promise<string> => (await (await fetch(`${server.url}${path}`)).text()).replace(/"timestamp":\d+/g, '"timestamp":T');
    answers.push([
      await get('/telemetry/ListMetrics'),
      await get('/telemetry/GetMetric?switch=sw17&metric=latency_ms'),
      await get('/telemetry/ListMetrics?switch=sw1,sw500&metric=utilization_percent,packet_errors'),
      (await get('/metrics')).split('\n').filter((l) => l.startsWith('fabric_')).join('\n'),
    ]);
    // A second poll of the same tick is a 304 against the representation's own ETag.
    assert.equal((await server.source.pollOnce()).outcome, 'not_modified', format);
    await server.stop();
  }
  assert.ok(answers[0]![0]!.length > 10_000);
  assert.deepEqual(answers[1], answers[0], 'arrow ingestion answers as csv ingestion');
  assert.deepEqual(answers[2], answers[0], 'auto ingestion answers as csv ingestion');
});

test('the id pass of the last body is reused only when the id column is byte for byte the same', () => {
  const body = (ids: readonly string[], values: readonly number[]): Uint8Array => arrowOf(ids.length, [{ name: 'switch_id', data: utf8(ids) }, { name: 'a', data: f64(values) }]);
  const csvOf = (ids: readonly string[], values: readonly number[]): Uint8Array => enc.encode(`switch_id,a\n${ids.map((id, i) => `${id},${values[i]}`).join('\n')}\n`);
  const cases: [readonly string[], readonly number[]][] = [
    [['sw1', 'sw23', 'sw1', 'bad id'], [1, 2, 3, 4]],
    [['sw1', 'sw23', 'sw1', 'bad id'], [5, 6.5, 7, 8]], // same ids: reused
    [['sw12', 'sw3', 'sw1', 'bad id'], [1, 2, 3, 4]], // same text, other boundaries: not reused
    [['sw12', 'sw3', 'sw1', 'bad id'], [1, Number.NaN, 3, 4]], // a number rejected: the pass runs afresh
    [['sw12', 'sw3', 'sw1', 'bad id'], [9, 9, 9, 9]],
  ];
  for (const [ids, values] of cases) {
    const arrow = prepareBody(body(ids, values), 'arrow');
    const csv = prepareBody(csvOf(ids, values), 'csv');
    assert.ok(arrow.ok && csv.ok);
    assert.deepEqual(arrow.rejected, csv.rejected, ids.join(','));
    assertSameColumns(arrow, csv, `${ids.join(',')} / ${values.join(',')}`);
  }
});
