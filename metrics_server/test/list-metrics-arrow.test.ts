/**
 * ListMetrics as an Arrow IPC stream (SPEC, "Binary transport"), read back with apache-arrow's table
 * API, a reader independent of our encoder's assumptions, and compared with the JSON answer of the
 * same ETag.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AddressInfo } from 'node:net';
import { tableFromIPC, type Table } from 'apache-arrow';
import { ARROW_STREAM_TYPE } from '../../common/arrow-media.js';
import { METRIC_NAMES } from '../../common/telemetry-schema.js';
import { DEFAULT_SIMULATION } from '../../telemetry_generator/src/config.js';
import { renderCsv } from '../../telemetry_generator/src/csv-writer.js';
import { simulate } from '../../telemetry_generator/src/simulator.js';
import { WorkerRenderer } from '../src/views/render/renderer.js';
import { SEED_CSV, publishCsv, testApp } from './helpers.js';

const TS = 1766501919;
type Json = Record<string, Record<string, number>>;

/** The table's rows as the JSON body's shape: `{id: {metric: value, …, timestamp}}`. */
function asJsonShape(table: Table): Json {
  const out: Json = {};
  const names = table.schema.fields.map((f) => f.name);
  const columns = names.map((name) => table.getChild(name)!);
  for (let row = 0; row < table.numRows; row++) {
    const entry: Record<string, number> = {};
    for (let c = 1; c < names.length; c++) {
      const value: unknown = columns[c]!.get(row);
      entry[names[c]!] = typeof value === 'bigint' ? Number(value) : (value as number);
    }
    out[String(columns[0]!.get(row))] = entry;
  }
  return out;
}

test('ListMetrics with Accept: Arrow equals the JSON answer of the same ETag, with SPEC column types', async (t) => {
  const built = testApp('ERROR');
  t.after(() => built.app.close());
  const csv = renderCsv(simulate({ switchCount: 300, simulation: DEFAULT_SIMULATION, seed: 5 }, 9), METRIC_NAMES).toString('utf8');
  publishCsv(built.store, csv, TS * 1000);
  const json = await built.app.inject({ url: '/telemetry/ListMetrics' });
  const arrow = await built.app.inject({ url: '/telemetry/ListMetrics', headers: { accept: ARROW_STREAM_TYPE } });
  assert.equal(arrow.statusCode, 200);
  assert.equal(arrow.headers['content-type'], ARROW_STREAM_TYPE);
  assert.equal(arrow.headers['vary'], 'Accept, Accept-Encoding');
  assert.equal(arrow.headers['etag'], json.headers['etag']);
  const table = tableFromIPC(arrow.rawPayload);
  assert.deepEqual(
    table.schema.fields.map((f) => `${f.name}:${String(f.type)}`),
    ['switch_id:Utf8', 'bandwidth_mbps:Int32', 'latency_ms:Float64', 'packet_errors:Int32', 'link_status:Int32', 'tx_queue_depth:Int32', 'utilization_percent:Float64', 'timestamp:Int64'],
  );
  assert.equal(table.numRows, 300);
  const expected = json.json<Json>();
  assert.deepEqual(asJsonShape(table), expected);
  assert.deepEqual(Object.keys(asJsonShape(table)), Object.keys(expected), 'rows in snapshot order');
  // Rendered once for the snapshot, however many ask.
  await built.app.inject({ url: '/telemetry/ListMetrics', headers: { accept: `${ARROW_STREAM_TYPE}, application/json;q=0.5` } });
  assert.equal(built.views.stats('list-metrics.arrow').renders, 1);
  // JSON stays the default, and a client preferring JSON gets JSON.
  const preferJson = await built.app.inject({ url: '/telemetry/ListMetrics', headers: { accept: `application/json, ${ARROW_STREAM_TYPE};q=0.5` } });
  assert.equal(preferJson.headers['content-type'], 'application/json; charset=utf-8');
  const notModified = await built.app.inject({ url: '/telemetry/ListMetrics', headers: { accept: ARROW_STREAM_TYPE, 'if-none-match': String(json.headers['etag']) } });
  assert.equal(notModified.statusCode, 304);
});

test('filtered ListMetrics in Arrow holds the filtered JSON answer', async (t) => {
  const built = testApp('ERROR');
  t.after(() => built.app.close());
  publishCsv(built.store, SEED_CSV, TS * 1000);
  const query = '/telemetry/ListMetrics?switch=sw3,sw1&metric=utilization_percent,packet_errors';
  const json = (await built.app.inject({ url: query })).json<Json>();
  const arrow = await built.app.inject({ url: query, headers: { accept: ARROW_STREAM_TYPE } });
  assert.equal(arrow.headers['content-type'], ARROW_STREAM_TYPE);
  const table = tableFromIPC(arrow.rawPayload);
  assert.deepEqual(table.schema.fields.map((f) => `${f.name}:${String(f.type)}`), ['switch_id:Utf8', 'packet_errors:Int32', 'utilization_percent:Float64', 'timestamp:Int64']);
  assert.deepEqual(asJsonShape(table), json);
});

test('a metric the schema does not know is Int32 while whole, Float64 otherwise; values stay exact', async (t) => {
  const built = testApp('ERROR');
  t.after(() => built.app.close());
  publishCsv(built.store, 'switch_id,fan_rpm,temp_c,link_status\nsw1,1200,41.5,1\nsw2,900,-0.25,2.5\n', TS * 1000);
  const arrow = await built.app.inject({ url: '/telemetry/ListMetrics', headers: { accept: ARROW_STREAM_TYPE } });
  const table = tableFromIPC(arrow.rawPayload);
  assert.deepEqual(table.schema.fields.map((f) => `${f.name}:${String(f.type)}`), ['switch_id:Utf8', 'fan_rpm:Int32', 'temp_c:Float64', 'link_status:Float64', 'timestamp:Int64']);
  assert.deepEqual(asJsonShape(table), (await built.app.inject({ url: '/telemetry/ListMetrics' })).json<Json>());
});

test('the read fast path never answers an Arrow request with JSON (render worker, real socket)', async (t) => {
  const renderer = new WorkerRenderer();
  const built = testApp('ERROR', () => [], { renderer });
  t.after(async () => {
    await built.app.close();
    await renderer.close();
  });
  publishCsv(built.store, SEED_CSV, TS * 1000);
  await built.app.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${(built.app.server.address() as AddressInfo).port}/telemetry/ListMetrics`;
  assert.equal((await fetch(url)).headers.get('content-type'), 'application/json; charset=utf-8');
  const res = await fetch(url, { headers: { accept: ARROW_STREAM_TYPE } });
  assert.equal(res.headers.get('content-type'), ARROW_STREAM_TYPE);
  assert.equal(tableFromIPC(new Uint8Array(await res.arrayBuffer())).numRows, 3);
});
