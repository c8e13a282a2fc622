/** The messages between the main thread and the render worker, in one module both sides import. */
import type { RenderContext, ViewName } from '../view-kinds.js';

/** The render worker's nice value on Linux: background work, below the main thread. */
export const RENDER_WORKER_NICE = 10;

/** Render view `view` of the snapshot whose column block is `block` (shared memory: not copied). */
export interface RenderRequest {
  readonly kind: 'render';
  readonly id: number;
  readonly view: ViewName;
  readonly block: Uint8Array;
  readonly context: RenderContext;
}

/** The rendered body (transferred back). */
export interface RenderAnswer {
  readonly kind: 'rendered';
  readonly id: number;
  readonly body: Uint8Array;
}
