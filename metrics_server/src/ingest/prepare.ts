/**
 * Everything ingestion does that costs time proportional to the fabric: parse, index the switch ids,
 * and serialize the prepared views. Pure, so it runs the same inline (tests) or in the worker thread
 * (production). The result holds only transferable typed arrays and a few short strings, so handing
 * it to the main thread copies nothing proportional to the fabric.
 */
import { parseTelemetryBytes, type RowRejectCounts } from './csv-parser.js';
import { renderListMetricsBytes } from '../views/list-metrics.js';
import { renderFabricExpositionBytes } from '../views/prometheus-fabric.js';
import type { SwitchIndexData } from '../snapshot/switch-index.js';

export interface PrepareOptions {
  /** Render the per-switch Prometheus series (config `prometheus.fabric_series`). */
  readonly prometheusFabric: boolean;
}

export interface PreparedSnapshot {
  readonly metrics: readonly string[];
  /** The switch ids and their hash index, built here so the main thread never builds a map. */
  readonly switchIndex: SwitchIndexData;
  /** Switch ids joined with `\n` (ids cannot contain it): one string, cheap to clone. */
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

/**
 * @param body the raw response body, read as UTF-8 straight from the bytes (a leading BOM, even
 *   two, is skipped); bytes that are not UTF-8 fail every id and number pattern, so such rows are
 *   rejected rather than served.
 * @param timestamp integer Unix seconds written into every switch of the ListMetrics body.
 */
export function prepareSnapshot(body: Uint8Array, timestamp: number, options: PrepareOptions = { prometheusFabric: true }): PrepareResult {
  const parsed = parseTelemetryBytes(body, 2);
  if (!parsed.ok) return parsed;
  const data = parsed.data;
  return {
    ok: true,
    snapshot: {
      metrics: data.metrics,
      switchIndex: data.index,
      switchIdsKey: Buffer.from(data.index.idText.buffer, data.index.idText.byteOffset, data.index.idText.byteLength).toString('latin1'),
      switchCount: data.rowCount,
      values: data.values,
      listMetricsJson: renderListMetricsBytes(data, timestamp),
      prometheusFabric: options.prometheusFabric ? renderFabricExpositionBytes(data) : undefined,
      rejected: data.rejected,
      rowsSeen: data.rowsSeen,
    },
  };
}

/** The buffers of a prepared snapshot, for `postMessage`'s transfer list. */
export function transferables(snapshot: PreparedSnapshot): ArrayBuffer[] {
  const views = [snapshot.values, snapshot.listMetricsJson, snapshot.prometheusFabric, snapshot.switchIndex.idText, snapshot.switchIndex.idEnds, snapshot.switchIndex.table];
  const buffers: ArrayBuffer[] = [];
  for (const view of views) {
    // Only a view that owns its whole buffer is transferred; anything else is copied by the clone.
    if (view !== undefined && view.buffer instanceof ArrayBuffer && view.byteOffset === 0 && view.byteLength === view.buffer.byteLength && !buffers.includes(view.buffer)) {
      buffers.push(view.buffer);
    }
  }
  return buffers;
}
