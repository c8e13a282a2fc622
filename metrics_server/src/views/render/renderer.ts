/**
 * Where views are rendered: in the render worker (production), or on the calling thread (tests,
 * tools). The view registry meets both through `ViewRenderer`.
 */
import { WorkerClient } from '../../../../common/worker-thread.js';
import type { Snapshot } from '../../snapshot/snapshot.js';
import { decodeColumns } from '../../snapshot/wire.js';
import type { RenderExtras, ViewName } from '../view-kinds.js';
import type { RenderAnswer, RenderRequest } from './protocol.js';

/** Renders a view of a snapshot, somewhere. */
export interface ViewRenderer {
  /** The view's body; rejects only when the renderer itself broke. */
  render(view: ViewName, snapshot: Snapshot, extras?: RenderExtras): Promise<Buffer>;
  close(): Promise<void>;
}

/** A Buffer view of bytes, without copying. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Renders on the calling thread. The view renderers are loaded on first use, so a main thread that
 * renders in the worker never loads them (nor the apache-arrow library).
 */
export class InlineRenderer implements ViewRenderer {
  async render(view: ViewName, snapshot: Snapshot, extras: RenderExtras = {}): Promise<Buffer> {
    const { VIEW_KINDS } = await import('../view-kinds.js');
    const columns = decodeColumns(snapshot.block, 'own');
    if (!columns.ok) throw new Error(columns.reason);
    return asBuffer(await VIEW_KINDS[view](columns.value, { ...extras, version: snapshot.version, timestamp: snapshot.timestamp }, async () => {}));
  }

  async close(): Promise<void> {}
}

/**
 * One long-lived render worker. The snapshot's block is in shared memory when the ingestion worker
 * made it, so handing it over copies nothing; the body comes back as a transfer.
 */
export class WorkerRenderer implements ViewRenderer {
  private readonly client = new WorkerClient<RenderRequest, RenderAnswer>(new URL('./render-worker.js', import.meta.url), 'render');

  async render(view: ViewName, snapshot: Snapshot, extras: RenderExtras = {}): Promise<Buffer> {
    // Extras (running totals) are copied by the message; the block is shared memory.
    const answer = await this.client.request((id) => ({ kind: 'render', id, view, block: snapshot.block, context: { ...extras, version: snapshot.version, timestamp: snapshot.timestamp } }));
    return asBuffer(answer.body);
  }

  close(): Promise<void> {
    return this.client.close();
  }
}
