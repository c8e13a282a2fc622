/**
 * The history worker's entry: the history store, its queries and its checkpoint live on this thread,
 * so neither encoding a snapshot of 100,000 switches nor a Top over an hour of them ever holds the
 * main thread's event loop. It takes snapshots as their column blocks (shared memory, as the render
 * worker does), answers queries with JSON bodies (strings, copied), and posts its figures after each
 * append so that Status and `/metrics` read them without asking. Its log lines go to the main thread.
 */
import { parentPort } from 'node:worker_threads';
import { forwardingLogger } from '../../../common/logger.js';
import { lowerThreadPriority } from '../../../common/worker-thread.js';
import { Snapshot } from '../snapshot/snapshot.js';
import { LocalHistory } from './local-history.js';
import { HISTORY_WORKER_NICE, WORKER_QUERY_SLICE_MS, type FromHistoryWorker, type LogMessage, type ToHistoryWorker } from './history-protocol.js';

const port = parentPort;
if (port === null) throw new Error('the history worker must run in a worker thread');
lowerThreadPriority(HISTORY_WORKER_NICE);

const post = (message: FromHistoryWorker): void => port.postMessage(message);

/** Lines go to the main thread, which writes them with its own level and format. */
const logger = forwardingLogger((level, message, fields) => {
  const line: LogMessage = { kind: 'log', level, message, ...(fields !== undefined ? { fields } : {}) };
  post(line);
});
/** Settles once the checkpoint is loaded: every later message waits for it, in arrival order. */
let ready: Promise<LocalHistory> | undefined;
let previous: Snapshot | undefined;

const figures = (h: LocalHistory): { stats: ReturnType<LocalHistory['stats']>; checkpoint: ReturnType<LocalHistory['checkpointStatus']> } => ({ stats: h.stats(), checkpoint: h.checkpointStatus() });
const failure = (err: unknown): string => (err instanceof Error ? err.message : String(err));

port.on('message', (message: ToHistoryWorker) => {
  if (message.kind === 'init') {
    const made = new LocalHistory({ ...message.settings, querySliceMs: message.settings.querySliceMs ?? WORKER_QUERY_SLICE_MS }, logger, () => post({ kind: 'stats', ...figures(made) }));
    ready = made.start().then(() => {
      post({ kind: 'ready', ...figures(made) });
      return made;
    });
    return;
  }
  if (ready === undefined) throw new Error(`history worker: '${message.kind}' before 'init'`);
  void ready.then(async (h) => {
    switch (message.kind) {
      case 'append': {
        let made: ReturnType<typeof Snapshot.fromContent>;
        try {
          made = Snapshot.fromContent({ version: message.version, term: message.term }, { block: message.block, ingestedAtMs: message.ingestedAtMs }, previous);
        } catch (err) {
          made = { ok: false, reason: failure(err) };
        }
        if (!made.ok) {
          // Logged and left out; the worker carries on with the next snapshot.
          logger.error(`snapshot v${message.version} could not be read for the history: ${made.reason}; it is left out`);
          return;
        }
        previous = made.value;
        // Not awaited: the next message (a query) is taken between this append's slices.
        void h.append(made.value);
        return;
      }
      case 'query':
        try {
          const answer = await h.answer(message.query);
          post({ kind: 'answer', id: message.id, answer });
        } catch (err) {
          post({ kind: 'failed', id: message.id, error: `the history query failed: ${failure(err)}` });
        }
        return;
      case 'idle':
      case 'stop':
        try {
          if (message.kind === 'stop') await h.stop();
          else await h.idle();
          post({ kind: 'done', id: message.id, ...figures(h) });
        } catch (err) {
          post({ kind: 'failed', id: message.id, error: `history ${message.kind} failed: ${failure(err)}` });
        }
        return;
    }
  });
});
