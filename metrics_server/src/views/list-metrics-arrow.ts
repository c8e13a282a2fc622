/**
 * The ListMetrics body as an Apache Arrow IPC stream (SPEC, "Binary transport"), for analysts' tools
 * (pyarrow, pandas, Polars, DuckDB): `switch_id` (Utf8), one column per metric, then `timestamp`
 * (Int64, Unix seconds, the same for every row). Rendered once per snapshot in the render worker,
 * like the JSON body, from the same columns, so the values are the JSON's.
 *
 * Column types: a metric of the shared schema takes the type SPEC gives its format (integer metrics
 * Int32, decimal metrics Float64), so a column's type does not change from one snapshot to the next
 * when its values happen to be whole. A metric the schema does not know (a generator configured with
 * more) is Int32 when its number kind says every value is whole, else Float64. Either way, a column
 * that would be Int32 but holds a value Int32 cannot carry exactly (a fraction, or beyond 2^31) is
 * Float64 instead: the values must equal the JSON ones.
 */
import { arrowTypeOf, encodeArrowStream, type ArrowIdColumn, type ArrowNumberColumn } from '../../../common/arrow-ipc.js';
import { METRICS, TIMESTAMP_FIELD, isMetricName } from '../../../common/telemetry-schema.js';
import type { MetricColumn, TelemetryColumns } from '../snapshot/columns.js';

/** The whole ListMetrics body of `columns` ingested at `timestamp` (Unix seconds). */
export function renderListMetricsArrow(columns: TelemetryColumns, timestamp: number): Uint8Array {
  return encodeListMetricsArrow(columns.rowCount, arrowIds(columns.ids.idText, columns.ids.idEnds), columns.metrics, timestamp);
}

/** The body for `rowCount` rows of ids and metric columns (the whole snapshot, or a filtered part of it). */
export function encodeListMetricsArrow(rowCount: number, ids: ArrowIdColumn, metrics: readonly MetricColumn[], timestamp: number): Uint8Array {
  const columns: ArrowNumberColumn[] = metrics.map((metric) => arrowColumn(metric, rowCount));
  columns.push({ name: TIMESTAMP_FIELD, type: 'int64', values: new BigInt64Array(rowCount).fill(BigInt(timestamp)) });
  return encodeArrowStream(rowCount, ids, columns);
}

/** Ids joined with `\n` (the snapshot's form) as Utf8 buffers: the same bytes without the separators. */
export function arrowIds(idText: Uint8Array, idEnds: Int32Array): ArrowIdColumn {
  const rows = idEnds.length;
  const text = new Uint8Array(Math.max(0, idText.length - Math.max(0, rows - 1)));
  const offsets = new Int32Array(rows + 1);
  let p = 0;
  for (let row = 0; row < rows; row++) {
    const end = idEnds[row]!;
    for (let i = row === 0 ? 0 : idEnds[row - 1]! + 1; i < end; i++) text[p++] = idText[i]!;
    offsets[row + 1] = p;
  }
  return { text, offsets };
}

/** Switch ids as Utf8 buffers (ids match the schema's ASCII pattern). */
export function arrowIdsOf(ids: readonly string[]): ArrowIdColumn {
  const offsets = new Int32Array(ids.length + 1);
  let length = 0;
  for (const [row, id] of ids.entries()) offsets[row + 1] = length += id.length;
  const text = new Uint8Array(length);
  for (const [row, id] of ids.entries()) for (let k = 0; k < id.length; k++) text[offsets[row]! + k] = id.charCodeAt(k);
  return { text, offsets };
}

function arrowColumn(metric: MetricColumn, rowCount: number): ArrowNumberColumn {
  const values = metric.values.subarray(0, rowCount);
  const wanted = isMetricName(metric.name) ? arrowTypeOf(METRICS[metric.name].format) : metric.decimals === 0 ? 'int32' : 'float64';
  if (wanted === 'int32' && allInt32(values)) {
    const out = new Int32Array(rowCount);
    out.set(values);
    return { name: metric.name, type: 'int32', values: out };
  }
  // A copy, with -0 as 0: the JSON body writes `0` for it, and the values must be the JSON's.
  const out = new Float64Array(rowCount);
  for (let i = 0; i < rowCount; i++) {
    const v = values[i]!;
    out[i] = v === 0 ? 0 : v;
  }
  return { name: metric.name, type: 'float64', values: out };
}

function allInt32(values: Float64Array): boolean {
  for (let i = 0; i < values.length; i++) if ((values[i]! | 0) !== values[i]) return false;
  return true;
}
