import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { LineBatcher } from '../line-batcher.js';

function target(): { writes: string[]; syncFlushes: number; write(chunk: string): boolean; flushSync(): void } {
  return {
    writes: [],
    syncFlushes: 0,
    write(chunk: string) {
      this.writes.push(chunk);
      return true;
    },
    flushSync() {
      this.syncFlushes += 1;
    },
  };
}

test('lines are handed on as one chunk once the batch size is reached, in order', () => {
  const t = target();
  const batcher = new LineBatcher(t, 20, 60_000);
  batcher.write('line one\n');
  batcher.write('line two\n');
  assert.deepEqual(t.writes, []);
  batcher.write('line three\n');
  assert.deepEqual(t.writes, ['line one\nline two\nline three\n']);
  batcher.flushSync();
});

test('a quiet batch is handed on after the flush interval, and nothing is written when idle', async () => {
  const t = target();
  const batcher = new LineBatcher(t, 8192, 20);
  batcher.write('only line\n');
  await sleep(60);
  assert.deepEqual(t.writes, ['only line\n']);
  await sleep(60);
  assert.deepEqual(t.writes, ['only line\n'], 'no empty writes while idle');
});

test('flushSync hands on what is pending and flushes the target', () => {
  const t = target();
  const batcher = new LineBatcher(t, 8192, 60_000);
  batcher.write('a\n');
  batcher.flushSync();
  assert.deepEqual(t.writes, ['a\n']);
  assert.equal(t.syncFlushes, 1);
  batcher.flushSync();
  assert.deepEqual(t.writes, ['a\n'], 'nothing pending: no write');
});
