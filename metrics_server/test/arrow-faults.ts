/**
 * Arrow bodies for the ingestion tests: a builder for arbitrary (also malformed) Arrow streams, a
 * good body of the generator's, and the fault table of the faults issue in Arrow, each body with the
 * reason it must fail with. Shared by the poll tests (arrow-ingest.test.ts) and the push stream's
 * (push-source-arrow.test.ts), so both refuse the same bodies for the same reasons.
 */
import { Field, Float32, Float64, Int32, Int64, RecordBatch, Schema, Struct, Table, Utf8, makeData, tableToIPC, type Data, type DataType } from 'apache-arrow';
import { encodeArrowStream } from '../../common/arrow-ipc.js';
import { METRIC_NAMES } from '../../common/telemetry-schema.js';
import { renderArrow } from '../../telemetry_generator/src/arrow-writer.js';
import { DEFAULT_SIMULATION } from '../../telemetry_generator/src/config.js';
import { simulate } from '../../telemetry_generator/src/simulator.js';

export const enc = new TextEncoder();

/** An Arrow stream of arbitrary columns (nulls allowed), for bodies the generator never sends. */
export function arrowOf(length: number, columns: readonly { name: string; data: Data<DataType> }[]): Uint8Array {
  const fields = columns.map((c) => new Field(c.name, c.data.type, true));
  return tableToIPC(new Table([new RecordBatch(new Schema(fields), makeData({ type: new Struct(fields), length, nullCount: 0, children: columns.map((c) => c.data) }))]), 'stream');
}

export function utf8(values: readonly (string | null)[], lengthOverride?: number): Data<Utf8> {
  const offsets = new Int32Array(values.length + 1);
  const text: number[] = [];
  const valid = new Uint8Array(Math.ceil(values.length / 8) || 1);
  values.forEach((v, i) => {
    if (v !== null) {
      text.push(...enc.encode(v));
      valid[i >> 3]! |= 1 << (i & 7);
    }
    offsets[i + 1] = text.length;
  });
  const nulls = values.filter((v) => v === null).length;
  return makeData({ type: new Utf8(), length: lengthOverride ?? values.length, nullCount: nulls, nullBitmap: nulls > 0 ? valid : null, valueOffsets: offsets, data: Uint8Array.from(text) });
}

export function f64(values: readonly (number | null)[]): Data<Float64> {
  const valid = new Uint8Array(Math.ceil(values.length / 8) || 1);
  values.forEach((v, i) => {
    if (v !== null) valid[i >> 3]! |= 1 << (i & 7);
  });
  const nulls = values.filter((v) => v === null).length;
  return makeData({ type: new Float64(), length: values.length, nullCount: nulls, nullBitmap: nulls > 0 ? valid : null, data: Float64Array.from(values, (v) => v ?? 0) });
}

export function i32(values: readonly number[], length = values.length): Data<Int32> {
  return makeData({ type: new Int32(), length, nullCount: 0, data: Int32Array.from(values) });
}

export const GOOD = (tick: number): Uint8Array => renderArrow(simulate({ switchCount: 50, simulation: DEFAULT_SIMULATION, seed: 3 }, tick), METRIC_NAMES);

/** Each malformed body of the faults issue, in Arrow, and the reason it must fail with. */
export const FAULTS: readonly { name: string; body: () => Uint8Array; reason: RegExp }[] = [
  { name: 'empty body', body: () => new Uint8Array(0), reason: /^empty body$/ },
  { name: 'CSV text sent as Arrow', body: () => enc.encode('switch_id,latency_ms\nsw1,1\n'), reason: /^not a readable Arrow IPC stream: Expected to read \d+ metadata bytes/ },
  { name: 'truncated in the schema', body: () => GOOD(1).subarray(0, 100), reason: /^not a readable Arrow IPC stream: Expected to read \d+ metadata bytes/ },
  { name: 'truncated in the batch', body: () => GOOD(1).subarray(0, GOOD(1).length - 200), reason: /^not a readable Arrow IPC stream: Expected to read \d+ bytes for message body/ },
  { name: 'truncated to a few bytes', body: () => GOOD(1).subarray(0, 6), reason: /^no Arrow schema$/ },
  { name: 'schema without switch_id', body: () => arrowOf(1, [{ name: 'id', data: utf8(['sw1']) }, { name: 'latency_ms', data: f64([1]) }]), reason: /^schema has no switch_id column$/ },
  { name: 'schema with duplicate columns', body: () => arrowOf(1, [{ name: 'switch_id', data: utf8(['sw1']) }, { name: 'a', data: f64([1]) }, { name: 'a', data: f64([1]) }]), reason: /^duplicate column "a"$/ },
  { name: 'schema with an invalid metric name', body: () => arrowOf(1, [{ name: 'switch_id', data: utf8(['sw1']) }, { name: 'bad name\u0085', data: f64([1]) }]), reason: /^invalid column name "bad name\\u0085"$/ },
  { name: 'schema without metrics', body: () => arrowOf(1, [{ name: 'switch_id', data: utf8(['sw1']) }]), reason: /^schema has no metric columns$/ },
  { name: 'switch_id of the wrong type', body: () => arrowOf(1, [{ name: 'switch_id', data: i32([1]) }, { name: 'a', data: f64([1]) }]), reason: /^column switch_id has type Int32; expected Utf8/ },
  { name: 'a metric as text', body: () => arrowOf(1, [{ name: 'switch_id', data: utf8(['sw1']) }, { name: 'latency_ms', data: utf8(['1.5']) }]), reason: /^column "latency_ms" has type Utf8; expected Int32 or Float64$/ },
  { name: 'a metric as Float32', body: () => arrowOf(1, [{ name: 'switch_id', data: utf8(['sw1']) }, { name: 'latency_ms', data: makeData({ type: new Float32(), length: 1, data: Float32Array.from([6.8]) }) }]), reason: /^column "latency_ms" has type Float32; expected Int32 or Float64$/ },
  { name: 'a metric as Int64', body: () => arrowOf(1, [{ name: 'switch_id', data: utf8(['sw1']) }, { name: 'packet_errors', data: makeData({ type: new Int64(), length: 1, data: BigInt64Array.from([1n]) }) }]), reason: /^column "packet_errors" has type Int64; expected Int32 or Float64$/ },
  {
    name: 'a schema with 10,000 columns',
    body: () => encodeArrowStream(1, { text: enc.encode('sw1'), offsets: Int32Array.from([0, 3]) }, Array.from({ length: 10_000 }, (_, i) => ({ name: `m${i}`, type: 'int32' as const, values: new Int32Array(1) }))),
    reason: /^schema has more than 256 columns$/,
  },
  { name: 'a bomb: 2^30 rows declared over a few bytes', body: () => arrowOf(2 ** 30, [{ name: 'switch_id', data: utf8(['sw1'], 2 ** 30) }, { name: 'a', data: i32([1], 2 ** 30) }]), reason: /^column "switch_id": string offsets shorter than its 1073741824 rows$/ },
  {
    name: 'a bomb: a string offset of 2^30 over 3 bytes',
    body: () => arrowOf(1, [{ name: 'switch_id', data: makeData({ type: new Utf8(), length: 1, nullCount: 0, valueOffsets: Int32Array.from([0, 2 ** 30]), data: enc.encode('sw1') }) }, { name: 'a', data: i32([1]) }]),
    reason: /^column "switch_id": string offset out of range$/,
  },
  {
    name: 'more than 4,096 record batches',
    body: () => {
      const fields = [new Field('switch_id', new Utf8(), false), new Field('a', new Int32(), false)];
      const schema = new Schema(fields);
      const batch = (i: number): RecordBatch => new RecordBatch(schema, makeData({ type: new Struct(fields), length: 1, nullCount: 0, children: [utf8([`sw${i}`]), i32([i])] }));
      return tableToIPC(new Table(Array.from({ length: 4097 }, (_, i) => batch(i))), 'stream');
    },
    reason: /^more than 4096 record batches$/,
  },
  { name: 'no valid row', body: () => arrowOf(2, [{ name: 'switch_id', data: utf8(['bad id', null]) }, { name: 'a', data: f64([1, 2]) }]), reason: /^no valid row$/ },
];
