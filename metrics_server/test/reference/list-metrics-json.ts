/**
 * The ListMetrics body the plain way: string concatenation of `String(value)` per value. The byte
 * renderer (`src/views/list-metrics-json.ts`) must give exactly these bytes; `npm run bench` runs both.
 */
import { TIMESTAMP_FIELD } from '../../../common/telemetry-schema.js';

/** The body for ids and metrics with `rows[r][c]` values, ingested at `timestamp`. */
export function renderListMetricsJsonReference(switchIds: readonly string[], metrics: readonly string[], rows: readonly (readonly number[])[], timestamp: number): string {
  const keys = metrics.map((name, i) => `${i === 0 ? '' : ','}"${name}":`);
  const tail = `,"${TIMESTAMP_FIELD}":${timestamp}}`;
  const parts: string[] = [];
  let chunk = '{';
  for (const [r, id] of switchIds.entries()) {
    let line = `${r === 0 ? '' : ','}"${id}":{`;
    for (const [c, key] of keys.entries()) line += key + String(rows[r]![c]!);
    chunk += line + tail;
    // Flushing into an array every few thousand rows keeps the rope shallow for the final join.
    if (r % 4096 === 4095) {
      parts.push(chunk);
      chunk = '';
    }
  }
  parts.push(chunk + '}');
  return parts.join('');
}
