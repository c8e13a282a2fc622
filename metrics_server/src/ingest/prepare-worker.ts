/**
 * Worker thread entry: runs `prepareWithColumns` off the main thread and transfers the buffers back;
 * keeps the latest job's columns and renders views (fabric text, ListMetrics) from them when asked.
 */
import { setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import { columnsWithoutTokens } from '../views/prometheus-fabric.js';
import { prepareWithColumns, transferables, type PrepareResult } from './prepare.js';
import { RetainedColumns, WORKER_NICE, type WorkerRequest, type WorkerResponse } from './snapshot-preparer.js';
import { renderView } from '../views/view-renderer.js';

const port = parentPort;
if (port === null) throw new Error('prepare-worker must run in a worker thread');

/**
 * Ingestion is background work: this thread runs at nice WORKER_NICE (10), so when the two compete for a core the
 * main thread, which answers requests, gets it. On a 2-core machine at 100,000 switches the worker's
 * parse (tens of ms), the generator's tick and the load generator used to leave the main thread
 * runnable but waiting, which showed as event-loop delay of 20-25 ms; with the worker niced the
 * windows stayed at 7-17 ms in the same scenario. The price: under a read load that saturates the
 * machine, snapshots take longer to prepare. On Linux `setpriority` on the calling thread (who = 0)
 * affects that thread only; elsewhere it would renice the whole process, so it is Linux only.
 */
if (process.platform === 'linux') {
  try {
    setPriority(WORKER_NICE);
  } catch {
    // Not permitted here (an unusual sandbox): run at normal priority.
  }
}

/** Made by the first prepare job, from the options it carries (the preparer's, the same for every job). */
let retained: RetainedColumns | undefined;
/** Between gzip members of a render: lets a prepare job that arrived meanwhile run first. */
const pause = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function reply(response: WorkerResponse, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(response, transfer);
}

function ownBuffer(bytes: Uint8Array): ArrayBuffer[] {
  return bytes.buffer instanceof ArrayBuffer && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? [bytes.buffer] : [];
}

async function render(id: number, work: Promise<Uint8Array | undefined>): Promise<void> {
  try {
    const body = await work;
    reply({ kind: 'rendered', id, body }, body === undefined ? [] : ownBuffer(body));
  } catch (err) {
    reply({ kind: 'failed', id, error: `internal error while rendering: ${err instanceof Error ? err.message : String(err)}` });
  }
}

port.on('message', (request: WorkerRequest) => {
  switch (request.kind) {
    case 'prepare': {
      let result: PrepareResult;
      try {
        retained ??= new RetainedColumns(request.options);
        const output = prepareWithColumns(request.body, request.timestamp, request.job.listMetrics);
        result = output.result;
        retained.keep(request.id, output.columns);
      } catch (err) {
        // prepareWithColumns is pure and total; this only guards against a bug taking the worker down.
        result = { ok: false, reason: `internal error while parsing: ${err instanceof Error ? err.message : String(err)}` };
      }
      reply({ kind: 'prepared', id: request.id, result }, result.ok ? transferables(result.snapshot) : []);
      return;
    }
    case 'render-retained':
      void render(request.id, retained === undefined ? Promise.resolve(undefined) : retained.render(request.job, request.spec, pause));
      return;
    case 'render-columns':
      void render(request.id, renderView(columnsWithoutTokens(request.columns), request.spec, pause));
      return;
  }
});
