/**
 * Everything ingestion does that costs time proportional to the fabric: decode, parse, and serialize
 * the prepared views. Pure, so it runs the same inline (tests) or in the worker thread (production).
 * The result holds only transferable or cheaply cloned parts: typed arrays and a few strings.
 */
import { parseTelemetryCsv, type RowRejectCounts } from './csv-parser.js';
import { renderListMetricsJson } from '../views/list-metrics.js';
import { renderFabricExposition } from '../views/prometheus-fabric.js';

export interface PrepareOptions {
  /** Render the per-switch Prometheus series (config `prometheus.fabric_series`). */
  readonly prometheusFabric: boolean;
}

export interface PreparedSnapshot {
  readonly metrics: readonly string[];
  /** Switch ids joined with `\n` (ids cannot contain it): one string clones far faster than 100k. */
  readonly switchIdsKey: string;
  readonly switchCount: number;
  readonly values: Float64Array;
  readonly listMetricsJson: Uint8Array;
  /** The fabric series as Prometheus text, when enabled. */
  readonly prometheusFabric: Uint8Array | undefined;
  readonly rejected: RowRejectCounts;
  readonly rowsSeen: number;
}

export type PrepareResult =
  | { readonly ok: true; readonly snapshot: PreparedSnapshot }
  | { readonly ok: false; readonly reason: string; readonly rejected?: RowRejectCounts };

const utf8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: false });
const encoder = new TextEncoder();

/**
 * @param body the raw response body; bytes that are not UTF-8 decode to U+FFFD, which no id or
 *   number pattern accepts, so such rows are rejected rather than served.
 * @param timestamp integer Unix seconds written into every switch of the ListMetrics body.
 */
export function prepareSnapshot(body: Uint8Array, timestamp: number, options: PrepareOptions = { prometheusFabric: true }): PrepareResult {
  // ignoreBOM: false makes the decoder drop a leading BOM; the parser also tolerates one.
  const parsed = parseTelemetryCsv(utf8.decode(body));
  if (!parsed.ok) return parsed;
  const { metrics, switchIds, values, rejected, rowsSeen } = parsed.data;
  return {
    ok: true,
    snapshot: {
      metrics,
      switchIdsKey: switchIds.join('\n'),
      switchCount: switchIds.length,
      values,
      listMetricsJson: encoder.encode(renderListMetricsJson(switchIds, metrics, values, timestamp)),
      prometheusFabric: options.prometheusFabric ? encoder.encode(renderFabricExposition(switchIds, metrics, values)) : undefined,
      rejected,
      rowsSeen,
    },
  };
}
