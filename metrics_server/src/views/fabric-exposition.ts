/**
 * The Prometheus fabric series of the current snapshot, rendered lazily (lazy-snapshot-view.ts): at
 * most once per snapshot, by the preparer, when the first scrape of that snapshot asks for it. The
 * body is kept gzip-compressed (about 2.7 MB instead of 33 MB at 100,000 switches) for later scrapes
 * of the same snapshot.
 */
import type { Snapshot } from '../snapshot/snapshot.js';
import type { SnapshotStore } from '../snapshot/snapshot-store.js';
import { LazySnapshotView } from './lazy-snapshot-view.js';
import type { ViewRenderer } from './view-renderer.js';

export class FabricExposition extends LazySnapshotView {
  constructor(store: SnapshotStore, renderer: ViewRenderer) {
    super(store, renderer, () => ({ view: 'fabric-gzip' }));
  }

  /** The gzip-compressed fabric text of `snapshot` (one or more gzip members); undefined when superseded. */
  gzipped(snapshot: Snapshot): Promise<Buffer | undefined> {
    return this.body(snapshot);
  }
}
