/**
 * The history as the rest of the server meets it, wherever it runs: in the history worker thread
 * (history-thread.ts, production) or on the calling thread (local-history.ts: tests, tools). The HTTP
 * routes, Status and `/metrics` see only this.
 */
import type { SnapshotReader } from '../store/reader.js';
import type { HistoryAnswer, HistoryQuery } from './answers.js';
import type { CheckpointStatus } from './checkpoint-file.js';
import type { HistoryStats } from './history-store.js';

/** What the history routes, Status and `/metrics` read. */
export interface HistoryQueries {
  /** Samples, bytes, span and drops (from a cache refreshed after each append, when the history runs in a worker). */
  stats(): HistoryStats;
  /** The answer to one query; rejects only when the history itself broke (the route answers 500). */
  answer(query: HistoryQuery): Promise<HistoryAnswer>;
}

/** A whole history: fed by a store, checkpointed, started and stopped by the composition root. */
export interface HistoryService extends HistoryQueries {
  /** Loads the checkpoint (if any) and starts the checkpoint timer; resolves once the history can be queried. */
  start(): Promise<void>;
  /** Appends every snapshot `reader` publishes from now on; returns the unsubscribe function. */
  follow(reader: SnapshotReader): () => void;
  /** Resolves when every snapshot handed over so far is committed (and the stats say so). */
  idle(): Promise<void>;
  /** Status's `checkpoint` section, or null without a checkpoint file. */
  checkpointStatus(): CheckpointStatus | null;
  /** Writes the last checkpoint (after every queued snapshot) and releases the history's resources. */
  stop(): Promise<void>;
}
