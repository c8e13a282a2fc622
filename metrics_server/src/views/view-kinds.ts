/**
 * The views a snapshot can be rendered into, by name, with the pure function that renders each from
 * the snapshot's columns. Both the view registry (which decides when) and the render worker (which
 * runs them) read this table; adding a view is one entry here and one definition in the registry's
 * caller.
 */
import type { TelemetryColumns } from '../snapshot/columns.js';
import { decodeColumns } from '../snapshot/wire.js';
import { renderChangesJson } from './changes-event-json.js';
import { renderFabricGzip, type CounterColumn } from './fabric-metrics-text.js';
import { renderListMetricsArrow } from './list-metrics-arrow.js';
import { brotliListMetrics, gzipListMetrics, renderListMetricsJson } from './list-metrics-json.js';

/** What a renderer may know of the snapshot besides its columns. */
export interface RenderContext extends RenderExtras {
  readonly version: number;
  /** The snapshot's `timestamp` (integer Unix seconds). */
  readonly timestamp: number;
}

/** State kept across snapshots that a view shows beside a snapshot's own columns. */
export interface RenderExtras {
  /** Running totals per switch (the fabric text's counters), one value per row of the snapshot. */
  readonly counters?: readonly CounterColumn[];
  /** The column block of the snapshot published before this one (the stream's `changes` view). */
  readonly previousBlock?: Uint8Array;
}

/** Renders one view; `pause` lets a long render yield between pieces of work. */
export type ViewRenderFunction = (columns: TelemetryColumns, context: RenderContext, pause: () => Promise<void>) => Promise<Uint8Array> | Uint8Array;

/** Every view there is, by name. */
export const VIEW_KINDS = {
  /** The ListMetrics JSON body. */
  'list-metrics.json': (columns, context) => renderListMetricsJson(columns, context.timestamp),
  /** The same body gzip-compressed, for clients that send `Accept-Encoding: gzip`. */
  'list-metrics.json.gz': (columns, context) => gzipListMetrics(renderListMetricsJson(columns, context.timestamp)),
  /** The same body brotli-compressed (smaller and faster than gzip at the levels used). */
  'list-metrics.json.br': (columns, context) => brotliListMetrics(renderListMetricsJson(columns, context.timestamp)),
  /** The ListMetrics body as an Arrow IPC stream, for clients whose `Accept` names it. */
  'list-metrics.arrow': (columns, context) => renderListMetricsArrow(columns, context.timestamp),
  /** The Prometheus fabric series in text format 0.0.4, gzip-compressed (the start of `/metrics`). */
  'fabric-metrics.txt.gz': (columns, context, pause) => renderFabricGzip(columns, pause, 'text', context.counters),
  /** The same series for an OpenMetrics scrape (only the counter families' HELP/TYPE lines differ). */
  'fabric-metrics.om.gz': (columns, context, pause) => renderFabricGzip(columns, pause, 'openmetrics', context.counters),
  /**
   * The stream's unfiltered `changes` event data, from the previous snapshot (`previousBlock`) to
   * this one; empty when there is no previous snapshot or the two differ in switches or metrics
   * (the stream then sends a `snapshot` event).
   */
  'stream-changes.json': (columns, context) => changesView(columns, context),
} as const satisfies Record<string, ViewRenderFunction>;

function changesView(columns: TelemetryColumns, context: RenderContext): Uint8Array {
  if (context.previousBlock === undefined) return new Uint8Array(0);
  const before = decodeColumns(context.previousBlock, 'own');
  if (!before.ok) throw new Error(`previous snapshot's block unreadable: ${before.reason}`);
  return renderChangesJson(before.value, columns, context.version, context.timestamp) ?? new Uint8Array(0);
}

/** The name of a view in VIEW_KINDS. */
export type ViewName = keyof typeof VIEW_KINDS;

/** True when `name` names a view (a worker checks what it is asked to render). */
export function isViewName(name: string): name is ViewName {
  return Object.prototype.hasOwnProperty.call(VIEW_KINDS, name);
}
