/**
 * The unit of the system: one immutable, versioned view of the fabric, stamped with its ingestion
 * time. Readers get a whole snapshot or none; replacing the current one is a single reference
 * assignment in the store.
 *
 * A snapshot is its column block (wire.ts) plus its identity. The columns are read through the
 * accessors below; the block itself is what crosses to another thread or store, unchanged and
 * uncopied. Nothing in this process writes to a block once it is built, and the instance is frozen.
 */
import { metricNames, type TelemetryColumns } from './columns.js';
import { SwitchIndex } from './switch-index.js';
import { decodeColumns, type WireResult } from './wire.js';

/** What a snapshot is made of before it is numbered: a source's columns and when they were ingested. */
export interface SnapshotContent {
  /**
   * A column block (wire.ts) in this process's own form: written by `encodeColumns` here (the
   * ingestion worker), or bytes from elsewhere passed through `adoptForeignBlock` first.
   */
  readonly block: Uint8Array;
  /** Milliseconds since the epoch at which ingestion of this data started. */
  readonly ingestedAtMs: number;
}

/** A numbered snapshot's identity, given by the publisher. */
export interface SnapshotIdentity {
  readonly version: number;
  /** The fencing term it was published under (0 for the memory store). */
  readonly term: number;
}

/** An immutable, versioned fabric state: the columns of one ingestion, and who numbered it. */
export class Snapshot {
  readonly version: number;
  readonly term: number;
  readonly ingestedAtMs: number;
  /** Integer Unix seconds: the `timestamp` of every answer built from this snapshot. */
  readonly timestamp: number;
  readonly metrics: readonly string[];
  /** The HTTP entity tag of every answer built from this snapshot. */
  readonly etag: string;
  readonly lastModified: string;
  /** The column block: hand it to another thread or store as is; never write to it. */
  readonly block: Uint8Array;
  readonly #columns: TelemetryColumns;
  readonly #switchIndex: SwitchIndex;
  readonly #metricIndex: ReadonlyMap<string, number>;

  private constructor(identity: SnapshotIdentity, content: SnapshotContent, columns: TelemetryColumns, previous: Snapshot | undefined) {
    this.version = identity.version;
    this.term = identity.term;
    this.ingestedAtMs = content.ingestedAtMs;
    this.timestamp = Math.floor(content.ingestedAtMs / 1000);
    this.metrics = Object.freeze(metricNames(columns));
    this.etag = `"v${identity.version}"`;
    this.lastModified = new Date(this.timestamp * 1000).toUTCString();
    this.block = content.block;
    this.#columns = columns;
    this.#switchIndex = SwitchIndex.over(columns.ids, previous === undefined ? undefined : previous.#switchIndex);
    this.#metricIndex = new Map(this.metrics.map((name, i) => [name, i]));
    Object.freeze(this);
  }

  /**
   * The snapshot of `content` under `identity`: the block's columns are read in place (typed-array
   * views, no copy). `previous`, when its ids are the same, shares its decoded id list.
   */
  static fromContent(identity: SnapshotIdentity, content: SnapshotContent, previous?: Snapshot): WireResult<Snapshot> {
    const columns = decodeColumns(content.block, 'own');
    if (!columns.ok) return columns;
    return { ok: true, value: new Snapshot(identity, content, columns.value, previous) };
  }

  get switchCount(): number {
    return this.#columns.rowCount;
  }

  /** Switch ids in source order (decoded on first use and shared by snapshots with the same ids). */
  get switchIds(): readonly string[] {
    return this.#switchIndex.ids();
  }

  /** The number kind of each metric (columns.ts: ANY_DECIMALS or a count of decimal places). */
  get decimals(): readonly number[] {
    return this.#columns.metrics.map((m) => m.decimals);
  }

  /** The row of a switch id in source order, or -1. */
  rowOf(id: string): number {
    return this.#switchIndex.lookup(id);
  }

  hasSwitch(id: string): boolean {
    return this.#switchIndex.lookup(id) !== -1;
  }

  hasMetric(name: string): boolean {
    return this.#metricIndex.has(name);
  }

  /** The value of one metric of one switch, or undefined if either is unknown. O(1). */
  value(switchId: string, metric: string): number | undefined {
    const column = this.#metricIndex.get(metric);
    if (column === undefined) return undefined;
    const row = this.#switchIndex.lookup(switchId);
    if (row === -1) return undefined;
    return this.#columns.metrics[column]!.values[row];
  }

  /** All metric values of one switch, in `metrics` order (a copy). */
  row(switchId: string): number[] | undefined {
    const row = this.#switchIndex.lookup(switchId);
    if (row === -1) return undefined;
    return this.#columns.metrics.map((m) => m.values[row]!);
  }

  /** A copy of one metric's column (one value per row), or undefined when the snapshot has no such metric. */
  copyColumn(metric: string): Float64Array | undefined {
    const column = this.#metricIndex.get(metric);
    return column === undefined ? undefined : this.#columns.metrics[column]!.values.slice();
  }

  /**
   * One metric's column itself (no copy; one value per row), or undefined when there is no such
   * metric. Read it, never write it: the block is shared with other threads and snapshots.
   */
  columnView(metric: string): Float64Array | undefined {
    const column = this.#metricIndex.get(metric);
    return column === undefined ? undefined : this.#columns.metrics[column]!.values;
  }

  /** The number kind of one metric (columns.ts), or undefined when there is no such metric. */
  decimalsOf(metric: string): number | undefined {
    const column = this.#metricIndex.get(metric);
    return column === undefined ? undefined : this.#columns.metrics[column]!.decimals;
  }

  /** True when `other` holds the same switch ids in the same order (one memcmp). */
  sameIdsAs(other: Snapshot): boolean {
    return this.#switchIndex.sameIds(other.#columns.ids);
  }

  /** Seconds since ingestion, with millisecond precision. */
  ageSeconds(nowMs: number = Date.now()): number {
    return Math.max(0, nowMs - this.ingestedAtMs) / 1000;
  }
}
