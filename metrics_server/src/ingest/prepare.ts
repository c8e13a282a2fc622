/**
 * Everything ingestion does that costs time proportional to the fabric: parse, index the switch ids,
 * and (when asked) serialize the ListMetrics view. Pure, so it runs the same inline (tests) or in the
 * worker thread (production). The result holds only transferable typed arrays and a few short
 * strings, so handing it to the main thread copies nothing proportional to the fabric.
 *
 * Views are rendered here only when someone will read them. The Prometheus fabric text (33 MB at
 * 100,000 switches) never is; the ListMetrics body (15.6 MB) only when the poller says ListMetrics
 * was asked for recently (views/list-metrics-view.ts). Otherwise the preparer keeps the parsed
 * columns of its latest snapshot (`columns` below) and renders a view when its first reader asks.
 */
import { parseTelemetryBytes, type RowRejectCounts } from './csv-parser.js';
import { renderListMetricsBytes } from '../views/list-metrics.js';
import type { FabricColumns } from '../views/prometheus-fabric.js';
import type { SwitchIndexData } from '../snapshot/switch-index.js';

export interface PrepareOptions {
  /** Serve the per-switch Prometheus series (config `prometheus.fabric_series`); when off, fabric renders are refused. */
  readonly prometheusFabric: boolean;
}

export interface PreparedSnapshot {
  readonly metrics: readonly string[];
  /** The switch ids and their hash index, built here so the main thread never builds a map. */
  readonly switchIndex: SwitchIndexData;
  readonly switchCount: number;
  readonly values: Float64Array;
  /** Rendered in the prepare job when asked for (`listMetrics`); else later, on the first request. */
  readonly listMetricsJson: Uint8Array | undefined;
  readonly rejected: RowRejectCounts;
  readonly rowsSeen: number;
  /**
   * The preparer's job number for this snapshot, set by the preparer (not by `prepareSnapshot`):
   * the preparer keeps the columns of its latest job and renders views from them on request.
   */
  readonly job?: number;
}

export type PrepareResult =
  | { readonly ok: true; readonly snapshot: PreparedSnapshot }
  | { readonly ok: false; readonly reason: string; readonly rejected?: RowRejectCounts };

/** A prepared snapshot, and the columns later views are rendered from. */
export interface PrepareOutput {
  readonly result: PrepareResult;
  /** Own copies of everything the transfer to the main thread takes away; undefined when the job failed. */
  readonly columns: FabricColumns | undefined;
}

/**
 * @param body the raw response body, read as UTF-8 straight from the bytes (a leading BOM, even
 *   two, is skipped); bytes that are not UTF-8 fail every id and number pattern, so such rows are
 *   rejected rather than served.
 * @param timestamp integer Unix seconds written into every switch of the ListMetrics body.
 * @param listMetrics render the ListMetrics body now (else it is left to a later render job).
 */
export function prepareWithColumns(body: Uint8Array, timestamp: number, listMetrics: boolean): PrepareOutput {
  const parsed = parseTelemetryBytes(body, 2);
  if (!parsed.ok) return { result: parsed, columns: undefined };
  const data = parsed.data;
  const snapshot: PreparedSnapshot = {
    metrics: data.metrics,
    switchIndex: data.index,
    switchCount: data.rowCount,
    values: data.values,
    listMetricsJson: listMetrics ? renderListMetricsBytes(data, timestamp) : undefined,
    rejected: data.rejected,
    rowsSeen: data.rowsSeen,
  };
  // The values and ids go to the main thread as transfers; the worker keeps copies (about 6 MB at
  // 100,000 switches, a memcpy) plus the body and token arrays it already owns (about 6 MB more).
  const columns: FabricColumns = {
    metrics: data.metrics,
    rowCount: data.rowCount,
    values: data.values.slice(),
    index: { idText: data.index.idText.slice(), idEnds: data.index.idEnds.slice() },
    source: data.source,
    tokenStart: data.tokenStart,
    tokenLength: data.tokenLength,
  };
  return { result: { ok: true, snapshot }, columns };
}

/** `prepareWithColumns` with the ListMetrics body rendered and no columns kept: for tests and tools. */
export function prepareSnapshot(body: Uint8Array, timestamp: number): PrepareResult {
  return prepareWithColumns(body, timestamp, true).result;
}

/** The buffers of a prepared snapshot, for `postMessage`'s transfer list. */
export function transferables(snapshot: PreparedSnapshot): ArrayBuffer[] {
  const views = [snapshot.values, snapshot.listMetricsJson, snapshot.switchIndex.idText, snapshot.switchIndex.idEnds, snapshot.switchIndex.table];
  return ownedBuffers(views);
}

/** The ArrayBuffers of views that own their whole buffer; anything else is copied by the clone. */
export function ownedBuffers(views: readonly (ArrayBufferView | undefined)[]): ArrayBuffer[] {
  const buffers: ArrayBuffer[] = [];
  for (const view of views) {
    if (view !== undefined && view.buffer instanceof ArrayBuffer && view.byteOffset === 0 && view.byteLength === view.buffer.byteLength && !buffers.includes(view.buffer)) {
      buffers.push(view.buffer);
    }
  }
  return buffers;
}
