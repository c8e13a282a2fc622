/**
 * The Prometheus fabric text the plain way: one template string per sample, `String(convert(value))`.
 * The byte renderer (`src/views/fabric-metrics-text.ts`) must give exactly this text; `npm run bench`
 * runs both.
 */
import { COUNTER_SERIES, OTHER_COLUMNS_SERIES, convert, seriesFor, type ExpositionFormat } from '../../src/views/fabric-metrics-text.js';
import type { MetricName } from '../../../common/telemetry-schema.js';

/** A running total per switch, in switch order. */
export interface ReferenceCounter {
  readonly metric: MetricName;
  readonly values: readonly number[];
}

/** The text for ids and metrics with `rows[r][c]` values, then the counters. */
export function renderFabricTextReference(
  switchIds: readonly string[],
  metrics: readonly string[],
  rows: readonly (readonly number[])[],
  format: ExpositionFormat = 'text',
  counters: readonly ReferenceCounter[] = [],
): string {
  let text = '';
  let others = '';
  for (const [c, metric] of metrics.entries()) {
    const series = seriesFor(metric);
    if (series === undefined) {
      // Switch ids and column names match the schema patterns: no label escaping needed.
      for (const [r, id] of switchIds.entries()) others += `${OTHER_COLUMNS_SERIES}{column="${metric}",switch="${id}"} ${String(rows[r]![c]!)}\n`;
      continue;
    }
    text += `# HELP ${series.name} ${series.help}\n# TYPE ${series.name} gauge\n`;
    for (const [r, id] of switchIds.entries()) text += `${series.name}{switch="${id}"} ${String(convert(rows[r]![c]!, series.scale))}\n`;
  }
  if (others !== '') text += `# HELP ${OTHER_COLUMNS_SERIES} Generator columns outside the telemetry schema, by column name, as reported (unit unknown).\n# TYPE ${OTHER_COLUMNS_SERIES} gauge\n${others}`;
  for (const counter of counters) {
    const series = COUNTER_SERIES[counter.metric]!;
    const family = format === 'openmetrics' ? series.family : `${series.family}_total`;
    text += `# HELP ${family} ${series.help}\n# TYPE ${family} counter\n`;
    for (const [r, id] of switchIds.entries()) text += `${series.family}_total{switch="${id}"} ${String(counter.values[r]!)}\n`;
  }
  return text;
}
