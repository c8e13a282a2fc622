/**
 * The ListMetrics body, `{"sw1":{"bandwidth_mbps":8123,…,"timestamp":1766501919},…}`, rendered from
 * a snapshot's columns as bytes. Switch ids and metric names already match the schema's patterns (no
 * quote, backslash or control character), so they are written without escaping; numbers are written
 * digit by digit from the column's number kind (value-text.ts). At 100,000 switches this is several
 * times faster than building the string, and it runs once per snapshot, in the render worker.
 * The test suite holds it byte for byte to the straightforward string version
 * (`test/reference/list-metrics-json.ts`); `npm run bench` runs both.
 */
import { TIMESTAMP_FIELD } from '../../../common/telemetry-schema.js';
import type { TelemetryColumns } from '../snapshot/columns.js';
import { MAX_VALUE_TEXT, putBytes, scaleKind, writeValue } from './value-text.js';

/** JSON number text of a double: `String` gives the shortest round-trip form (8123, 1.42, 1e+21); `-0` prints as `0`. */
export function jsonNumber(value: number): string {
  return String(value);
}

const IDENTITY = scaleKind(1);

/** Reused between renders (the render worker renders one body at a time): only the exact copy is new. */
let scratch = Buffer.allocUnsafeSlow(1 << 16);

function room(p: number, needed: number): void {
  if (p + needed <= scratch.length) return;
  let size = scratch.length * 2;
  while (size < p + needed) size *= 2;
  const grown = Buffer.allocUnsafeSlow(size);
  scratch.copy(grown, 0, 0, p);
  scratch = grown;
}

/** The body for `columns` ingested at `timestamp` (Unix seconds), in a buffer of its own. */
export function renderListMetricsJson(columns: TelemetryColumns, timestamp: number): Buffer {
  const { rowCount, metrics } = columns;
  const { idText, idEnds } = columns.ids;
  const width = metrics.length;
  // Constant pieces are copied byte by byte: they are short, and Buffer#copy's per-call overhead
  // (node:buffer _copyActual) was two thirds of the render in a profile at 100,000 switches.
  const keys = metrics.map((m, i) => new Uint8Array(Buffer.from(`${i === 0 ? '' : ','}"${m.name}":`, 'latin1')));
  const tail = new Uint8Array(Buffer.from(`,"${TIMESTAMP_FIELD}":${timestamp}}`, 'latin1'));
  const rowBound = 6 + 64 + keys.reduce((sum, key) => sum + key.length, 0) + width * MAX_VALUE_TEXT + tail.length;
  const values = metrics.map((m) => m.values);
  const decimals = metrics.map((m) => m.decimals);
  let p = 0;
  room(0, 2);
  scratch[p++] = 123; // {
  for (let row = 0; row < rowCount; row++) {
    room(p, rowBound);
    const out = scratch;
    if (row > 0) out[p++] = 44; // ,
    out[p++] = 34; // "
    const idEnd = idEnds[row]!;
    for (let i = row === 0 ? 0 : idEnds[row - 1]! + 1; i < idEnd; i++) out[p++] = idText[i]!;
    out[p++] = 34;
    out[p++] = 58; // :
    out[p++] = 123;
    for (let c = 0; c < width; c++) {
      p = putBytes(out, p, keys[c]!);
      p = writeValue(out, p, values[c]![row]!, decimals[c]!, IDENTITY, jsonNumber);
    }
    p = putBytes(out, p, tail);
  }
  room(p, 1);
  scratch[p++] = 125; // }
  const body = Buffer.allocUnsafeSlow(p);
  scratch.copy(body, 0, 0, p);
  return body;
}
