/**
 * Renders one tick's values as the `/counters` Arrow IPC stream (SPEC, "Binary transport"): the same
 * switches, metrics and values as the CSV of the same tick, as columns. Pure: no clock, no I/O.
 *
 * Values go through the schema's `roundToFormat`, as the CSV's do, so both representations carry the
 * same numbers (`-0` is written as `0`, as the CSV writes it). An integer column the simulator
 * already holds as an Int32Array is handed to the encoder as is; the switch ids, fixed for a run, are
 * built once per switch count and reused by every tick.
 *
 * With `rows` (ascending switch indexes) only those switches are written: a stream's Arrow `delta`
 * event is the same writer's output, as the CSV delta is the CSV writer's.
 */
import { arrowTypeOf, encodeArrowStream, type ArrowIdColumn, type ArrowNumberColumn } from '../../common/arrow-ipc.js';
import { METRICS, roundToFormat, switchIdFor, type MetricName } from '../../common/telemetry-schema.js';
import type { CsvSource } from './csv-writer.js';

/**
 * The Arrow stream of `source`'s switches (or only those in `rows`, ascending indexes) with
 * `metrics` in that order.
 *
 * @throws RangeError if a requested column is missing or shorter than `switchCount`, or a row is out of range.
 */
export function renderArrow(source: CsvSource, metrics: readonly MetricName[], rows?: Int32Array): Buffer {
  const n = source.switchCount;
  // Every row, in order, is the full body: the cached ids and the simulator's own columns serve as they are.
  const subset = rows !== undefined && rows.length !== n ? rows : undefined;
  if (subset !== undefined) for (let r = 0; r < subset.length; r++) if (!(subset[r]! >= 0 && subset[r]! < n)) throw new RangeError(`row ${subset[r]} is not a switch index below ${n}`);
  const count = subset === undefined ? n : subset.length;
  const columns: ArrowNumberColumn[] = metrics.map((metric) => {
    const values = source.columns[metric];
    if (values === undefined || values.length < n) throw new RangeError(`column ${metric} has ${values?.length ?? 0} values, ${n} needed`);
    const format = METRICS[metric].format;
    if (arrowTypeOf(format) === 'int32') return { name: metric, type: 'int32', values: int32Column(values, n, subset) };
    const out = new Float64Array(count);
    for (let r = 0; r < count; r++) {
      const v = roundToFormat(values[subset === undefined ? r : subset[r]!]!, format);
      out[r] = v === 0 ? 0 : v;
    }
    return { name: metric, type: 'float64', values: out };
  });
  const bytes = encodeArrowStream(count, subset === undefined ? switchIds(n) : switchIdsOf(n, subset), columns);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The column itself when it is already whole Int32 values of every row, else a rounded copy. */
function int32Column(values: ArrayLike<number>, n: number, rows: Int32Array | undefined): Int32Array {
  if (rows === undefined && values instanceof Int32Array) return values;
  const count = rows === undefined ? n : rows.length;
  const out = new Int32Array(count);
  for (let r = 0; r < count; r++) out[r] = Math.round(values[rows === undefined ? r : rows[r]!]!);
  return out;
}

/** The ids of `rows` only, gathered from the run's cached id column. */
function switchIdsOf(count: number, rows: Int32Array): ArrowIdColumn {
  const all = switchIds(count);
  const offsets = new Int32Array(rows.length + 1);
  for (let r = 0; r < rows.length; r++) offsets[r + 1] = offsets[r]! + all.offsets[rows[r]! + 1]! - all.offsets[rows[r]!]!;
  const text = new Uint8Array(offsets[rows.length]!);
  for (let r = 0; r < rows.length; r++) text.set(all.text.subarray(all.offsets[rows[r]!]!, all.offsets[rows[r]! + 1]!), offsets[r]!);
  return { text, offsets };
}

let cachedIds: { readonly count: number; readonly column: ArrowIdColumn } | undefined;

/** `sw1` … `swN` as Arrow Utf8 buffers; the last count's are kept, since a run never changes it. */
export function switchIds(count: number): ArrowIdColumn {
  if (cachedIds?.count === count) return cachedIds.column;
  const offsets = new Int32Array(count + 1);
  let length = 0;
  for (let i = 0; i < count; i++) offsets[i + 1] = length += switchIdFor(i).length;
  const text = new Uint8Array(length);
  for (let i = 0; i < count; i++) {
    const id = switchIdFor(i);
    for (let k = 0; k < id.length; k++) text[offsets[i]! + k] = id.charCodeAt(k);
  }
  cachedIds = { count, column: { text, offsets } };
  return cachedIds.column;
}
