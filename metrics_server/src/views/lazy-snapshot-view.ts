/**
 * A view of the current snapshot rendered lazily: at most once per snapshot, by a `ViewRenderer`
 * (the ingestion worker in production), when the first reader of that snapshot asks for it. Nobody
 * reading means nothing rendered. Concurrent readers share one render in flight; publishing a newer
 * snapshot drops the cached body.
 *
 * The renderer keeps the columns of its latest prepare job only. If the snapshot asked for is no
 * longer that job (the worker was replaced, or a newer job was prepared but not yet published), the
 * snapshot's own ids and values are sent to be rendered instead, unless a newer snapshot has been
 * published meanwhile: then the render is skipped (`undefined`) and the reader moves on to the newer
 * one.
 */
import type { Snapshot } from '../snapshot/snapshot.js';
import type { SnapshotStore } from '../snapshot/snapshot-store.js';
import type { ViewRenderer, ViewSpec } from './view-renderer.js';

export interface LazyViewStats {
  /** Renders started (one per snapshot read at least once). */
  readonly renders: number;
  /** Of those, renders from the snapshot's exported columns because the renderer no longer held its job. */
  readonly fromColumns: number;
  /** Renders skipped because a newer snapshot was published before the renderer could render the old one. */
  readonly superseded: number;
}

interface Cached {
  readonly snapshot: Snapshot;
  readonly body: Promise<Buffer | undefined>;
  /** The body once rendered, for readers that cannot wait (the read fast path). */
  settled: Buffer | undefined;
}

export class LazySnapshotView {
  private cached: Cached | undefined;
  private readonly unsubscribe: () => void;
  private counts = { renders: 0, fromColumns: 0, superseded: 0 };

  constructor(
    private readonly store: SnapshotStore,
    private readonly renderer: ViewRenderer,
    private readonly spec: (snapshot: Snapshot) => ViewSpec,
  ) {
    // Only the current snapshot's body is ever kept: a newer snapshot makes the old body garbage.
    this.unsubscribe = store.onPublish((snapshot) => {
      if (this.cached !== undefined && this.cached.snapshot !== snapshot) this.cached = undefined;
    });
  }

  get stats(): LazyViewStats {
    return { ...this.counts };
  }

  /** The body of `snapshot` if it has been rendered already, without starting a render. */
  ready(snapshot: Snapshot): Buffer | undefined {
    return this.cached?.snapshot === snapshot ? this.cached.settled : undefined;
  }

  /**
   * The body of `snapshot`, rendered on the first call for that snapshot and shared by every later
   * or concurrent call; undefined when a newer snapshot superseded it before it could be rendered.
   */
  body(snapshot: Snapshot): Promise<Buffer | undefined> {
    if (this.cached?.snapshot === snapshot) return this.cached.body;
    const body = this.render(snapshot);
    // Only the current snapshot is cached (a reader may still ask for one a publish just replaced).
    if (this.store.current() === snapshot) {
      const cached: Cached = { snapshot, body, settled: undefined };
      this.cached = cached;
      body.then(
        (value) => {
          cached.settled = value;
        },
        // A failed render is not kept: the next reader tries again.
        () => {
          if (this.cached === cached) this.cached = undefined;
        },
      );
    }
    return body;
  }

  close(): void {
    this.unsubscribe();
    this.cached = undefined;
  }

  private async render(snapshot: Snapshot): Promise<Buffer | undefined> {
    this.counts.renders += 1;
    const spec = this.spec(snapshot);
    if (snapshot.preparedJob !== undefined) {
      const retained = await this.renderer.renderRetained(snapshot.preparedJob, spec);
      if (retained !== undefined) return asBuffer(retained);
    }
    if (this.store.current() !== snapshot) {
      this.counts.superseded += 1;
      return undefined;
    }
    this.counts.fromColumns += 1;
    return asBuffer(await this.renderer.renderColumns(snapshot.exportColumns(), spec));
  }
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
