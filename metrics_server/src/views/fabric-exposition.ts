/**
 * The Prometheus fabric series of the current snapshot, rendered lazily: at most once per snapshot,
 * by the preparer (the ingestion worker in production), when the first scrape of that snapshot asks
 * for it. Nobody scraping means nothing rendered. The body is kept gzip-compressed (about 2.7 MB
 * instead of 33 MB at 100,000 switches) for later scrapes of the same snapshot; concurrent scrapes
 * share one render in flight; publishing a newer snapshot drops the cached body.
 *
 * The preparer keeps the columns of its latest job only. If the snapshot asked for is no longer that
 * job (the worker was replaced, or a newer job was prepared but not yet published), the snapshot's
 * own ids and values are sent to be rendered instead, unless a newer snapshot has been published
 * meanwhile: then the render is skipped (`undefined`) and the scrape moves on to the newer one.
 */
import type { Snapshot } from '../snapshot/snapshot.js';
import type { SnapshotStore } from '../snapshot/snapshot-store.js';
import { columnsWithoutTokens, renderFabricGzip, type SnapshotColumns } from './prometheus-fabric.js';

export interface FabricRenderer {
  /** The gzip-compressed fabric text of prepare job `job`, or undefined when the renderer no longer holds that job. */
  renderRetained(job: number): Promise<Uint8Array | undefined>;
  /** The gzip-compressed fabric text from a snapshot's exported columns (always possible, slower: no CSV tokens). */
  renderColumns(columns: SnapshotColumns): Promise<Uint8Array>;
}

export function isFabricRenderer(value: object): value is FabricRenderer {
  return 'renderRetained' in value && 'renderColumns' in value;
}

/** Renders on the calling thread from the snapshot's columns: for tests and apps without a preparer. */
export const inlineFabricRenderer: FabricRenderer = {
  renderRetained: async () => undefined,
  renderColumns: (columns) => renderFabricGzip(columnsWithoutTokens(columns)),
};

export interface FabricRenderStats {
  /** Renders started (one per snapshot scraped at least once). */
  readonly renders: number;
  /** Of those, renders from the snapshot's exported columns because the preparer no longer held its job. */
  readonly fromColumns: number;
  /** Renders skipped because a newer snapshot was published before the preparer could render the old one. */
  readonly superseded: number;
}

export class FabricExposition {
  private cached: { readonly snapshot: Snapshot; readonly body: Promise<Buffer | undefined> } | undefined;
  private readonly unsubscribe: () => void;
  private counts = { renders: 0, fromColumns: 0, superseded: 0 };

  constructor(
    private readonly store: SnapshotStore,
    private readonly renderer: FabricRenderer,
  ) {
    // Only the current snapshot's body is ever kept: a newer snapshot makes the old body garbage.
    this.unsubscribe = store.onPublish((snapshot) => {
      if (this.cached !== undefined && this.cached.snapshot !== snapshot) this.cached = undefined;
    });
  }

  get stats(): FabricRenderStats {
    return { ...this.counts };
  }

  /**
   * The gzip-compressed fabric text of `snapshot` (one or more gzip members), rendered on the first
   * call for that snapshot and shared by every later or concurrent call; undefined when a newer
   * snapshot superseded it before it could be rendered.
   */
  gzipped(snapshot: Snapshot): Promise<Buffer | undefined> {
    if (this.cached?.snapshot === snapshot) return this.cached.body;
    const body = this.render(snapshot);
    // Only the current snapshot is cached (a scrape may still ask for one a publish just replaced).
    if (this.store.current() === snapshot) {
      this.cached = { snapshot, body };
      // A failed render is not kept: the next scrape tries again.
      body.catch(() => {
        if (this.cached?.body === body) this.cached = undefined;
      });
    }
    return body;
  }

  close(): void {
    this.unsubscribe();
    this.cached = undefined;
  }

  private async render(snapshot: Snapshot): Promise<Buffer | undefined> {
    this.counts.renders += 1;
    if (snapshot.preparedJob !== undefined) {
      const retained = await this.renderer.renderRetained(snapshot.preparedJob);
      if (retained !== undefined) return asBuffer(retained);
    }
    if (this.store.current() !== snapshot) {
      this.counts.superseded += 1;
      return undefined;
    }
    this.counts.fromColumns += 1;
    return asBuffer(await this.renderer.renderColumns(snapshot.exportColumns()));
  }
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
