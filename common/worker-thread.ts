/**
 * Long-lived worker threads that answer numbered requests: the metrics server's ingestion worker
 * (parse) and render worker (views) both run on this. The main-thread side (`WorkerClient`) spawns
 * the worker on first use, matches answers to requests by id, fails what is in flight when the worker
 * dies and spawns a fresh one on the next request. The worker side (`serveRequests`) runs one handler
 * per message and reports a thrown error as a `failed` answer instead of dying. The bookkeeping of
 * requests in flight (`PendingRequests`) is also the history worker's (history-thread.ts), whose
 * lifecycle (a checkpoint to load first, restarts with backoff) is its own.
 */
import { setPriority } from 'node:os';
import { Worker, parentPort } from 'node:worker_threads';

/** Every request carries an id; its answer carries the same id. */
export interface WorkerRequest {
  readonly id: number;
}

/** An answer: the handler's own kinds, or `failed` with a message (turned into a rejection). */
export interface WorkerAnswer {
  readonly id: number;
  readonly kind: string;
}

/** The answer a worker sends when its handler threw. */
export interface FailedAnswer extends WorkerAnswer {
  readonly kind: 'failed';
  readonly error: string;
}

/**
 * Starts a worker from a module. When built, that is a plain `.js` file. Under tsx (tests) it is a
 * `.ts` file, and Node 20 does not carry `--import tsx` into worker threads, so a tiny bootstrap
 * registers tsx in the worker before importing it.
 */
export function spawnModuleWorker(builtUrl: URL): Worker {
  if (!builtUrl.href.endsWith('.ts') && !import.meta.url.endsWith('.ts')) return new Worker(builtUrl);
  const source = builtUrl.href.replace(/\.js$/, '.ts');
  return new Worker(`import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(source)}); });`, { eval: true });
}

/**
 * Lowers the calling thread's CPU priority (Linux): background work yields the core to the main
 * thread, which answers requests. On Linux `setpriority` on the calling thread (who = 0) affects
 * that thread only; elsewhere it would renice the whole process, so it is Linux only.
 */
export function lowerThreadPriority(nice: number): void {
  if (process.platform !== 'linux') return;
  try {
    setPriority(nice);
  } catch {
    // Not permitted here (an unusual sandbox): run at normal priority.
  }
}

interface Pending<A> {
  readonly resolve: (answer: A) => void;
  readonly reject: (err: Error) => void;
}

/**
 * The requests in flight to one worker, by id: posting a request made for a fresh id, settling it
 * when its answer comes back, failing all of them when the worker is lost. `WorkerClient` and the
 * history's thread (whose worker also sends messages that answer nothing, and restarts) share it.
 */
export class PendingRequests<A extends WorkerAnswer> {
  private nextId = 1;
  private readonly pending = new Map<number, Pending<A>>();

  /** Posts the message `make` builds for a fresh id to `worker`; resolves with the answer `settle` is given for that id. */
  post(worker: Worker, make: (id: number) => unknown, transfer: readonly ArrayBuffer[] = []): Promise<A> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage(make(id), [...transfer]);
    });
  }

  /** Settles the request `answer` names: rejected for a `failed` answer, else resolved (nothing when no request waits on it). */
  receive(answer: A | FailedAnswer): void {
    const job = this.pending.get(answer.id);
    this.pending.delete(answer.id);
    if (answer.kind === 'failed') job?.reject(new Error((answer as FailedAnswer).error));
    else job?.resolve(answer as A);
  }

  /** Rejects every request in flight (the worker is gone). */
  failAll(err: Error): void {
    for (const job of this.pending.values()) job.reject(err);
    this.pending.clear();
  }
}

/** The main-thread side of one long-lived worker. */
export class WorkerClient<Q extends WorkerRequest, A extends WorkerAnswer> {
  private worker: Worker | undefined;
  private readonly requests = new PendingRequests<A>();
  private closed = false;

  /**
   * @param moduleUrl the worker's module (built `.js`; its `.ts` twin under tsx).
   * @param name for error messages: "<name> worker exited with code 1".
   */
  constructor(
    private readonly moduleUrl: URL,
    private readonly name: string,
  ) {}

  /** Sends a request made for a fresh id; resolves with its answer, rejects on `failed` or a lost worker. */
  request(make: (id: number) => Q, transfer: readonly ArrayBuffer[] = []): Promise<A> {
    if (this.closed) return Promise.reject(new Error(`${this.name} worker closed`));
    return this.requests.post(this.worker ?? this.spawn(), make, transfer);
  }

  /** Starts the worker now rather than on the first request (its module load then costs no request anything). */
  warm(): void {
    if (!this.closed && this.worker === undefined) this.spawn();
  }

  /** Terminates the worker and fails whatever is in flight. */
  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = undefined;
    if (worker !== undefined) await worker.terminate();
    this.requests.failAll(new Error(`${this.name} worker closed`));
  }

  private spawn(): Worker {
    const worker = spawnModuleWorker(this.moduleUrl);
    // An idle worker must not keep the process alive.
    worker.unref();
    worker.on('message', (answer: A | FailedAnswer) => this.requests.receive(answer));
    const lost = (err: Error): void => {
      if (this.worker === worker) this.worker = undefined;
      this.requests.failAll(err);
    };
    worker.on('error', lost);
    worker.on('exit', (code) => lost(new Error(`${this.name} worker exited with code ${code}`)));
    this.worker = worker;
    return worker;
  }
}

/**
 * The worker side: answers each request with `handle`'s answer and transfer list. A handler that
 * throws or rejects gets a `failed` answer naming `what` went wrong; the worker carries on.
 */
export function serveRequests<Q extends WorkerRequest, A extends WorkerAnswer>(
  what: string,
  handle: (request: Q) => Promise<{ readonly answer: A; readonly transfer?: readonly ArrayBuffer[] }> | { readonly answer: A; readonly transfer?: readonly ArrayBuffer[] },
): void {
  const port = parentPort;
  if (port === null) throw new Error(`${what} must run in a worker thread`);
  port.on('message', (request: Q) => {
    void (async () => {
      try {
        const { answer, transfer } = await handle(request);
        port.postMessage(answer, [...(transfer ?? [])]);
      } catch (err) {
        const failed: FailedAnswer = { id: request.id, kind: 'failed', error: `internal error while ${what}: ${err instanceof Error ? err.message : String(err)}` };
        port.postMessage(failed);
      }
    })();
  });
}

/** The ArrayBuffers of views that own their whole (non-shared) buffer: what a transfer list may take. */
export function ownedBuffers(views: readonly (ArrayBufferView | undefined)[]): ArrayBuffer[] {
  const buffers: ArrayBuffer[] = [];
  for (const view of views) {
    if (view !== undefined && view.buffer instanceof ArrayBuffer && view.byteOffset === 0 && view.byteLength === view.buffer.byteLength && !buffers.includes(view.buffer)) {
      buffers.push(view.buffer);
    }
  }
  return buffers;
}
