/**
 * The Prometheus fabric text the plain way: one template string per sample, `String(convert(value))`.
 * The byte renderer (`src/views/fabric-metrics-text.ts`) must give exactly this text; `npm run bench`
 * runs both.
 */
import { convert, seriesFor } from '../../src/views/fabric-metrics-text.js';

/** The text for ids and metrics with `rows[r][c]` values. */
export function renderFabricTextReference(switchIds: readonly string[], metrics: readonly string[], rows: readonly (readonly number[])[]): string {
  const parts: string[] = [];
  for (const [c, metric] of metrics.entries()) {
    const series = seriesFor(metric);
    let chunk = `# HELP ${series.name} ${series.help}\n# TYPE ${series.name} gauge\n`;
    const prefix = `${series.name}{switch="`;
    for (const [r, id] of switchIds.entries()) {
      // Switch ids match the schema pattern (no quote, backslash or newline): no label escaping needed.
      chunk += `${prefix}${id}"} ${String(convert(rows[r]![c]!, series.scale))}\n`;
      if (r % 4096 === 4095) {
        parts.push(chunk);
        chunk = '';
      }
    }
    parts.push(chunk);
  }
  return parts.join('');
}
