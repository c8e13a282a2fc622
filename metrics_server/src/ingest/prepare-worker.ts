/**
 * Worker thread entry: runs `prepareWithColumns` off the main thread and transfers the buffers back;
 * keeps the latest job's columns and renders the Prometheus fabric text from them when asked.
 */
import { parentPort } from 'node:worker_threads';
import { columnsWithoutTokens, renderFabricGzip } from '../views/prometheus-fabric.js';
import { prepareWithColumns, transferables, type PrepareResult } from './prepare.js';
import { RetainedColumns, type WorkerRequest, type WorkerResponse } from './snapshot-preparer.js';

const port = parentPort;
if (port === null) throw new Error('prepare-worker must run in a worker thread');

const retained = new RetainedColumns();
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
        const output = prepareWithColumns(request.body, request.timestamp, request.options);
        result = output.result;
        retained.keep(request.id, output.fabric);
      } catch (err) {
        // prepareWithColumns is pure and total; this only guards against a bug taking the worker down.
        result = { ok: false, reason: `internal error while parsing: ${err instanceof Error ? err.message : String(err)}` };
      }
      reply({ kind: 'prepared', id: request.id, result }, result.ok ? transferables(result.snapshot) : []);
      return;
    }
    case 'render-retained':
      void render(request.id, retained.render(request.job, pause));
      return;
    case 'render-columns':
      void render(request.id, renderFabricGzip(columnsWithoutTokens(request.columns), pause));
      return;
  }
});
