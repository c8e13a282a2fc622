/**
 * The history in its own worker thread (history-worker.ts), as the main thread sees it. Each
 * published snapshot is handed over as its column block, which is shared memory when the ingestion
 * worker made it: the main thread copies nothing and encodes nothing. Queries go over by message and
 * their JSON bodies come back as strings (copied). The figures Status and `/metrics` read are cached here from
 * the worker's posts after each append, so reading them never waits on the worker.
 *
 * A worker that dies (an uncaught error, an out-of-memory abort) is logged with its reason and started
 * again, which loads the last checkpoint: what was appended since then is lost, and the log says from
 * when. Queries in flight fail (the route answers 500); the server keeps serving throughout.
 */
import { Worker } from 'node:worker_threads';
import type { Logger } from '../../../common/logger.js';
import { PendingRequests, spawnModuleWorker } from '../../../common/worker-thread.js';
import type { SnapshotReader } from '../store/reader.js';
import type { Snapshot } from '../snapshot/snapshot.js';
import type { HistoryAnswer, HistoryQuery } from './answers.js';
import type { CheckpointStatus } from './checkpoint-file.js';
import type { HistoryService } from './history-service.js';
import type { HistoryStats } from './history-store.js';
import type { AnswerMessage, DoneMessage, FromHistoryWorker, ToHistoryWorker } from './history-protocol.js';
import type { HistorySettings } from './local-history.js';

/** A worker that died this soon after the previous start is started again only after this long (no spin on a worker that dies at start). */
export const HISTORY_RESTART_BACKOFF_MS = 1000;

/** Longest a stop waits for the worker's last checkpoint before ending it anyway (a hung worker must not hang a shutdown). */
export const HISTORY_STOP_TIMEOUT_MS = 60_000;

const EMPTY_STATS: HistoryStats = { samples: 0, bytes: 0, chunks: 0, oldest: null, newest: null, snapshots: 0, earlyDrops: { samples: 0, chunks: 0, lastAt: null }, skipped: 0, failedAppends: 0 };

/** The main thread's side of the history worker. */
export class HistoryThread implements HistoryService {
  private worker: Worker | undefined;
  private ready: Promise<void> | undefined;
  private readonly requests = new PendingRequests<AnswerMessage | DoneMessage>();
  private cachedStats: HistoryStats = EMPTY_STATS;
  private cachedCheckpoint: CheckpointStatus | null = null;
  private closing = false;
  private stopping: Promise<void> | undefined;
  private startedAtMs = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  /** Worker restarts after a crash, since start. */
  restarts = 0;

  constructor(
    private readonly settings: HistorySettings,
    private readonly logger: Logger,
    private readonly moduleUrl: URL = new URL('./history-worker.js', import.meta.url),
  ) {}

  /** Starts the worker; resolves once it has loaded the checkpoint. */
  start(): Promise<void> {
    this.spawn();
    return this.ready!;
  }

  follow(reader: SnapshotReader): () => void {
    return reader.onPublish((snapshot) => this.append(snapshot));
  }

  /** Hands `snapshot` to the worker (its block is shared memory: nothing is copied). */
  append(snapshot: Snapshot): void {
    this.send({ kind: 'append', version: snapshot.version, term: snapshot.term, ingestedAtMs: snapshot.ingestedAtMs, block: snapshot.block });
  }

  stats(): HistoryStats {
    return this.cachedStats;
  }

  checkpointStatus(): CheckpointStatus | null {
    return this.cachedCheckpoint;
  }

  async answer(query: HistoryQuery): Promise<HistoryAnswer> {
    const message = await this.request((id) => ({ kind: 'query', id, query }));
    if (message.kind !== 'answer') throw new Error(`history worker answered a query with '${message.kind}'`);
    return message.answer;
  }

  async idle(): Promise<void> {
    await this.request((id) => ({ kind: 'idle', id }));
  }

  /** Writes the last checkpoint in the worker (after every snapshot handed over), then ends it. */
  stop(): Promise<void> {
    this.stopping ??= this.stopOnce();
    return this.stopping;
  }

  private async stopOnce(): Promise<void> {
    if (this.restartTimer !== undefined) clearTimeout(this.restartTimer);
    let timer: NodeJS.Timeout | undefined;
    try {
      if (this.worker !== undefined) {
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${HISTORY_STOP_TIMEOUT_MS / 1000} s; ending it`)), HISTORY_STOP_TIMEOUT_MS);
        });
        await Promise.race([this.request((id) => ({ kind: 'stop', id })), timeout]);
      }
    } catch (err) {
      this.logger.error(`the history worker could not write its last checkpoint: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      if (timer !== undefined) clearTimeout(timer);
    }
    this.closing = true;
    const worker = this.worker;
    this.worker = undefined;
    if (worker !== undefined) await worker.terminate();
    this.requests.failAll(new Error('history worker stopped'));
  }

  /** Ends the worker thread as a crash would (tests and the soak's fault injection): it is restarted. */
  async crashForTest(): Promise<void> {
    await this.worker?.terminate();
  }

  private send(message: ToHistoryWorker): void {
    if (this.closing) return;
    // Between a crash and the restart (backoff), snapshots have nowhere to go: they are lost like the rest since the checkpoint.
    this.worker?.postMessage(message);
  }

  private request(make: (id: number) => ToHistoryWorker): Promise<FromHistoryWorker> {
    if (this.closing) return Promise.reject(new Error('history worker stopped'));
    if (this.worker === undefined) return Promise.reject(new Error('history worker is restarting'));
    return this.requests.post(this.worker, make);
  }

  private spawn(): void {
    const worker = spawnModuleWorker(this.moduleUrl);
    // A history worker must not keep the process alive on its own.
    worker.unref();
    this.worker = worker;
    this.startedAtMs = Date.now();
    let settled = false;
    this.ready = new Promise<void>((resolve) => {
      worker.on('message', (message: FromHistoryWorker) => {
        this.receive(message);
        if (message.kind === 'ready') {
          settled = true;
          resolve();
        }
      });
      worker.on('error', (err) => {
        this.logger.error(`the history worker failed: ${err.stack ?? err.message}`);
      });
      worker.on('exit', (code) => {
        if (this.worker === worker) this.worker = undefined;
        this.requests.failAll(new Error(`history worker exited with code ${code}`));
        if (!settled) {
          settled = true;
          // At start: the server starts without a history rather than not at all.
          this.logger.error(`the history worker exited with code ${code} while loading; the history starts empty in a new worker`);
          resolve();
        }
        if (!this.closing) this.restart(code);
      });
    });
    worker.postMessage({ kind: 'init', settings: this.settings } satisfies ToHistoryWorker);
  }

  private restart(code: number): void {
    this.restarts += 1;
    const saved = this.cachedCheckpoint?.last_saved_at ?? this.cachedCheckpoint?.load?.['written_at'] ?? null;
    const since = saved === null ? 'everything it held is lost (no checkpoint was written)' : `samples appended after the checkpoint of ${new Date(Number(saved) * 1000).toISOString()} are lost`;
    const wait = Math.max(0, this.startedAtMs + HISTORY_RESTART_BACKOFF_MS - Date.now());
    this.logger.error(`the history worker exited with code ${code}: restarting it${wait > 0 ? ` in ${wait} ms` : ''} from the last checkpoint; ${since}`);
    this.cachedStats = EMPTY_STATS;
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.closing) return;
      this.spawn();
      void this.ready!.then(() => this.logger.info('the history worker restarted', { samples: this.cachedStats.samples, oldest: this.cachedStats.oldest }));
    }, wait);
    this.restartTimer.unref();
  }

  private receive(message: FromHistoryWorker): void {
    switch (message.kind) {
      case 'stats':
        this.cache(message);
        return;
      case 'log':
        this.logger.log(message.level, message.message, message.fields);
        return;
      case 'answer':
      case 'done':
      case 'failed':
        if (message.kind === 'done') this.cache(message);
        this.requests.receive(message);
        return;
      case 'ready':
        this.cache(message);
        return;
    }
  }

  private cache(message: { readonly stats: HistoryStats; readonly checkpoint: CheckpointStatus | null }): void {
    this.cachedStats = message.stats;
    this.cachedCheckpoint = message.checkpoint;
  }
}
