/**
 * The switch ids of a run of history chunks: which row a switch id has in them. A chunk holds only
 * samples of snapshots with the very same ids in the same order (a changed fabric starts a new
 * chunk), so a row number is a series' identity inside it.
 */
import type { Snapshot } from '../snapshot/snapshot.js';

/** Switch ids in row order and their id → row lookup. */
export interface IdSource {
  /** Ids in row order (the snapshot's switch order: ties in Top keep it). */
  readonly ids: readonly string[];
  readonly count: number;
  /** The row of `id`, or -1. */
  rowOf(id: string): number;
  /** True when `snapshot` has exactly these ids in this order. */
  matches(snapshot: Snapshot): boolean;
  /** Bytes this source keeps alive (for the history's memory account). */
  readonly bytes: number;
}

/** The ids of a snapshot, read through the snapshot's own index (no copy). */
export class SnapshotIds implements IdSource {
  readonly count: number;
  readonly bytes: number;

  constructor(private readonly snapshot: Snapshot) {
    this.count = snapshot.switchCount;
    // The snapshot's column block stays alive while a chunk refers to it: counted whole, conservatively.
    this.bytes = snapshot.block.byteLength;
  }

  get ids(): readonly string[] {
    return this.snapshot.switchIds;
  }

  rowOf(id: string): number {
    return this.snapshot.rowOf(id);
  }

  matches(snapshot: Snapshot): boolean {
    return snapshot === this.snapshot || (snapshot.switchCount === this.count && snapshot.sameIdsAs(this.snapshot));
  }
}

/** Ids read back from a checkpoint: a list and its map. */
export class ListIds implements IdSource {
  readonly count: number;
  readonly bytes: number;
  private readonly index: Map<string, number>;

  constructor(readonly ids: readonly string[]) {
    this.count = ids.length;
    this.index = new Map(ids.map((id, row) => [id, row]));
    // A rough account: the strings and the map's entries.
    this.bytes = ids.reduce((n, id) => n + id.length + 48, 0);
  }

  rowOf(id: string): number {
    return this.index.get(id) ?? -1;
  }

  matches(snapshot: Snapshot): boolean {
    if (snapshot.switchCount !== this.count) return false;
    const ids = snapshot.switchIds;
    for (let i = 0; i < ids.length; i++) if (ids[i] !== this.ids[i]) return false;
    return true;
  }
}
