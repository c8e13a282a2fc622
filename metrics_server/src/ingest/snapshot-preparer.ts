/**
 * Where `prepareSnapshot` runs. Production uses a worker thread so parsing and serializing 100,000
 * switches never blocks a request; tests may run it inline. Both meet the poller through this
 * interface.
 *
 * Both also render views on request (`ViewRenderer`): each keeps the parsed columns of its latest
 * successful job, so the first reader of a view of a snapshot costs one render there, off the main
 * thread and off the fetch→swap path, and a view nobody reads costs nothing.
 */
import { Worker } from 'node:worker_threads';
import type { FabricColumns, SnapshotColumns } from '../views/prometheus-fabric.js';
import { inlineViewRenderer, renderView, type ViewRenderer, type ViewSpec } from '../views/view-renderer.js';
import { ownedBuffers, prepareWithColumns, type PrepareOptions, type PrepareResult } from './prepare.js';

/** What a prepare job renders besides the snapshot itself. */
export interface PrepareJobOptions {
  /** Serialize the ListMetrics body in the job (someone reads it); default true. */
  readonly listMetrics: boolean;
}

/** The default job: everything rendered with the snapshot (what tests and tools want). */
export const FULL_JOB: PrepareJobOptions = { listMetrics: true };

export interface SnapshotPreparer {
  prepare(body: Uint8Array, timestamp: number, job?: PrepareJobOptions): Promise<PrepareResult>;
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

  constructor(private readonly options: PrepareOptions) {}

  keep(job: number, columns: FabricColumns | undefined): void {
    // A failed job leaves the served snapshot, and so the columns to keep, as they were.
    if (columns !== undefined) this.latest = { job, columns };
  }

  /** The view of `job`, or undefined when a later job replaced it (or the fabric series are off). */
  async render(job: number, spec: ViewSpec, pause?: () => Promise<void>): Promise<Uint8Array | undefined> {
    const latest = this.latest;
    if (latest === undefined || latest.job !== job) return undefined;
    if (spec.view === 'fabric-gzip' && !this.options.prometheusFabric) return undefined;
    return renderView(latest.columns, spec, pause);
  }
}

/** Runs on the calling thread. Fine for tests and small fabrics. */
export class InlinePreparer implements SnapshotPreparer, ViewRenderer {
  private nextJob = 1;
  private readonly retained: RetainedColumns;

  constructor(options: PrepareOptions = { prometheusFabric: true }) {
    this.retained = new RetainedColumns(options);
  }

  async prepare(body: Uint8Array, timestamp: number, job: PrepareJobOptions = FULL_JOB): Promise<PrepareResult> {
    const id = this.nextJob++;
    const { result, columns } = prepareWithColumns(body, timestamp, job.listMetrics);
    this.retained.keep(id, columns);
    return result.ok ? { ok: true, snapshot: { ...result.snapshot, job: id } } : result;
  }

  renderRetained(job: number, spec: ViewSpec): Promise<Uint8Array | undefined> {
    return this.retained.render(job, spec);
  }

  renderColumns(columns: SnapshotColumns, spec: ViewSpec): Promise<Uint8Array> {
    return inlineViewRenderer.renderColumns(columns, spec);
  }

  async close(): Promise<void> {}
}

/** The worker thread's nice value on Linux (prepare-worker.ts says why). */
export const WORKER_NICE = 10;

export type WorkerRequest =
  /** `options` configures the worker; every prepare job carries them (the first one is what counts). */
  | { readonly kind: 'prepare'; readonly id: number; readonly body: Uint8Array; readonly timestamp: number; readonly options: PrepareOptions; readonly job: PrepareJobOptions }
  /** Render a view of prepare job `job`, if the worker still holds its columns. */
  | { readonly kind: 'render-retained'; readonly id: number; readonly job: number; readonly spec: ViewSpec }
  /** Render a view from columns sent along (a snapshot whose job the worker no longer holds). */
  | { readonly kind: 'render-columns'; readonly id: number; readonly columns: SnapshotColumns; readonly spec: ViewSpec };

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
 * goes in and the value and JSON buffers come back as transfers, not copies. View renders share
 * the worker; fabric renders pause between chunks, so a prepare job that arrives meanwhile runs first. A worker
 * that dies fails the jobs in flight and is replaced on the next call (the new one holds no
 * columns, so the next render is sent the snapshot's columns).
 */
export class WorkerPreparer implements SnapshotPreparer, ViewRenderer {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closed = false;

  constructor(private readonly options: PrepareOptions = { prometheusFabric: true }) {}

  async prepare(body: Uint8Array, timestamp: number, job: PrepareJobOptions = FULL_JOB): Promise<PrepareResult> {
    const whole = body.byteOffset === 0 && body.byteLength === body.buffer.byteLength && body.buffer instanceof ArrayBuffer;
    const response = await this.send((id) => ({ kind: 'prepare', id, body, timestamp, options: this.options, job }), whole ? [body.buffer] : []);
    if (response.kind !== 'prepared') throw new Error(`snapshot worker answered ${response.kind} to a prepare job`);
    const result = response.result;
    return result.ok ? { ok: true, snapshot: { ...result.snapshot, job: response.id } } : result;
  }

  async renderRetained(job: number, spec: ViewSpec): Promise<Uint8Array | undefined> {
    return rendered(await this.send((id) => ({ kind: 'render-retained', id, job, spec })));
  }

  async renderColumns(columns: SnapshotColumns, spec: ViewSpec): Promise<Uint8Array> {
    const body = rendered(await this.send((id) => ({ kind: 'render-columns', id, columns, spec }), ownedBuffers([columns.values, columns.idText, columns.idEnds])));
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
