/**
 * The unit of the system: one immutable, versioned view of the fabric, stamped with its ingestion
 * time. Readers get a whole snapshot or none; replacing the current one is a single reference
 * assignment in the store.
 *
 * Values live in one row-major Float64Array behind a JS private field, so nothing outside can write
 * to them; the instance itself is frozen.
 */
import type { SnapshotColumns } from '../views/prometheus-fabric.js';
import type { SwitchIndex } from './switch-index.js';

/**
 * Views serialized when the snapshot is made. The Prometheus fabric text is never among them, and
 * the ListMetrics body only while ListMetrics is being asked for; otherwise they are rendered lazily,
 * at most once per snapshot (views/lazy-snapshot-view.ts).
 */
export interface SnapshotViews {
  /** The complete ListMetrics JSON body, when it was rendered with the snapshot. */
  readonly listMetricsJson: Buffer | undefined;
}

export interface SnapshotInit {
  readonly version: number;
  /** Milliseconds since the epoch at which ingestion of this snapshot started. */
  readonly ingestedAtMs: number;
  readonly metrics: readonly string[];
  /** Switch ids and id → row; may be shared with an earlier snapshot that had the same ids. */
  readonly switchIndex: SwitchIndex;
  /** Row-major: `values[row * metrics.length + column]`. Ownership passes to the snapshot. */
  readonly values: Float64Array;
  readonly views: SnapshotViews;
  /** The preparer's job that produced it (the preparer can render later views from that job's columns). */
  readonly preparedJob?: number | undefined;
}

export class Snapshot {
  readonly version: number;
  readonly ingestedAtMs: number;
  /** Integer Unix seconds: the `timestamp` of every answer built from this snapshot. */
  readonly timestamp: number;
  readonly metrics: readonly string[];
  readonly views: SnapshotViews;
  /** The HTTP entity tag of every answer built from this snapshot. */
  readonly etag: string;
  readonly lastModified: string;
  readonly preparedJob: number | undefined;
  readonly #switchIndex: SwitchIndex;
  readonly #metricIndex: ReadonlyMap<string, number>;
  readonly #values: Float64Array;

  constructor(init: SnapshotInit) {
    if (init.values.length !== init.switchIndex.count * init.metrics.length) {
      throw new Error(`snapshot values length ${init.values.length} does not match ${init.switchIndex.count} switches x ${init.metrics.length} metrics`);
    }
    this.version = init.version;
    this.ingestedAtMs = init.ingestedAtMs;
    this.timestamp = Math.floor(init.ingestedAtMs / 1000);
    this.metrics = Object.freeze([...init.metrics]);
    this.views = Object.freeze({ ...init.views });
    this.etag = `"v${init.version}"`;
    this.lastModified = new Date(this.timestamp * 1000).toUTCString();
    this.preparedJob = init.preparedJob;
    this.#switchIndex = init.switchIndex;
    this.#metricIndex = new Map(init.metrics.map((name, i) => [name, i]));
    this.#values = init.values;
    Object.freeze(this);
  }

  get switchCount(): number {
    return this.#switchIndex.count;
  }

  /** Switch ids in CSV order (made on first use and shared by snapshots with the same ids). */
  get switchIds(): readonly string[] {
    return this.#switchIndex.ids();
  }

  hasSwitch(id: string): boolean {
    return this.#switchIndex.lookup(id) !== -1;
  }

  hasMetric(name: string): boolean {
    return this.#metricIndex.has(name);
  }

  /** The value of one metric of one switch, or undefined if either is unknown. O(1). */
  value(switchId: string, metric: string): number | undefined {
    const row = this.#switchIndex.lookup(switchId);
    const column = this.#metricIndex.get(metric);
    if (row === -1 || column === undefined) return undefined;
    return this.#values[row * this.metrics.length + column];
  }

  /** All metric values of one switch, in `metrics` order (a copy). */
  row(switchId: string): number[] | undefined {
    const row = this.#switchIndex.lookup(switchId);
    if (row === -1) return undefined;
    const width = this.metrics.length;
    return Array.from(this.#values.subarray(row * width, row * width + width));
  }

  /** A read-only pass over every value, for views built after the snapshot exists. */
  forEachValue(visit: (switchIndex: number, metricIndex: number, value: number) => void): void {
    const width = this.metrics.length;
    for (let i = 0; i < this.#values.length; i++) visit(Math.floor(i / width), i % width, this.#values[i]!);
  }

  /**
   * Copies of the ids and values, for rendering a view elsewhere (another thread) when the preparer
   * no longer holds this snapshot's columns. Copies, so the snapshot stays immutable.
   */
  exportColumns(): SnapshotColumns {
    const { idText, idEnds } = this.#switchIndex.exportIds();
    return { metrics: this.metrics, values: this.#values.slice(), idText, idEnds };
  }

  /** The id index, for a next snapshot with identical ids to share (it is never mutated). */
  indexForReuse(): SwitchIndex {
    return this.#switchIndex;
  }

  /** Seconds since ingestion, with millisecond precision. */
  ageSeconds(nowMs: number = Date.now()): number {
    return Math.max(0, nowMs - this.ingestedAtMs) / 1000;
  }
}
