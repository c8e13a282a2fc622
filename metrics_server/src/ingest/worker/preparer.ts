/**
 * Where `prepareBody` runs. Production uses the ingestion worker, so parsing 100,000 switches never
 * blocks a request; tests may run it inline. The ingester meets both through `SnapshotPreparer`.
 */
import { WorkerClient, ownedBuffers } from '../../../../common/worker-thread.js';
import { prepareBody, type PrepareResult } from '../prepare.js';
import type { PrepareAnswer, PrepareRequest } from './protocol.js';

/** Turns a body into a column block, somewhere. */
export interface SnapshotPreparer {
  /** Never rejects for a bad body (that is a failed result); rejects only if the preparer itself broke. */
  prepare(body: Uint8Array): Promise<PrepareResult>;
  /** Gets ready ahead of the first body (a follower that may become leader: failover then pays no worker start-up). */
  warm?(): void;
  close(): Promise<void>;
}

/** Runs on the calling thread. Fine for tests and small fabrics. */
export class InlinePreparer implements SnapshotPreparer {
  async prepare(body: Uint8Array): Promise<PrepareResult> {
    return prepareBody(body);
  }

  async close(): Promise<void> {}
}

/**
 * One long-lived ingestion worker. Sources deliver one body at a time, so one job is in flight; the
 * body goes in as a transfer when it owns its buffer, the block comes back in shared memory. A worker
 * that dies fails the job in flight and is replaced on the next one.
 */
export class WorkerPreparer implements SnapshotPreparer {
  private readonly client = new WorkerClient<PrepareRequest, PrepareAnswer>(new URL('./prepare-worker.js', import.meta.url), 'ingestion');

  warm(): void {
    this.client.warm();
  }

  async prepare(body: Uint8Array): Promise<PrepareResult> {
    const answer = await this.client.request((id) => ({ kind: 'prepare', id, body }), ownedBuffers([body]));
    return answer.result;
  }

  close(): Promise<void> {
    return this.client.close();
  }
}
