/**
 * Views of a snapshot that are rendered after it exists, on first request: the gzip-compressed
 * Prometheus fabric text, and the ListMetrics body when it was not rendered with the snapshot. The
 * preparer (the ingestion worker in production) renders them from the columns it kept; tests and
 * apps without one render on the calling thread.
 */
import { renderListMetricsBytes } from './list-metrics.js';
import { columnsWithoutTokens, renderFabricGzip, type FabricColumns, type SnapshotColumns } from './prometheus-fabric.js';

/** Which view: the fabric text (gzip), or the ListMetrics body of a snapshot whose `timestamp` it carries. */
export type ViewSpec = { readonly view: 'fabric-gzip' } | { readonly view: 'list-metrics'; readonly timestamp: number };

export interface ViewRenderer {
  /** The view rendered from prepare job `job`'s columns, or undefined when the renderer no longer holds that job. */
  renderRetained(job: number, spec: ViewSpec): Promise<Uint8Array | undefined>;
  /** The view rendered from a snapshot's exported columns (always possible, slower: no CSV tokens). */
  renderColumns(columns: SnapshotColumns, spec: ViewSpec): Promise<Uint8Array>;
}

export function isViewRenderer(value: object): value is ViewRenderer {
  return 'renderRetained' in value && 'renderColumns' in value;
}

/** One view from columns; the fabric text pauses between gzip members when given `pause`. */
export async function renderView(columns: FabricColumns, spec: ViewSpec, pause?: () => Promise<void>): Promise<Uint8Array> {
  return spec.view === 'list-metrics' ? renderListMetricsBytes(columns, spec.timestamp) : renderFabricGzip(columns, pause);
}

/** Renders on the calling thread from the snapshot's columns: for tests and apps without a preparer. */
export const inlineViewRenderer: ViewRenderer = {
  renderRetained: async () => undefined,
  renderColumns: (columns, spec) => renderView(columnsWithoutTokens(columns), spec),
};
