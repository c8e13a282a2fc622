/** The ingestion worker yields the CPU to the main thread, which answers requests. */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { test } from 'node:test';
import { WORKER_NICE, WorkerPreparer } from '../src/ingest/snapshot-preparer.js';
import { SEED_CSV } from './helpers.js';

test('the ingestion worker runs at a lower CPU priority than the main thread (Linux)', { skip: process.platform !== 'linux' && 'thread priorities are read from /proc (Linux only)' }, async (t) => {
  // Field 19 of /proc/<pid>/task/<tid>/stat is the nice value; the command name (field 2) may hold spaces.
  const niceOfThreads = (): number[] =>
    readdirSync('/proc/self/task').map((tid) => Number(readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ')[16]));
  const before = niceOfThreads();
  const worker = new WorkerPreparer();
  t.after(() => worker.close());
  assert.ok((await worker.prepare(Buffer.from(SEED_CSV), 1766501919)).ok);
  const after = niceOfThreads();
  assert.equal(after.filter((n) => n === WORKER_NICE).length, before.filter((n) => n === WORKER_NICE).length + 1, 'one more thread at the worker nice value');
  assert.equal(Number(readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ')[16]), before[0], 'the main thread keeps its priority');
});
