/** The messages between the main thread and the history worker, in one module both sides import. */
import type { FailedAnswer } from '../../../common/worker-thread.js';
import type { HistoryAnswer, HistoryQuery } from './answers.js';
import type { CheckpointStatus } from './checkpoint-file.js';
import type { HistoryStats } from './history-store.js';
import type { HistorySettings } from './local-history.js';

/** The history worker's nice value on Linux: background work, below the main thread that answers requests. */
export const HISTORY_WORKER_NICE = 10;

/**
 * Query slices in the worker: nothing there needs the loop back within a millisecond, but an append
 * or a short query waiting behind a long Top should not wait for its whole run.
 */
export const WORKER_QUERY_SLICE_MS = 5;

/** First message: make the history, load its checkpoint, start the timer; answered by `ready`. */
export interface InitMessage {
  readonly kind: 'init';
  readonly settings: HistorySettings;
}

/** A published snapshot: its identity and its column block (shared memory: not copied). No answer. */
export interface AppendMessage {
  readonly kind: 'append';
  readonly version: number;
  readonly term: number;
  readonly ingestedAtMs: number;
  readonly block: Uint8Array;
}

/** A query; answered by `answer` (the body a string, copied) or `failed`. */
export interface QueryMessage {
  readonly kind: 'query';
  readonly id: number;
  readonly query: HistoryQuery;
}

/** Answered (`done`) once every snapshot sent before is committed (`idle`) or once the last checkpoint is written (`stop`). */
export interface ControlMessage {
  readonly kind: 'idle' | 'stop';
  readonly id: number;
}

/** Main thread → worker. */
export type ToHistoryWorker = InitMessage | AppendMessage | QueryMessage | ControlMessage;

/** The history's figures, posted after start, after every committed append and with every answer to a control message. */
export interface StatsMessage {
  readonly kind: 'stats';
  readonly stats: HistoryStats;
  readonly checkpoint: CheckpointStatus | null;
}

/** The worker has loaded its checkpoint and takes snapshots and queries. */
export interface ReadyMessage {
  readonly kind: 'ready';
  readonly stats: HistoryStats;
  readonly checkpoint: CheckpointStatus | null;
}

/** One log line of the worker, written by the main thread's logger. */
export interface LogMessage {
  readonly kind: 'log';
  readonly level: 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR' | 'CRITICAL';
  readonly message: string;
  readonly fields?: Readonly<Record<string, unknown>>;
}

/** A query's answer. */
export interface AnswerMessage {
  readonly kind: 'answer';
  readonly id: number;
  readonly answer: HistoryAnswer;
}

/** A control message's answer, with the figures as they are then. */
export interface DoneMessage {
  readonly kind: 'done';
  readonly id: number;
  readonly stats: HistoryStats;
  readonly checkpoint: CheckpointStatus | null;
}

/** A query or control message that threw inside the worker (the same shape as every worker's `failed`). */
export type FailedMessage = FailedAnswer;

/** Worker → main thread. */
export type FromHistoryWorker = StatsMessage | ReadyMessage | LogMessage | AnswerMessage | DoneMessage | FailedMessage;
