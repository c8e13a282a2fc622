/**
 * The ingestion worker's entry: runs `prepareBody` off the main thread, at a lower CPU priority.
 *
 * Why niced: on a 2-core machine at 100,000 switches the worker's parse (tens of ms), the generator's
 * tick and a load generator used to leave the main thread runnable but waiting, which showed as
 * event-loop delay of 20-25 ms; with the worker at nice 10 the windows stayed at 7-17 ms in the same
 * scenario. The price: under a read load that saturates the machine, snapshots take longer to prepare.
 */
import { lowerThreadPriority, serveRequests } from '../../../../common/worker-thread.js';
import { prepareBody, prepareDelta } from '../prepare.js';
import { INGEST_WORKER_NICE, type PrepareAnswer, type PrepareRequest } from './protocol.js';

lowerThreadPriority(INGEST_WORKER_NICE);

serveRequests<PrepareRequest, PrepareAnswer>('parsing', (request) => ({
  answer: { kind: 'prepared', id: request.id, result: request.base === undefined ? prepareBody(request.body, request.format, request.encoding) : prepareDelta(request.body, request.base, request.format, request.encoding) },
}));
