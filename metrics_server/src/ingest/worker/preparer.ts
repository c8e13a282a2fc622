/**
 * Where `prepareBody` runs. Production uses the ingestion worker, so parsing 100,000 switches never
 * blocks a request; tests may run it inline. The ingester meets both through `SnapshotPreparer`.
 */
import { WorkerClient, ownedBuffers } from '../../../../common/worker-thread.js';
import type { BodyEncoding, BodyFormat } from '../parse-outcome.js';
import type { PrepareResult } from '../prepare.js';
import type { PrepareAnswer, PrepareRequest } from './protocol.js';

/** Turns a body into a column block, somewhere. */
export interface SnapshotPreparer {
  /** Never rejects for a bad body (that is a failed result); rejects only if the preparer itself broke. */
  prepare(body: Uint8Array, format?: BodyFormat, encoding?: BodyEncoding): Promise<PrepareResult>;
  /** A delta applied to `base` (a snapshot's block); the same failure rules as `prepare`. */
  prepareDelta(body: Uint8Array, base: Uint8Array, format?: BodyFormat, encoding?: BodyEncoding): Promise<PrepareResult>;
  /** Gets ready ahead of the first body (a follower that may become leader: failover then pays no worker start-up). */
  warm?(): void;
  close(): Promise<void>;
}

/**
 * Runs on the calling thread. Fine for tests and small fabrics. The parsers are loaded on first use,
 * so a main thread that prepares in the worker never loads them (nor the apache-arrow library).
 */
export class InlinePreparer implements SnapshotPreparer {
  async prepare(body: Uint8Array, format: BodyFormat = 'csv', encoding: BodyEncoding = 'raw'): Promise<PrepareResult> {
    const { prepareBody } = await import('../prepare.js');
    return prepareBody(body, format, encoding);
  }

  async prepareDelta(body: Uint8Array, base: Uint8Array, format: BodyFormat = 'csv', encoding: BodyEncoding = 'raw'): Promise<PrepareResult> {
    const { prepareDelta } = await import('../prepare.js');
    return prepareDelta(body, base, format, encoding);
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

  async prepare(body: Uint8Array, format: BodyFormat = 'csv', encoding: BodyEncoding = 'raw'): Promise<PrepareResult> {
    const answer = await this.client.request((id) => ({ kind: 'prepare', id, body, format, encoding }), ownedBuffers([body]));
    return answer.result;
  }

  async prepareDelta(body: Uint8Array, base: Uint8Array, format: BodyFormat = 'csv', encoding: BodyEncoding = 'raw'): Promise<PrepareResult> {
    // The base is shared memory: posted, not transferred (the current snapshot keeps using it).
    const answer = await this.client.request((id) => ({ kind: 'prepare', id, body, format, encoding, base }), ownedBuffers([body]));
    return answer.result;
  }

  close(): Promise<void> {
    return this.client.close();
  }
}
