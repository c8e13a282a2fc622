/**
 * The dashboard's picture of the fabric: switch ids in snapshot order, an id → row index and one
 * Float64Array per metric (the same column model the server keeps), so the heatmap and the table
 * read numbers by row without touching the JSON again. It is filled from columns that
 * event-columns.ts parsed (in the parse worker). Pure: no DOM, tested under Node.
 *
 * Data from the server is untrusted text: ids and metric names are only ever used as Map keys and
 * array entries (never as keys of plain objects, where `__proto__` or `constructor` would bite),
 * and values that were not finite numbers arrive as NaN (shown as "–").
 */
import type { ChangeColumns, WholeColumns } from './event-columns.js';

/** The metric whose 0 means "link down" (SPEC: every other metric of that switch is then 0). */
export const LINK_STATUS = 'link_status';
/** The metric the spike highlight and "worst latency" read. */
export const LATENCY = 'latency_ms';
/** The metric the total bandwidth adds up. */
export const BANDWIDTH = 'bandwidth_mbps';
/** The heatmap's default metric. */
export const UTILIZATION = 'utilization_percent';
/** A latency at least this many times the fabric's median (of up links) is a spike. */
export const SPIKE_FACTOR = 5;

/** What the summary panel shows, computed in one pass over the columns. */
export interface FabricSummary {
  readonly switches: number;
  readonly linksDown: number;
  /** Sum of `bandwidth_mbps`, or undefined when the fabric has no such metric. */
  readonly totalBandwidthMbps: number | undefined;
  /** The highest `latency_ms` and its switch, or undefined when there is none. */
  readonly worstLatency: { readonly id: string; readonly value: number } | undefined;
}

/** The fabric as columns; `revision` counts every change so views can tell when to redraw. */
export class FabricModel {
  ids: string[] = [];
  /** id → row, built on first read after a whole snapshot (only a selection or a detail lookup reads it). */
  private rowIndex = new Map<string, number>();
  /** The `ids` array `rowIndex` was built from (a whole snapshot replaces the array). */
  private indexedIds: readonly string[] = this.ids;
  metrics: string[] = [];
  readonly columns = new Map<string, Float64Array>();
  /** The snapshot version shown (from the ETag or the stream event id), when known. */
  version: number | undefined;
  /** The snapshot's ingestion time, Unix seconds. */
  timestamp = 0;
  revision = 0;
  /** The latency at or above which a cell is a spike (SPIKE_FACTOR × the median of up links). */
  spikeThresholdMs = Infinity;

  /**
   * Replaces everything with a whole snapshot (a ListMetrics body or a stream `snapshot` event, in
   * columns). `metricNames`, when given, fixes the metrics and their order; else the snapshot's.
   */
  replaceWhole(whole: WholeColumns, metricNames?: readonly string[]): void {
    const n = whole.ids.length;
    this.ids = whole.ids;
    this.columns.clear();
    for (const { metric, values } of whole.columns) this.columns.set(metric, values);
    if (metricNames !== undefined && metricNames.length > 0) {
      this.metrics = [...metricNames];
      for (const metric of this.metrics) if (!this.columns.has(metric)) this.columns.set(metric, new Float64Array(n).fill(NaN));
      for (const metric of [...this.columns.keys()]) if (!this.metrics.includes(metric)) this.columns.delete(metric);
    } else {
      this.metrics = whole.columns.map((c) => c.metric);
    }
    this.finish(whole.version, whole.timestamp);
  }

  /**
   * Applies a stream `changes` event in columns: the switches it is first to name get rows at the
   * end, a metric not seen before gets a column, then each value goes to its row. Returns the
   * values written.
   */
  applyChanges(changes: ChangeColumns): number {
    // Hot at 10,000 switches a second, on the page's main thread: the parser already turned ids
    // into rows, so this is a scatter of typed arrays, with no lookup and no allocation.
    for (const { metric } of changes.columns) if (!this.columns.has(metric)) this.addMetric(metric);
    if (changes.added.length > 0) this.grow(changes.added);
    let written = 0;
    for (const { metric, rows, values } of changes.columns) {
      const column = this.columns.get(metric)!;
      for (let k = 0; k < rows.length; k++) column[rows[k]!] = values[k]!;
      written += rows.length;
    }
    this.finish(changes.version, changes.timestamp);
    return written;
  }

  /** The row of each switch id. */
  get index(): ReadonlyMap<string, number> {
    if (this.indexedIds !== this.ids) {
      this.rowIndex = new Map();
      this.ids.forEach((id, row) => this.rowIndex.set(id, row));
      this.indexedIds = this.ids;
    }
    return this.rowIndex;
  }

  /** A metric's value at `row`, NaN when absent. */
  value(metric: string, row: number): number {
    return this.columns.get(metric)?.[row] ?? NaN;
  }

  /** True when the switch at `row` reports its link down. */
  isDown(row: number): boolean {
    return this.columns.get(LINK_STATUS)?.[row] === 0;
  }

  /** True when the switch at `row` has a latency spike (see SPIKE_FACTOR). */
  isSpike(row: number): boolean {
    const latency = this.columns.get(LATENCY)?.[row] ?? NaN;
    return latency >= this.spikeThresholdMs;
  }

  /** The summary panel's numbers, in one pass. */
  summary(): FabricSummary {
    const n = this.ids.length;
    const link = this.columns.get(LINK_STATUS);
    const bandwidth = this.columns.get(BANDWIDTH);
    const latency = this.columns.get(LATENCY);
    let linksDown = 0;
    let total = 0;
    let worstRow = -1;
    let worst = -Infinity;
    for (let row = 0; row < n; row++) {
      if (link !== undefined && link[row] === 0) linksDown++;
      if (bandwidth !== undefined) {
        const b = bandwidth[row]!;
        if (b === b) total += b;
      }
      if (latency !== undefined) {
        const l = latency[row]!;
        if (l > worst) {
          worst = l;
          worstRow = row;
        }
      }
    }
    return {
      switches: n,
      linksDown,
      totalBandwidthMbps: bandwidth === undefined ? undefined : total,
      worstLatency: worstRow === -1 ? undefined : { id: this.ids[worstRow]!, value: worst },
    };
  }

  private addMetric(metric: string): Float64Array {
    const column = new Float64Array(this.ids.length).fill(NaN);
    this.metrics.push(metric);
    this.columns.set(metric, column);
    return column;
  }

  /** Appends rows for `added` ids (every column grows; their values are NaN until written). */
  private grow(added: readonly string[]): void {
    const n = this.ids.length + added.length;
    for (const [metric, column] of this.columns) {
      const grown = new Float64Array(n).fill(NaN);
      grown.set(column);
      this.columns.set(metric, grown);
    }
    // The index follows the rows added when it is current; otherwise its next read builds it whole.
    const current = this.indexedIds === this.ids;
    for (const id of added) {
      if (current) this.rowIndex.set(id, this.ids.length);
      this.ids.push(id);
    }
  }

  private finish(version: number | undefined, timestamp: number): void {
    this.version = version;
    this.timestamp = timestamp;
    this.spikeThresholdMs = spikeThreshold(this.columns.get(LATENCY), this.columns.get(LINK_STATUS));
    this.revision++;
  }
}

/** At most this many values are sampled for the median and the colour range (enough for 2 digits). */
const SAMPLE = 2048;

/** Evenly spaced finite values of a column (up links only when `link` is given), sorted. */
export function sortedSample(column: Float64Array, link?: Float64Array): Float64Array {
  const n = column.length;
  const step = Math.max(1, Math.floor(n / SAMPLE));
  const out: number[] = [];
  for (let row = 0; row < n; row += step) {
    const v = column[row]!;
    if (v === v && (link === undefined || link[row] !== 0)) out.push(v);
  }
  return Float64Array.from(out).sort();
}

/** SPIKE_FACTOR × the median latency of up links (Infinity when there is nothing to judge by). */
export function spikeThreshold(latency: Float64Array | undefined, link: Float64Array | undefined): number {
  if (latency === undefined) return Infinity;
  const sample = sortedSample(latency, link);
  const median = sample[Math.floor(sample.length / 2)];
  return median === undefined || median <= 0 ? Infinity : median * SPIKE_FACTOR;
}
