/**
 * The read side of the snapshot store, as Prometheus keeps `Queryable` apart from `Appendable`:
 * what every reader (routes, views, Status, `/metrics`) holds. Reading never touches the network:
 * `current()` is a field read, and a publish is announced to listeners after the swap.
 */
import type { Snapshot } from '../snapshot/snapshot.js';

/** Called after each swap with the new current snapshot. */
export type SnapshotListener = (snapshot: Snapshot) => void;

/** The current snapshot and the publish notification. */
export interface SnapshotReader {
  /** The snapshot to answer from, or undefined before the first. Read it once per answer. */
  current(): Snapshot | undefined;
  /** Subscribes to swaps; returns the unsubscribe function. */
  onPublish(listener: SnapshotListener): () => void;
}
