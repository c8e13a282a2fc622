/**
 * Where `prepareSnapshot` runs. Production uses a worker thread so parsing and serializing 100,000
 * switches never blocks a request; tests may run it inline. Both meet the poller through this
 * interface.
 *
 * Both also render the Prometheus fabric text on request (`FabricRenderer`): each keeps the parsed
 * columns of its latest successful job, so the first scrape of a snapshot costs one render there,
 * off the main thread and off the fetch→swap path, and a snapshot nobody scrapes costs nothing.
 */
import { Worker } from 'node:worker_threads';
import type { FabricRenderer } from '../views/fabric-exposition.js';
import { columnsWithoutTokens, renderFabricGzip, type FabricColumns, type SnapshotColumns } from '../views/prometheus-fabric.js';
import { ownedBuffers, prepareWithColumns, type PrepareOptions, type PrepareResult } from './prepare.js';

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

/** The latest job's columns, as both preparers keep them. */
export class RetainedColumns {
  private latest: { readonly job: number; readonly columns: FabricColumns } | undefined;

  keep(job: number, columns: FabricColumns | undefined): void {
    // A failed job leaves the served snapshot, and so the columns to keep, as they were.
    if (columns !== undefined) this.latest = { job, columns };
  }

  /** The gzip-compressed fabric text of `job`, or undefined when a later job replaced it. */
  async render(job: number, pause?: () => Promise<void>): Promise<Uint8Array | undefined> {
    const latest = this.latest;
    if (latest === undefined || latest.job !== job) return undefined;
    return renderFabricGzip(latest.columns, pause);
  }
}

/** Runs on the calling thread. Fine for tests and small fabrics. */
export class InlinePreparer implements SnapshotPreparer, FabricRenderer {
  private nextJob = 1;
  private readonly retained = new RetainedColumns();

  constructor(private readonly options: PrepareOptions = { prometheusFabric: true }) {}

  async prepare(body: Uint8Array, timestamp: number): Promise<PrepareResult> {
    const job = this.nextJob++;
    const { result, fabric } = prepareWithColumns(body, timestamp, this.options);
    this.retained.keep(job, fabric);
    return result.ok ? { ok: true, snapshot: { ...result.snapshot, job } } : result;
  }

  renderRetained(job: number): Promise<Uint8Array | undefined> {
    return this.retained.render(job);
  }

  renderColumns(columns: SnapshotColumns): Promise<Uint8Array> {
    return renderFabricGzip(columnsWithoutTokens(columns));
  }

  async close(): Promise<void> {}
}

export type WorkerRequest =
  | { readonly kind: 'prepare'; readonly id: number; readonly body: Uint8Array; readonly timestamp: number; readonly options: PrepareOptions }
  /** Render the fabric text of prepare job `job`, if the worker still holds its columns. */
  | { readonly kind: 'render-retained'; readonly id: number; readonly job: number }
  /** Render the fabric text from columns sent along (a snapshot whose job the worker no longer holds). */
  | { readonly kind: 'render-columns'; readonly id: number; readonly columns: SnapshotColumns };

export type WorkerResponse =
  | { readonly kind: 'prepared'; readonly id: number; readonly result: PrepareResult }
  /** `body` undefined: the worker does not hold that job's columns (any more). */
  | { readonly kind: 'rendered'; readonly id: number; readonly body: Uint8Array | undefined }
  | { readonly kind: 'failed'; readonly id: number; readonly error: string };

interface Pending {
  readonly resolve: (response: WorkerResponse) => void;
  readonly reject: (err: Error) => void;
}

/**
 * One long-lived worker. Polls never overlap, so one prepare job is in flight at a time; the body
 * goes in and the value and JSON buffers come back as transfers, not copies. Fabric renders share
 * the worker and pause between chunks, so a prepare job that arrives meanwhile runs first. A worker
 * that dies fails the jobs in flight and is replaced on the next call (the new one holds no
 * columns, so the next render is sent the snapshot's columns).
 */
export class WorkerPreparer implements SnapshotPreparer, FabricRenderer {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closed = false;

  constructor(private readonly options: PrepareOptions = { prometheusFabric: true }) {}

  async prepare(body: Uint8Array, timestamp: number): Promise<PrepareResult> {
    const whole = body.byteOffset === 0 && body.byteLength === body.buffer.byteLength && body.buffer instanceof ArrayBuffer;
    const response = await this.send((id) => ({ kind: 'prepare', id, body, timestamp, options: this.options }), whole ? [body.buffer] : []);
    if (response.kind !== 'prepared') throw new Error(`snapshot worker answered ${response.kind} to a prepare job`);
    const result = response.result;
    return result.ok ? { ok: true, snapshot: { ...result.snapshot, job: response.id } } : result;
  }

  async renderRetained(job: number): Promise<Uint8Array | undefined> {
    return rendered(await this.send((id) => ({ kind: 'render-retained', id, job })));
  }

  async renderColumns(columns: SnapshotColumns): Promise<Uint8Array> {
    const body = rendered(await this.send((id) => ({ kind: 'render-columns', id, columns }), ownedBuffers([columns.values, columns.idText, columns.idEnds])));
    if (body === undefined) throw new Error('snapshot worker rendered nothing from the columns sent');
    return body;
  }

  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = undefined;
    if (worker !== undefined) await worker.terminate();
    this.failAll(new Error('snapshot worker closed'));
  }

  private send(request: (id: number) => WorkerRequest, transfer: ArrayBuffer[] = []): Promise<WorkerResponse> {
    if (this.closed) return Promise.reject(new Error('snapshot worker closed'));
    const worker = this.worker ?? this.spawn();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage(request(id), transfer);
    });
  }

  private spawn(): Worker {
    const worker = spawnModuleWorker(new URL('./prepare-worker.js', import.meta.url));
    worker.unref();
    worker.on('message', (message: WorkerResponse) => {
      const job = this.pending.get(message.id);
      this.pending.delete(message.id);
      if (message.kind === 'failed') job?.reject(new Error(message.error));
      else job?.resolve(message);
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

function rendered(response: WorkerResponse): Uint8Array | undefined {
  if (response.kind !== 'rendered') throw new Error(`snapshot worker answered ${response.kind} to a render job`);
  return response.body;
}
