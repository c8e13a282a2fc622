/**
 * Renders one tick's values as the `/counters` Arrow IPC stream (SPEC, "Binary transport"): the same
 * switches, metrics and values as the CSV of the same tick, as columns. Pure: no clock, no I/O.
 *
 * Values go through the schema's `roundToFormat`, as the CSV's do, so both representations carry the
 * same numbers (`-0` is written as `0`, as the CSV writes it). An integer column the simulator
 * already holds as an Int32Array is handed to the encoder as is; the switch ids, fixed for a run, are
 * built once per switch count and reused by every tick.
 */
import { arrowTypeOf, encodeArrowStream, type ArrowIdColumn, type ArrowNumberColumn } from '../../common/arrow-ipc.js';
import { METRICS, roundToFormat, switchIdFor, type MetricName } from '../../common/telemetry-schema.js';
import type { CsvSource } from './csv-writer.js';

/**
 * The Arrow stream of `source`'s switches with `metrics` in that order.
 *
 * @throws RangeError if a requested column is missing or shorter than `switchCount`.
 */
export function renderArrow(source: CsvSource, metrics: readonly MetricName[]): Buffer {
  const n = source.switchCount;
  const columns: ArrowNumberColumn[] = metrics.map((metric) => {
    const values = source.columns[metric];
    if (values === undefined || values.length < n) throw new RangeError(`column ${metric} has ${values?.length ?? 0} values, ${n} needed`);
    const format = METRICS[metric].format;
    if (arrowTypeOf(format) === 'int32') return { name: metric, type: 'int32', values: int32Column(values, n) };
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const v = roundToFormat(values[i]!, format);
      out[i] = v === 0 ? 0 : v;
    }
    return { name: metric, type: 'float64', values: out };
  });
  const bytes = encodeArrowStream(n, switchIds(n), columns);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The column itself when it is already whole Int32 values, else a rounded copy. */
function int32Column(values: ArrayLike<number>, n: number): Int32Array {
  if (values instanceof Int32Array) return values;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.round(values[i]!);
  return out;
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
