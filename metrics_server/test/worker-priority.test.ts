/** The ingestion, render and history workers yield the CPU to the main thread, which answers requests. */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { test } from 'node:test';
import { HISTORY_WORKER_NICE } from '../src/history/history-protocol.js';
import { HistoryThread } from '../src/history/history-thread.js';
import { INGEST_WORKER_NICE } from '../src/ingest/worker/protocol.js';
import { WorkerPreparer } from '../src/ingest/worker/preparer.js';
import { RENDER_WORKER_NICE } from '../src/views/render/protocol.js';
import { WorkerRenderer } from '../src/views/render/renderer.js';
import { SEED_CSV, memoryLogger, snapshotFromCsv } from './helpers.js';

test('the ingestion, render and history workers run at a lower CPU priority than the main thread (Linux)', { skip: process.platform !== 'linux' && 'thread priorities are read from /proc (Linux only)' }, async (t) => {
  // Field 19 of /proc/<pid>/task/<tid>/stat is the nice value; the command name (field 2) may hold spaces.
  const niceOfThreads = (): number[] =>
    readdirSync('/proc/self/task').map((tid) => Number(readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ')[16]));
  const niced = (): number => niceOfThreads().filter((n) => n === INGEST_WORKER_NICE).length;
  assert.equal(RENDER_WORKER_NICE, INGEST_WORKER_NICE);
  assert.equal(HISTORY_WORKER_NICE, INGEST_WORKER_NICE);
  const before = niced();
  const mainNice = Number(readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ')[16]);
  const preparer = new WorkerPreparer();
  t.after(() => preparer.close());
  assert.ok((await preparer.prepare(Buffer.from(SEED_CSV))).ok);
  assert.equal(niced(), before + 1, 'one more thread at the worker nice value: the ingestion worker');
  const renderer = new WorkerRenderer();
  t.after(() => renderer.close());
  assert.ok((await renderer.render('list-metrics.json', snapshotFromCsv(SEED_CSV))).length > 0);
  assert.equal(niced(), before + 2, 'and the render worker');
  const history = new HistoryThread({ retentionSeconds: 3600, maxMemoryBytes: 1 << 26, checkpointPath: undefined, checkpointIntervalMs: 3_600_000 }, memoryLogger().logger);
  t.after(() => history.stop());
  await history.start();
  assert.equal(niced(), before + 3, 'and the history worker');
  assert.equal(Number(readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ')[16]), mainNice, 'the main thread keeps its priority');
});
