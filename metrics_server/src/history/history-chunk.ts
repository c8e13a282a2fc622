/**
 * A history chunk: up to `capacity` consecutive snapshots of one fabric (the same switch ids in the
 * same order, the same metrics), as one shared timestamp column and one `MetricChunk` per metric. A
 * snapshot whose ids, metrics or number kinds do not fit the open chunk starts a new one; so does a
 * full chunk. The oldest chunk may be cut from the front by retention (`start`).
 */
import { METRICS, isMetricName } from '../../../common/telemetry-schema.js';
import type { Snapshot } from '../snapshot/snapshot.js';
import type { IdSource } from './id-source.js';
import { MetricChunk, fitsScale, slotBytesFor, type PackedMetric } from './metric-chunk.js';

/**
 * The decimals a chunk stores a metric with: the column's own, raised to the schema's for a metric
 * of the contract (a tick whose latencies all happen to have one decimal must not start a new chunk),
 * or -1 (raw doubles) when the values do not fit either.
 */
export function chooseDecimals(name: string, columnDecimals: number, values: Float64Array): number {
  if (columnDecimals < 0) return -1;
  const format = isMetricName(name) ? METRICS[name].format : undefined;
  const wanted = Math.max(columnDecimals, format?.kind === 'decimal' ? format.decimals : 0);
  if (fitsScale(values, 10 ** wanted)) return wanted;
  if (wanted !== columnDecimals && fitsScale(values, 10 ** columnDecimals)) return columnDecimals;
  return -1;
}

/** What a closed chunk tells the next one about a metric's size (the slot estimate). */
export interface MetricSizeHint {
  readonly p99Bytes: number;
  readonly samples: number;
}

/** One run of consecutive snapshots of one fabric. */
export class HistoryChunk {
  /** Unix seconds of each committed sample; non-decreasing. */
  readonly timestamps: Float64Array;
  /** Committed samples: readers look at [start, count). */
  count = 0;
  /** Samples before this index were dropped by retention (their bytes go with the whole chunk). */
  start = 0;
  /** Set once no snapshot will be appended (full, or the fabric changed). */
  closed = false;
  /** False after an append failed midway: its summaries may count a sample that was never committed. */
  summariesTrusted = true;
  readonly metrics: readonly MetricChunk[];
  private readonly metricIndex: ReadonlyMap<string, number>;

  constructor(
    readonly ids: IdSource,
    metrics: readonly { readonly name: string; readonly decimals: number }[],
    readonly capacity: number,
    hints: ReadonlyMap<string, MetricSizeHint> = new Map(),
    restored?: { readonly timestamps: Float64Array; readonly start: number; readonly packed: readonly PackedMetric[] },
  ) {
    this.metrics = metrics.map((m, j) => new MetricChunk(m.name, m.decimals, ids.count, capacity, slotBytesFor(capacity, hints.get(m.name)), restored?.packed[j]));
    this.metricIndex = new Map(metrics.map((m, i) => [m.name, i]));
    if (restored !== undefined) {
      // From a checkpoint: full (capacity = count) and closed; the next snapshot starts a new chunk.
      this.timestamps = restored.timestamps;
      this.count = capacity;
      this.start = restored.start;
      this.closed = true;
    } else this.timestamps = new Float64Array(capacity);
  }

  /** The chunk's metric named `name`, or undefined. */
  metric(name: string): MetricChunk | undefined {
    const i = this.metricIndex.get(name);
    return i === undefined ? undefined : this.metrics[i];
  }

  /** Unix seconds of the newest committed sample (NaN when empty). */
  get newest(): number {
    return this.count === 0 ? NaN : this.timestamps[this.count - 1]!;
  }

  /** Unix seconds of the oldest retained sample (NaN when none). */
  get oldest(): number {
    return this.start >= this.count ? NaN : this.timestamps[this.start]!;
  }

  /** True when `snapshot` has room, the same ids and the same metrics (its values are checked per metric: `metricFits`). */
  acceptsShape(snapshot: Snapshot): boolean {
    if (this.closed || this.count >= this.capacity || !this.ids.matches(snapshot)) return false;
    const names = snapshot.metrics;
    if (names.length !== this.metrics.length) return false;
    for (let j = 0; j < names.length; j++) if (this.metrics[j]!.name !== names[j]) return false;
    return true;
  }

  /** True when every value of metric `j` of `snapshot` fits the chunk's scale for it. */
  metricFits(j: number, snapshot: Snapshot): boolean {
    const metric = this.metrics[j]!;
    return metric.isRaw || fitsScale(snapshot.columnView(metric.name)!, metric.scale);
  }

  /** Makes the sample just appended to every metric visible to readers. */
  commit(timestamp: number): void {
    this.timestamps[this.count] = timestamp;
    this.count += 1;
    // Every series has the sample now: the summaries cover exactly the committed samples again.
    for (const m of this.metrics) m.summaryCount = this.count;
  }

  /** Frees every metric's percentile tails for good (the memory limit: see MetricChunk.dropTails). */
  dropTails(): void {
    for (const m of this.metrics) m.dropTails();
  }

  /** Size hints for the next chunk, by metric name. */
  hints(): Map<string, MetricSizeHint> {
    return new Map(this.metrics.map((m) => [m.name, { p99Bytes: m.p99Bytes, samples: this.count }]));
  }

  /** The first index in [start, count) with a timestamp ≥ `t` (count when none). */
  lowerBound(t: number, count = this.count): number {
    let lo = this.start;
    let hi = count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.timestamps[mid]! < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The first index in [start, count) with a timestamp > `t` (count when none). */
  upperBound(t: number, count = this.count): number {
    let lo = this.start;
    let hi = count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.timestamps[mid]! <= t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Bytes held by the samples, summaries and timestamps (the id source is counted by the store). */
  get bytes(): number {
    let total = this.timestamps.byteLength;
    for (const m of this.metrics) total += m.bytes;
    return total;
  }
}
