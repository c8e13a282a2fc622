/** Worker thread entry: runs `prepareSnapshot` off the main thread and transfers the buffers back. */
import { parentPort } from 'node:worker_threads';
import { prepareSnapshot, transferables, type PrepareResult } from './prepare.js';
import type { WorkerRequest, WorkerResponse } from './snapshot-preparer.js';

const port = parentPort;
if (port === null) throw new Error('prepare-worker must run in a worker thread');

port.on('message', (request: WorkerRequest) => {
  let result: PrepareResult;
  try {
    result = prepareSnapshot(request.body, request.timestamp, request.options);
  } catch (err) {
    // prepareSnapshot is pure and total; this only guards against a bug taking the worker down.
    result = { ok: false, reason: `internal error while parsing: ${err instanceof Error ? err.message : String(err)}` };
  }
  const response: WorkerResponse = { id: request.id, result };
  port.postMessage(response, result.ok ? transferables(result.snapshot) : []);
});
