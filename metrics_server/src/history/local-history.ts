/**
 * The history on the calling thread: a HistoryStore and its checkpoint file. The history worker runs
 * one of these (history-worker.ts); tests and tools may use one directly, and its answers are the
 * ones the worker's must equal.
 */
import type { Logger } from '../../../common/logger.js';
import type { SnapshotReader } from '../store/reader.js';
import type { Snapshot } from '../snapshot/snapshot.js';
import type { HistoryAnswer, HistoryQuery } from './answers.js';
import { Checkpointer, type CheckpointStatus } from './checkpoint-file.js';
import type { HistoryService } from './history-service.js';
import { HistoryStore, type HistoryOptions, type HistoryStats } from './history-store.js';

/** A history's settings, as config `history` gives them (minus `enabled`). */
export interface HistorySettings {
  readonly retentionSeconds: number;
  readonly maxMemoryBytes: number;
  /** The checkpoint file, or undefined for none. */
  readonly checkpointPath: string | undefined;
  readonly checkpointIntervalMs: number;
  /** Samples per series per chunk (tests; default DEFAULT_CHUNK_SAMPLES). */
  readonly chunkSamples?: number;
  /** Time budget of one query slice (default QUERY_SLICE_MS: on the main thread, short). */
  readonly querySliceMs?: number;
  /** Time budget of one append slice (default DEFAULT_SLICE_MS). */
  readonly appendSliceMs?: number;
}

/** The history's error message when an append failed midway. */
export function appendFailedMessage(err: unknown): string {
  return `a snapshot could not be appended to the history: ${err instanceof Error ? err.message : String(err)}; the open chunk is closed and the next snapshot starts a new one`;
}

/** A history store and its checkpoint, on this thread. */
export class LocalHistory implements HistoryService {
  readonly store: HistoryStore;
  readonly checkpointer: Checkpointer | undefined;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly settings: HistorySettings,
    logger: Logger,
    /** Told after each committed append (the worker posts the stats then). */
    private readonly onCommit?: () => void,
  ) {
    const options: HistoryOptions = {
      retentionSeconds: settings.retentionSeconds,
      maxMemoryBytes: settings.maxMemoryBytes,
      ...(settings.chunkSamples !== undefined ? { chunkSamples: settings.chunkSamples } : {}),
      ...(settings.appendSliceMs !== undefined ? { sliceMs: settings.appendSliceMs } : {}),
      onError: (err) => logger.error(appendFailedMessage(err)),
    };
    this.store = new HistoryStore(options);
    this.checkpointer = settings.checkpointPath === undefined ? undefined : new Checkpointer(this.store, settings.checkpointPath, settings.checkpointIntervalMs, logger);
  }

  async start(): Promise<void> {
    // Before the first snapshot can arrive: a restarted server serves the history it had.
    await this.checkpointer?.load();
    this.checkpointer?.start();
  }

  follow(reader: SnapshotReader): () => void {
    return reader.onPublish((snapshot) => void this.append(snapshot));
  }

  /** Queues `snapshot`; resolves once it is committed (or skipped). */
  async append(snapshot: Snapshot): Promise<void> {
    await this.store.append(snapshot);
    this.onCommit?.();
  }

  idle(): Promise<void> {
    return this.store.idle();
  }

  stats(): HistoryStats {
    return this.store.stats();
  }

  checkpointStatus(): CheckpointStatus | null {
    return this.checkpointer?.status() ?? null;
  }

  answer(query: HistoryQuery): Promise<HistoryAnswer> {
    return this.store.answer(query, this.settings.querySliceMs);
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await this.checkpointer?.stop();
      await this.store.idle();
    })();
    return this.stopping;
  }
}
