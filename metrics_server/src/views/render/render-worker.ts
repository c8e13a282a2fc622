/**
 * The render worker's entry: renders views from a snapshot's column block. It depends on nothing but
 * the block, so any instance can render any snapshot it holds, whether its own ingestion worker made
 * it or a store delivered it. Renders of different requests interleave at their pauses (a fabric
 * render yields between gzip members), so a short render is not stuck behind a long one.
 */
import { lowerThreadPriority, ownedBuffers, serveRequests } from '../../../../common/worker-thread.js';
import { decodeColumns } from '../../snapshot/wire.js';
import { VIEW_KINDS, isViewName } from '../view-kinds.js';
import { RENDER_WORKER_NICE, type RenderAnswer, type RenderRequest } from './protocol.js';

lowerThreadPriority(RENDER_WORKER_NICE);

const pause = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

serveRequests<RenderRequest, RenderAnswer>('rendering', async (request) => {
  if (!isViewName(request.view)) throw new Error(`no view named ${String(request.view)}`);
  const columns = decodeColumns(request.block, 'own');
  if (!columns.ok) throw new Error(columns.reason);
  const body = await VIEW_KINDS[request.view](columns.value, request.context, pause);
  return { answer: { kind: 'rendered', id: request.id, body }, transfer: ownedBuffers([body]) };
});
