/**
 * Holds the current snapshot. Node runs JavaScript on one thread, so replacing the reference is
 * atomic by itself and readers need no lock: a request handler reads `current()` once and uses that
 * snapshot for its whole answer. This interface is the seam for other stores (Redis later).
 */
import type { Snapshot } from './snapshot.js';

export type SnapshotListener = (snapshot: Snapshot) => void;

export interface SnapshotStore {
  current(): Snapshot | undefined;
  publish(snapshot: Snapshot): void;
  /** Called after each swap; returns an unsubscribe function. */
  onPublish(listener: SnapshotListener): () => void;
}

export class MemorySnapshotStore implements SnapshotStore {
  private snapshot: Snapshot | undefined;
  private readonly listeners = new Set<SnapshotListener>();

  current(): Snapshot | undefined {
    return this.snapshot;
  }

  publish(snapshot: Snapshot): void {
    if (this.snapshot !== undefined && snapshot.version <= this.snapshot.version) {
      throw new Error(`snapshot version ${snapshot.version} is not newer than ${this.snapshot.version}`);
    }
    this.snapshot = snapshot;
    for (const listener of this.listeners) listener(snapshot);
  }

  onPublish(listener: SnapshotListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
