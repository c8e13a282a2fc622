/**
 * The JSON of `/telemetry/stream` events (SPEC "Streams"), made from snapshots alone:
 *
 * - `snapshot`: `{"version":42,"timestamp":1766501919,"switches":<the ListMetrics object>}`;
 * - `changes`: the same shape, `switches` holding only the switches with a changed value and of each
 *   only the changed metrics (no per-switch `timestamp`; the event's is the snapshot's).
 *
 * Both honour a filter (switches and metrics, in snapshot order). The caller frames each result once
 * per snapshot and filter set and writes the same bytes to every client that asked for it.
 */
import { TIMESTAMP_FIELD } from '../../../common/telemetry-schema.js';
import type { TelemetryColumns } from '../snapshot/columns.js';
import type { Snapshot } from '../snapshot/snapshot.js';
import { decodeColumns } from '../snapshot/wire.js';
import { jsonNumber, renderListMetricsJson } from './list-metrics-json.js';

/** Which switches and metrics an event covers; undefined members mean all. */
export interface StreamFilter {
  /** Switch ids, in snapshot order. */
  readonly switchIds?: readonly string[];
  /** Metric names, in snapshot order. */
  readonly metrics?: readonly string[];
}

/** Columns read in place from each snapshot's block (header-sized work), once per snapshot. */
const columnsCache = new WeakMap<Snapshot, TelemetryColumns>();

function columnsOf(snapshot: Snapshot): TelemetryColumns {
  let columns = columnsCache.get(snapshot);
  if (columns === undefined) {
    const decoded = decodeColumns(snapshot.block, 'own');
    if (!decoded.ok) throw new Error(`snapshot v${snapshot.version} block unreadable: ${decoded.reason}`);
    columns = decoded.value;
    columnsCache.set(snapshot, columns);
  }
  return columns;
}

function head(snapshot: Snapshot): string {
  return `{"version":${snapshot.version},"timestamp":${snapshot.timestamp},"switches":`;
}

/**
 * A `snapshot` event's data. Unfiltered, it wraps the ListMetrics body (`listMetricsBody` when the
 * render worker already made it for this snapshot, else rendered here).
 */
export function snapshotEventJson(snapshot: Snapshot, filter: StreamFilter, listMetricsBody?: Uint8Array): Buffer {
  if (filter.switchIds === undefined && filter.metrics === undefined) {
    const body = listMetricsBody ?? renderListMetricsJson(columnsOf(snapshot), snapshot.timestamp);
    return Buffer.concat([Buffer.from(head(snapshot)), body, Buffer.from('}')]);
  }
  const columns = columnsOf(snapshot);
  const metricIndexes = metricIndexesOf(snapshot, filter);
  const tail = `"${TIMESTAMP_FIELD}":${snapshot.timestamp}}`;
  const parts: string[] = [];
  for (const id of filter.switchIds ?? snapshot.switchIds) {
    const row = snapshot.rowOf(id);
    if (row === -1) continue; // asked for when the stream opened, gone from this snapshot
    let entry = `"${id}":{`;
    for (const c of metricIndexes) entry += `"${columns.metrics[c]!.name}":${jsonNumber(columns.metrics[c]!.values[row]!)},`;
    parts.push(entry + tail);
  }
  return Buffer.from(`${head(snapshot)}{${parts.join(',')}}}`);
}

/**
 * A `changes` event's data: what differs from `previous` to `current`, or undefined when the two do
 * not hold the same switches in the same order (a changes event cannot say a switch went away; the
 * caller sends a `snapshot` instead).
 */
export function changesEventJson(previous: Snapshot, current: Snapshot, filter: StreamFilter): Buffer | undefined {
  if (!current.sameIdsAs(previous) || current.metrics.join(',') !== previous.metrics.join(',')) return undefined;
  const before = columnsOf(previous);
  const after = columnsOf(current);
  const metricIndexes = metricIndexesOf(current, filter);
  const names = metricIndexes.map((c) => `"${after.metrics[c]!.name}":`);
  const beforeValues = metricIndexes.map((c) => before.metrics[c]!.values);
  const afterValues = metricIndexes.map((c) => after.metrics[c]!.values);
  const ids = current.switchIds;
  const rows = filter.switchIds === undefined ? undefined : filter.switchIds.map((id) => current.rowOf(id)).filter((row) => row !== -1);
  const count = rows === undefined ? current.switchCount : rows.length;
  const parts: string[] = [];
  for (let k = 0; k < count; k++) {
    const row = rows === undefined ? k : rows[k]!;
    let entry = '';
    for (let m = 0; m < names.length; m++) {
      const value = afterValues[m]![row]!;
      if (value !== beforeValues[m]![row]) entry += `${entry === '' ? '' : ','}${names[m]}${jsonNumber(value)}`;
    }
    if (entry !== '') parts.push(`"${ids[row]}":{${entry}}`);
  }
  return Buffer.from(`${head(current)}{${parts.join(',')}}}`);
}

function metricIndexesOf(snapshot: Snapshot, filter: StreamFilter): number[] {
  const wanted = filter.metrics;
  const indexes: number[] = [];
  snapshot.metrics.forEach((name, c) => {
    if (wanted === undefined || wanted.includes(name)) indexes.push(c);
  });
  return indexes;
}
