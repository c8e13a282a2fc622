/**
 * Work cut into slices so the event loop stays responsive: a job is a generator that yields at
 * safe points; a runner resumes it until its time budget is spent, then gives the loop a turn
 * (`setImmediate`: pending I/O and requests run first) and carries on. The same job can be drained
 * in one go where there is no loop to protect (tests, tools).
 */

/** A job: yields wherever it may be paused. */
export type SlicedJob<T> = Generator<void, T, void>;

/** Default time budget of one append slice: well under the 5 ms an append may cost the event loop. */
export const DEFAULT_SLICE_MS = 3;
/**
 * Default budget of every other sliced job (queries, checkpoints): a request that arrives while a
 * heavy query runs waits for the rest of the slice. With 3 ms slices a GetMetric waited 5.5 ms at the
 * median under a back-to-back Top p99 loop (0.14 ms idle; 1,000 switches, bench/history-bench.ts);
 * with 0.25 ms, 0.42 ms. A turn of the loop between slices costs microseconds when nothing waits.
 * The server now runs the history in its worker (history-thread.ts), where queries take 5 ms slices
 * (WORKER_QUERY_SLICE_MS); this budget serves a history on the main thread (LocalHistory: tests, tools).
 */
export const QUERY_SLICE_MS = 0.5;

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Runs `job` in slices of about `budgetMs` each; resolves with its result. */
export async function runSliced<T>(job: SlicedJob<T>, budgetMs: number = QUERY_SLICE_MS): Promise<T> {
  for (;;) {
    const started = performance.now();
    for (;;) {
      const step = job.next();
      if (step.done === true) return step.value;
      if (performance.now() - started >= budgetMs) break;
    }
    await nextTurn();
  }
}

/** Runs `job` to the end at once. */
export function runNow<T>(job: SlicedJob<T>): T {
  for (;;) {
    const step = job.next();
    if (step.done === true) return step.value;
  }
}
