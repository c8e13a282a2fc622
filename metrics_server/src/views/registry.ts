/**
 * The views of the current snapshot, each rendered at most once per snapshot, by the renderer (the
 * render worker in production), from the snapshot alone. A view is rendered when it is wanted:
 *
 * - on its first read of a snapshot (every view): concurrent readers share the render in flight;
 * - with the snapshot, as soon as it is published, while the view is being read: a view defined with
 *   `eagerWithinSnapshots: n` is rendered at publish when it was read while one of the last n
 *   snapshots was current. A dashboard reading ListMetrics every poll then never waits for a
 *   render, and a server nobody asks for it never renders it (at 100,000 switches the ListMetrics
 *   body is 15.6 MB and the fabric text 33 MB).
 *
 * Which views are wanted is the views' own data (when each was last read), not a signal threaded
 * through ingestion. Only the current snapshot's bodies are kept: a publish drops the old ones.
 */
import type { Logger } from '../../../common/logger.js';
import type { Snapshot } from '../snapshot/snapshot.js';
import type { SnapshotReader } from '../store/reader.js';
import type { ViewRenderer } from './render/renderer.js';
import type { RenderExtras, ViewName } from './view-kinds.js';

/** When a view is rendered besides its first read. */
export interface ViewDefinition {
  readonly name: ViewName;
  /**
   * Render it with each new snapshot while it was read during one of the last this-many snapshots
   * (0: only ever on first read).
   */
  readonly eagerWithinSnapshots: number;
  /** State beside the snapshot the view shows (running totals), taken when its render starts. */
  readonly extras?: (snapshot: Snapshot) => RenderExtras;
}

/** Counts of one view's renders, for tests and Status. */
export interface ViewStats {
  /** Renders started, on a read or with a publish. */
  readonly renders: number;
  /** Of those, started with a publish, before anyone asked. */
  readonly eager: number;
}

interface Rendering {
  readonly snapshot: Snapshot;
  readonly body: Promise<Buffer>;
  /** The body once rendered, for readers that cannot wait (the read fast path). */
  settled: Buffer | undefined;
}

interface ViewState {
  readonly definition: ViewDefinition;
  lastReadVersion: number;
  current: Rendering | undefined;
  renders: number;
  eager: number;
}

/** Renders and keeps the views of the current snapshot. */
export class ViewRegistry {
  private readonly views = new Map<ViewName, ViewState>();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly reader: SnapshotReader,
    private readonly renderer: ViewRenderer,
    definitions: readonly ViewDefinition[],
    private readonly logger: Logger,
  ) {
    for (const definition of definitions) {
      this.views.set(definition.name, { definition, lastReadVersion: Number.NEGATIVE_INFINITY, current: undefined, renders: 0, eager: 0 });
    }
    this.unsubscribe = reader.onPublish((snapshot) => this.published(snapshot));
  }

  /** Whether `name` is defined here (a view that is off, such as the fabric series, is not). */
  has(name: ViewName): boolean {
    return this.views.has(name);
  }

  /** The body of `snapshot` if it is at hand now, without starting a render; counts as a read. */
  ready(name: ViewName, snapshot: Snapshot): Buffer | undefined {
    const state = this.state(name);
    state.lastReadVersion = Math.max(state.lastReadVersion, snapshot.version);
    return state.current?.snapshot === snapshot ? state.current.settled : undefined;
  }

  /**
   * The body of `snapshot`, rendered on the first call for it and shared by every later or concurrent
   * call. A snapshot that is no longer current (a reader that read it just before a publish) is
   * rendered for that reader alone, so every answer matches the version it names.
   */
  body(name: ViewName, snapshot: Snapshot): Promise<Buffer> {
    const state = this.state(name);
    state.lastReadVersion = Math.max(state.lastReadVersion, snapshot.version);
    if (state.current?.snapshot === snapshot) return state.current.body;
    const body = this.render(state, snapshot);
    if (this.reader.current() === snapshot) this.keep(state, snapshot, body);
    return body;
  }

  /**
   * Renders `name` of `snapshot` with the given extras, for a caller that keeps the result itself
   * (the stream's `changes` event depends on the previous snapshot too, which only its caller knows).
   * Not kept here and not counted as a read.
   */
  renderOnce(name: ViewName, snapshot: Snapshot, extras: RenderExtras): Promise<Buffer> {
    return this.renderer.render(name, snapshot, extras);
  }

  /** Render counts of one view. */
  stats(name: ViewName): ViewStats {
    const { renders, eager } = this.state(name);
    return { renders, eager };
  }

  /** Stops following publishes and drops every body. */
  close(): void {
    this.unsubscribe();
    for (const state of this.views.values()) state.current = undefined;
  }

  private state(name: ViewName): ViewState {
    const state = this.views.get(name);
    if (state === undefined) throw new Error(`view ${name} is not registered`);
    return state;
  }

  private published(snapshot: Snapshot): void {
    for (const state of this.views.values()) {
      if (state.current !== undefined && state.current.snapshot !== snapshot) state.current = undefined;
      const within = state.definition.eagerWithinSnapshots;
      if (within > 0 && state.current === undefined && state.lastReadVersion >= snapshot.version - within) {
        state.eager += 1;
        const body = this.render(state, snapshot);
        this.keep(state, snapshot, body);
        // Nobody waits on an eager render yet: a failure is logged here, and the next reader retries.
        body.catch((err: unknown) => this.logger.error(`could not render ${state.definition.name} for snapshot v${snapshot.version}: ${err instanceof Error ? err.message : String(err)}`));
      }
    }
  }

  private render(state: ViewState, snapshot: Snapshot): Promise<Buffer> {
    state.renders += 1;
    return this.renderer.render(state.definition.name, snapshot, state.definition.extras?.(snapshot));
  }

  private keep(state: ViewState, snapshot: Snapshot, body: Promise<Buffer>): void {
    const rendering: Rendering = { snapshot, body, settled: undefined };
    state.current = rendering;
    body.then(
      (value) => {
        rendering.settled = value;
      },
      // A failed render is not kept: the next reader tries again.
      () => {
        if (state.current === rendering) state.current = undefined;
      },
    );
  }
}
