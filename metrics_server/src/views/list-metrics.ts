/**
 * Serializes the ListMetrics body:
 * `{"sw1":{"bandwidth_mbps":8123,…,"timestamp":1766501919},…}`.
 * Switch ids and metric names already match the schema's patterns (no quote, backslash or control
 * character), so they are written without escaping. Built with string concatenation: at 100,000
 * switches this is several times faster than JSON.stringify over an object graph, and it runs once per
 * snapshot, off the main thread.
 */
import { TIMESTAMP_FIELD } from '../../../common/telemetry-schema.js';
import { jsonNumber } from './json-number.js';

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
