/**
 * The write side of the snapshot store: the one place a new snapshot is numbered and made current.
 * Asynchronous and fallible by contract: the memory store answers at once, a Redis store goes over the
 * network and may refuse (a publish under a fencing term older than the newest must never land).
 */
import type { Snapshot, SnapshotContent } from '../snapshot/snapshot.js';

/** Numbers content as the next version and makes it current. */
export interface SnapshotPublisher {
  /**
   * Resolves with the published snapshot once it is current. Rejects with `PublishRefused` when the
   * store will not take it (a stale term), or with the store's own error when it could not be
   * reached; either way the current snapshot is unchanged.
   */
  publish(content: SnapshotContent): Promise<Snapshot>;
}

/** The store refused a publish (for instance: the publisher's term is no longer the newest). */
export class PublishRefused extends Error {
  override readonly name = 'PublishRefused';
}
