/**
 * The ListMetrics body of the current snapshot, rendered only for servers that are asked for it.
 *
 * At 100,000 switches the body is 15.6 MB and takes the worker about 40 ms; a server whose clients
 * only ask GetMetric would render and hand over those bytes every poll for nothing (and the main
 * thread's garbage collector would sweep them). So: while ListMetrics was asked for within the last
 * `eagerWindowMs`, the poller has the body rendered in the prepare job (`wantedInPrepare`), and a
 * dashboard reading every poll never waits. Otherwise the first request for a snapshot has it
 * rendered by the worker from the columns it kept (lazy-snapshot-view.ts), and later requests for the
 * same snapshot share that body.
 */
import type { Snapshot } from '../snapshot/snapshot.js';
import type { SnapshotStore } from '../snapshot/snapshot-store.js';
import { LazySnapshotView, type LazyViewStats } from './lazy-snapshot-view.js';
import type { ViewRenderer } from './view-renderer.js';

/** ListMetrics is rendered with each snapshot while it was asked for within this many poll intervals. */
export const EAGER_WINDOW_POLLS = 2;

export class ListMetricsView {
  private readonly lazy: LazySnapshotView;
  private lastAskedAtMs = Number.NEGATIVE_INFINITY;

  constructor(
    store: SnapshotStore,
    renderer: ViewRenderer,
    private readonly eagerWindowMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.lazy = new LazySnapshotView(store, renderer, (snapshot) => ({ view: 'list-metrics', timestamp: snapshot.timestamp }));
  }

  /** The body if it is at hand without waiting (rendered with the snapshot, or by an earlier request). */
  ready(snapshot: Snapshot): Buffer | undefined {
    this.lastAskedAtMs = this.now();
    return snapshot.views.listMetricsJson ?? this.lazy.ready(snapshot);
  }

  /** The body, rendered now if need be; undefined when a newer snapshot superseded this one meanwhile. */
  async body(snapshot: Snapshot): Promise<Buffer | undefined> {
    this.lastAskedAtMs = this.now();
    return snapshot.views.listMetricsJson ?? this.lazy.body(snapshot);
  }

  /** Whether the next prepare job should render the body: ListMetrics was asked for recently. */
  wantedInPrepare(): boolean {
    return this.now() - this.lastAskedAtMs <= this.eagerWindowMs;
  }

  get stats(): LazyViewStats {
    return this.lazy.stats;
  }

  close(): void {
    this.lazy.close();
  }
}
