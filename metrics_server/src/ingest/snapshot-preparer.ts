/**
 * Where `prepareSnapshot` runs. Production uses a worker thread so parsing and serializing 100,000
 * switches never blocks a request; tests may run it inline. Both meet the poller through this
 * interface.
 */
import { Worker } from 'node:worker_threads';
import { prepareSnapshot, type PrepareOptions, type PrepareResult } from './prepare.js';

export interface SnapshotPreparer {
  prepare(body: Uint8Array, timestamp: number): Promise<PrepareResult>;
  close(): Promise<void>;
}

/**
 * Starts a worker from a module next to this one. When built, that is a plain `.js` file. Under tsx
 * (tests) it is a `.ts` file, and Node 20 does not carry `--import tsx` into worker threads, so a
 * tiny bootstrap registers tsx in the worker before importing it.
 */
function spawnModuleWorker(builtUrl: URL): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(builtUrl);
  const source = builtUrl.href.replace(/\.js$/, '.ts');
  return new Worker(`import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(source)}); });`, { eval: true });
}

/** Runs on the calling thread. Fine for tests and small fabrics. */
export class InlinePreparer implements SnapshotPreparer {
  constructor(private readonly options: PrepareOptions = { prometheusFabric: true }) {}
  async prepare(body: Uint8Array, timestamp: number): Promise<PrepareResult> {
    return prepareSnapshot(body, timestamp, this.options);
  }
  async close(): Promise<void> {}
}

export interface WorkerRequest {
  readonly id: number;
  readonly body: Uint8Array;
  readonly timestamp: number;
  readonly options: PrepareOptions;
}
export interface WorkerResponse {
  readonly id: number;
  readonly result: PrepareResult;
}

/**
 * One long-lived worker. Polls never overlap, so one job is in flight at a time; the body goes in
 * and the value and JSON buffers come back as transfers, not copies. A worker that dies fails the
 * job in flight and is replaced on the next call.
 */
export class WorkerPreparer implements SnapshotPreparer {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: PrepareResult) => void; reject: (e: Error) => void }>();
  private closed = false;

  constructor(private readonly options: PrepareOptions = { prometheusFabric: true }) {}

  prepare(body: Uint8Array, timestamp: number): Promise<PrepareResult> {
    if (this.closed) return Promise.reject(new Error('snapshot worker closed'));
    const worker = this.worker ?? this.spawn();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const request: WorkerRequest = { id, body, timestamp, options: this.options };
      const whole = body.byteOffset === 0 && body.byteLength === body.buffer.byteLength;
      worker.postMessage(request, whole && body.buffer instanceof ArrayBuffer ? [body.buffer] : []);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = undefined;
    if (worker !== undefined) await worker.terminate();
    this.failAll(new Error('snapshot worker closed'));
  }

  private spawn(): Worker {
    const worker = spawnModuleWorker(new URL('./prepare-worker.js', import.meta.url));
    worker.unref();
    worker.on('message', (message: WorkerResponse) => {
      const job = this.pending.get(message.id);
      this.pending.delete(message.id);
      job?.resolve(message.result);
    });
    const lost = (err: Error): void => {
      if (this.worker === worker) this.worker = undefined;
      this.failAll(err);
    };
    worker.on('error', lost);
    worker.on('exit', (code) => lost(new Error(`snapshot worker exited with code ${code}`)));
    this.worker = worker;
    return worker;
  }

  private failAll(err: Error): void {
    for (const job of this.pending.values()) job.reject(err);
    this.pending.clear();
  }
}
