/**
 * The ListMetrics body, `{"sw1":{"bandwidth_mbps":8123,…,"timestamp":1766501919},…}`, rendered from
 * a snapshot's columns as bytes. Switch ids and metric names already match the schema's patterns (no
 * quote, backslash or control character), so they are written without escaping; numbers are written
 * digit by digit from the column's number kind (value-text.ts). At 100,000 switches this is several
 * times faster than building the string, and it runs once per snapshot, in the render worker.
 * The test suite holds it byte for byte to the straightforward string version
 * (`test/reference/list-metrics-json.ts`); `npm run bench` runs both.
 */
import { brotliCompressSync, constants as zlibConstants, gzipSync } from 'node:zlib';
import { SWITCH_ID_MAX_LENGTH, TIMESTAMP_FIELD } from '../../../common/telemetry-schema.js';
import type { MetricColumn, TelemetryColumns } from '../snapshot/columns.js';
import { MAX_VALUE_TEXT, writeValue } from '../snapshot/value-text.js';

/** JSON number text of a double: `String` gives the shortest round-trip form (8123, 1.42, 1e+21); `-0` prints as `0`. */
export function jsonNumber(value: number): string {
  return String(value);
}

/**
 * Reused between renders (the render worker renders one body at a time): only the exact copy is new.
 * Sized for the worst case once; pages never written are never resident.
 */
let scratch = new Uint8Array(1 << 16);

/**
 * Texts written over and over by a renderer's row loop (a metric's `"name":` key), as one byte array
 * and where each ends, so the loop copies bytes from typed arrays only (see below).
 */
export function keyTable(keys: readonly string[]): { readonly bytes: Uint8Array; readonly ends: Int32Array } {
  const bytes = new Uint8Array(Buffer.from(keys.join(''), 'latin1'));
  const ends = new Int32Array(keys.length);
  let end = 0;
  for (const [c, key] of keys.entries()) ends[c] = end += key.length;
  return { bytes, ends };
}

/** The columns' values row by row (a row's metrics side by side), for a row loop that reads one typed array. */
export function rowMajorValues(metrics: readonly MetricColumn[], rowCount: number): Float64Array {
  const width = metrics.length;
  const out = new Float64Array(rowCount * width);
  for (let c = 0; c < width; c++) {
    const values = metrics[c]!.values;
    for (let row = 0; row < rowCount; row++) out[row * width + c] = values[row]!;
  }
  return out;
}

/** The body for `columns` ingested at `timestamp` (Unix seconds), in a buffer of its own. */
export function renderListMetricsJson(columns: TelemetryColumns, timestamp: number): Buffer {
  const { rowCount, metrics } = columns;
  const width = metrics.length;
  // Everything the row loop reads is a typed array or a number (writeRows), so it stays optimized
  // whatever shapes the setup here sees: an array of per-metric arrays and objects in the loop made
  // it deoptimize on each render (and run several times slower) once another view ran in the thread.
  const { bytes: keyBytes, ends: keyEnds } = keyTable(metrics.map((m, i) => `${i === 0 ? '' : ','}"${m.name}":`));
  const tail = new Uint8Array(Buffer.from(`,"${TIMESTAMP_FIELD}":${timestamp}}`, 'latin1'));
  const rowMajor = rowMajorValues(metrics, rowCount);
  const decimals = Int32Array.from(metrics, (m) => m.decimals);
  const bound = 2 + rowCount * (6 + SWITCH_ID_MAX_LENGTH + keyBytes.length + width * MAX_VALUE_TEXT + tail.length);
  if (scratch.length < bound) scratch = new Uint8Array(bound);
  const p = writeRows(scratch, rowCount, columns.ids.idText, columns.ids.idEnds, width, rowMajor, decimals, keyBytes, keyEnds, tail);
  const body = Buffer.allocUnsafeSlow(p);
  body.set(scratch.subarray(0, p));
  return body;
}

/** The body's bytes into `out` (large enough); returns their length. */
function writeRows(
  out: Uint8Array,
  rowCount: number,
  idText: Uint8Array,
  idEnds: Int32Array,
  width: number,
  rowMajor: Float64Array,
  decimals: Int32Array,
  keyBytes: Uint8Array,
  keyEnds: Int32Array,
  tail: Uint8Array,
): number {
  let p = 0;
  out[p++] = 123; // {
  let k = 0;
  for (let row = 0; row < rowCount; row++) {
    if (row > 0) out[p++] = 44; // ,
    out[p++] = 34; // "
    const idEnd = idEnds[row]!;
    for (let i = row === 0 ? 0 : idEnds[row - 1]! + 1; i < idEnd; i++) out[p++] = idText[i]!;
    out[p++] = 34;
    out[p++] = 58; // :
    out[p++] = 123;
    let keyStart = 0;
    for (let c = 0; c < width; c++, k++) {
      const keyEnd = keyEnds[c]!;
      for (let i = keyStart; i < keyEnd; i++) out[p++] = keyBytes[i]!;
      keyStart = keyEnd;
      p = writeValue(out, p, rowMajor[k]!, decimals[c]!, 0, 1, 1);
    }
    for (let i = 0; i < tail.length; i++) out[p++] = tail[i]!;
  }
  out[p++] = 125; // }
  return p;
}

/**
 * The body gzip-compressed at level 1: at 100,000 switches 15.6 MB becomes 1.7 MB; higher levels cost
 * several times the time for a few percent (`npm run bench`, ListMetrics rows).
 */
export function gzipListMetrics(body: Uint8Array): Buffer {
  return gzipSync(body, { level: 1 });
}

/**
 * The body brotli-compressed at quality 1: smaller than gzip level 1 (1.5 MB at 100,000 switches)
 * and faster to make; quality 4 and above took three times as long for 6-15% less.
 */
export function brotliListMetrics(body: Uint8Array): Buffer {
  return brotliCompressSync(body, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 1, [zlibConstants.BROTLI_PARAM_SIZE_HINT]: body.length } });
}
