/**
 * The Arrow IPC side of the telemetry contract, shared by both services: the one encoder that writes
 * a table of switch ids and numeric columns as an Arrow IPC stream (SPEC, "Binary transport"), and
 * the Arrow type of each metric format. (The media type and `Accept` negotiation are in
 * arrow-media.ts, which does not load the library: a thread that never encodes Arrow never pays for
 * loading it.) The generator writes `/counters` with
 * it and the metrics server the ListMetrics Arrow view, so the two cannot disagree on the layout.
 *
 * The encoder hands the library typed arrays the caller already holds (`makeData` wraps them without
 * copying); `tableToIPC` then writes the stream in one pass.
 */
import { Field, Float64, Int32, Int64, RecordBatch, Schema, Struct, Table, Utf8, makeData, tableToIPC, type Data, type DataType } from 'apache-arrow';
import { SWITCH_ID_COLUMN, type MetricFormat } from './telemetry-schema.js';

/** The Arrow type of a metric column: integer metrics as `Int32`, decimal metrics as `Float64` (SPEC). */
export type ArrowNumberType = 'int32' | 'float64';

/** The Arrow type SPEC gives a metric of this format. */
export function arrowTypeOf(format: MetricFormat): ArrowNumberType {
  return format.kind === 'integer' ? 'int32' : 'float64';
}

/** One numeric column to encode. */
export type ArrowNumberColumn =
  | { readonly name: string; readonly type: 'int32'; readonly values: Int32Array }
  | { readonly name: string; readonly type: 'float64'; readonly values: Float64Array }
  | { readonly name: string; readonly type: 'int64'; readonly values: BigInt64Array };

/** The switch ids as an Arrow `Utf8` column's two buffers: UTF-8 bytes and `rowCount + 1` offsets. */
export interface ArrowIdColumn {
  readonly text: Uint8Array;
  readonly offsets: Int32Array;
}

/**
 * `switch_id` (Utf8, not nullable) then the columns, as one record batch in an Arrow IPC stream.
 *
 * @throws RangeError when a column is shorter than `rowCount`.
 */
export function encodeArrowStream(rowCount: number, ids: ArrowIdColumn, columns: readonly ArrowNumberColumn[]): Uint8Array {
  if (ids.offsets.length < rowCount + 1) throw new RangeError(`switch_id offsets hold ${ids.offsets.length} entries, ${rowCount + 1} needed`);
  const fields: Field[] = [new Field(SWITCH_ID_COLUMN, new Utf8(), false)];
  const children: Data<DataType>[] = [makeData({ type: new Utf8(), length: rowCount, nullCount: 0, valueOffsets: ids.offsets.subarray(0, rowCount + 1), data: ids.text })];
  for (const column of columns) {
    if (column.values.length < rowCount) throw new RangeError(`column ${column.name} has ${column.values.length} values, ${rowCount} needed`);
    let data: Data<DataType>;
    if (column.type === 'int32') data = makeData({ type: new Int32(), length: rowCount, nullCount: 0, data: column.values.subarray(0, rowCount) });
    else if (column.type === 'float64') data = makeData({ type: new Float64(), length: rowCount, nullCount: 0, data: column.values.subarray(0, rowCount) });
    else data = makeData({ type: new Int64(), length: rowCount, nullCount: 0, data: column.values.subarray(0, rowCount) });
    fields.push(new Field(column.name, data.type, false));
    children.push(data);
  }
  const schema = new Schema(fields);
  const batch = new RecordBatch(schema, makeData({ type: new Struct(fields), length: rowCount, nullCount: 0, children }));
  return tableToIPC(new Table([batch]), 'stream');
}
