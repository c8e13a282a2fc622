/**
 * Serializes the ListMetrics body:
 * `{"sw1":{"bandwidth_mbps":8123,…,"timestamp":1766501919},…}`.
 * Switch ids and metric names already match the schema's patterns (no quote, backslash or control
 * character), so they are written without escaping. Built with string concatenation: at 100,000
 * switches this is several times faster than JSON.stringify over an object graph, and it runs once per
 * snapshot, off the main thread.
 *
 * `renderListMetricsJson` is the straightforward string version (the reference); ingestion uses
 * `renderListMetricsBytes`, which gives the same bytes several times faster.
 */
import { TIMESTAMP_FIELD } from '../../../common/telemetry-schema.js';
import type { FabricColumns } from './prometheus-fabric.js';
import { jsonNumber } from './json-number.js';
import { putAscii } from './value-text.js';

export function renderListMetricsJson(
  switchIds: readonly string[],
  metrics: readonly string[],
  values: Float64Array,
  timestamp: number,
): string {
  const width = metrics.length;
  const keys = metrics.map((name, i) => `${i === 0 ? '' : ','}"${name}":`);
  const tail = `,"${TIMESTAMP_FIELD}":${timestamp}}`;
  const parts: string[] = [];
  let chunk = '{';
  for (let row = 0; row < switchIds.length; row++) {
    let line = `${row === 0 ? '' : ','}"${switchIds[row]}":{`;
    const base = row * width;
    for (let column = 0; column < width; column++) line += keys[column]! + jsonNumber(values[base + column]!);
    chunk += line + tail;
    // Flushing into an array every few thousand rows keeps the rope shallow for the final join.
    if (row % 4096 === 4095) {
      parts.push(chunk);
      chunk = '';
    }
  }
  parts.push(chunk + '}');
  return parts.join('');
}

/**
 * The same body as `renderListMetricsJson`, byte for byte, written straight into one exactly sized
 * buffer from the parsed bytes: ids and most numbers are copied from the CSV (a number token that is
 * already its shortest form is the text `String` would print), keys and the timestamp are prebuilt. This is what ingestion uses; the string function above stays as the reference the property
 * tests and the benchmark compare it with.
 */
export function renderListMetricsBytes(parsed: FabricColumns, timestamp: number): Uint8Array {
  const { metrics, rowCount, values, source, tokenStart, tokenLength } = parsed;
  const { idText, idEnds } = parsed.index;
  const width = metrics.length;
  const count = rowCount * width;
  const keys = metrics.map((name, i) => Buffer.from(`${i === 0 ? '' : ','}"${name}":`, 'latin1'));
  const tail = Buffer.from(`,"${TIMESTAMP_FIELD}":${timestamp}}`, 'latin1');
  const keyBytes = keys.reduce((sum, key) => sum + key.length, 0);
  const idBytes = idText.length - (rowCount - 1);
  // Tokens that are their value's shortest form are copied from the CSV; the few others are
  // printed by String() once here, so the body's size is known before it is written.
  let valueBytes = 0;
  const printed = new Map<number, Uint8Array>();
  for (let k = 0; k < count; k++) {
    const length = tokenLength[k]!;
    if (length > 0) valueBytes += length;
    else {
      const text = ascii(jsonNumber(values[k]!));
      printed.set(k, text);
      valueBytes += text.length;
    }
  }
  // `{` + per row `,"id":{` (no comma before the first) + keys + values + tail, then `}`.
  const size = 2 + (rowCount - 1) + idBytes + rowCount * (4 + keyBytes + tail.length) + valueBytes;
  // A Buffer, so keys and the tail are native copies (Buffer#copy takes offsets: no allocation).
  const out = Buffer.allocUnsafeSlow(size);
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
    for (let c = 0; c < width; c++, k++) {
      const key = keys[c]!;
      p += key.copy(out, p, 0, key.length);
      const length = tokenLength[k]!;
      if (length > 0) {
        const from = tokenStart[k]!;
        for (let i = 0; i < length; i++) out[p++] = source[from + i]!;
      } else p = putAscii(out, p, printed.get(k)!);
    }
    p += tail.copy(out, p, 0, tail.length);
  }
  out[p++] = 125; // }
  if (p !== size) throw new Error(`ListMetrics body size ${p} does not match the computed ${size}`);
  return out;
}

function ascii(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'latin1'));
}
