/**
 * The default store: the current snapshot in a field of this process. Node runs JavaScript on one
 * thread, so replacing the reference is atomic by itself and readers need no lock: a request handler
 * reads `current()` once and answers from that snapshot alone.
 */
import { Snapshot, type SnapshotContent } from '../snapshot/snapshot.js';
import type { SnapshotPublisher } from './publisher.js';
import type { SnapshotListener, SnapshotReader } from './reader.js';
import type { DescribedStore, StoreStatus } from './store-status.js';

/** Options of `MemoryStore`. */
export interface MemoryStoreOptions {
  /** The version the first publish gets (default 1). */
  readonly firstVersion?: number;
}

/** Publisher and reader in one process; versions count up from `firstVersion`. */
export class MemoryStore implements SnapshotPublisher, SnapshotReader, DescribedStore {
  private snapshot: Snapshot | undefined;
  private nextVersion: number;
  private readonly listeners = new Set<SnapshotListener>();

  constructor(options: MemoryStoreOptions = {}) {
    this.nextVersion = options.firstVersion ?? 1;
  }

  current(): Snapshot | undefined {
    return this.snapshot;
  }

  async publish(content: SnapshotContent): Promise<Snapshot> {
    return this.publishNow(content);
  }

  /** `publish` without the promise, for tests and tools that build state synchronously. */
  publishNow(content: SnapshotContent): Snapshot {
    const made = Snapshot.fromContent({ version: this.nextVersion, term: 0 }, content, this.snapshot);
    // The block comes from this process's own encoder: a refusal is a bug, not bad input.
    if (!made.ok) throw new Error(`cannot publish: ${made.reason}`);
    this.nextVersion += 1;
    this.snapshot = made.value;
    for (const listener of this.listeners) listener(made.value);
    return made.value;
  }

  status(): StoreStatus {
    // One process is always its own ingester, and always reaches its own memory.
    return { kind: 'memory', role: 'leader', term: 0, connected: true };
  }

  confirmedAtMs(): number | undefined {
    return undefined;
  }

  onPublish(listener: SnapshotListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
