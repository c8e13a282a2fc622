/**
 * The messages between the main thread and the ingestion worker, in one module both sides import
 * (the worker never imports the main thread's client, nor the client the worker's entry).
 */
import type { BodyEncoding, BodyFormat } from '../parse-outcome.js';
import type { PrepareResult } from '../prepare.js';

/** The ingestion worker's nice value on Linux: below the main thread, which answers requests. */
export const INGEST_WORKER_NICE = 10;

/**
 * Parse one body (transferred to the worker when it owns its buffer). With `base` (the current
 * snapshot's block, in shared memory, so nothing is copied), the body is a delta applied to it.
 */
export interface PrepareRequest {
  readonly kind: 'prepare';
  readonly id: number;
  readonly body: Uint8Array;
  readonly format: BodyFormat;
  /** `raw` when absent. */
  readonly encoding?: BodyEncoding;
  readonly base?: Uint8Array;
}

/** The result of a prepare request; its block is in shared memory, so nothing is copied back. */
export interface PrepareAnswer {
  readonly kind: 'prepared';
  readonly id: number;
  readonly result: PrepareResult;
}
