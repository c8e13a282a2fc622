/**
 * The history in its worker thread (history/history-thread.ts): answers through the worker are the
 * very bytes the in-process history gives for the same snapshots; Status figures arrive from the
 * worker after appends; a worker that dies is logged with what is lost and restarted from the last
 * checkpoint while the server keeps serving; and a stop writes the checkpoint only after every
 * snapshot handed over is in it.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { AGGREGATE_FNS } from '../src/history/aggregate-fns.js';
import type { HistoryAnswer, HistoryQuery } from '../src/history/answers.js';
import { decodeCheckpoint } from '../src/history/checkpoint-codec.js';
import { HistoryThread } from '../src/history/history-thread.js';
import { LocalHistory, type HistorySettings } from '../src/history/local-history.js';
import { startMetricsServer } from '../src/metrics-server.js';
import type { Snapshot } from '../src/snapshot/snapshot.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { contentFromCsv, csvHandler, fakeUpstream, memoryLogger, testConfig } from './helpers.js';

const METRICS = ['bandwidth_mbps', 'latency_ms', 'packet_errors', 'link_status', 'tx_queue_depth', 'utilization_percent'] as const;

/** A small deterministic generator (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A CSV of `switches` switches with random values of every number kind (integers, 1 and 2 decimals, flags that rarely change). */
function randomCsv(rnd: () => number, switches: number): string {
  const rows = [`switch_id,${METRICS.join(',')}`];
  for (let i = 1; i <= switches; i++) {
    const bandwidth = Math.floor(rnd() * 100_000);
    const latency = (Math.floor(rnd() * 2000) / 100).toFixed(2);
    const errors = rnd() < 0.9 ? 0 : Math.floor(rnd() * 5);
    const link = rnd() < 0.95 ? 1 : 0;
    const queue = Math.floor(rnd() * 1024);
    const util = (Math.floor(rnd() * 1000) / 10).toFixed(1);
    rows.push(`sw${i},${bandwidth},${latency},${errors},${link},${queue},${util}`);
  }
  return `${rows.join('\n')}\n`;
}

/** `count` snapshots 5 s apart (with gaps), ending at `lastSeconds`; the fabric grows by a switch half way. */
function snapshots(seed: number, count: number, lastSeconds: number): Snapshot[] {
  const rnd = random(seed);
  const store = new MemoryStore();
  const out: Snapshot[] = [];
  let t = lastSeconds - count * 6;
  for (let i = 0; i < count; i++) {
    t += rnd() < 0.1 ? 15 : 5; // a missed poll now and then: a gap
    out.push(store.publishNow(contentFromCsv(randomCsv(rnd, i < count / 2 ? 12 : 13), t * 1000)));
  }
  return out;
}

const text = (answer: HistoryAnswer): string => (answer.ok ? `200 ${answer.body}` : `${answer.status} ${answer.message}`);

/** Every kind of question over the span `[first, last]`, including refusals the history decides. */
function queries(first: number, last: number): HistoryQuery[] {
  const none = { switch: false, metric: false };
  const out: HistoryQuery[] = [];
  const windows: [number, number][] = [
    [first, last],
    [first + 7, last - 3],
    [last - 60, last],
    [last - 5, last - 5],
  ];
  for (const [from, to] of windows) {
    for (const fn of AGGREGATE_FNS) {
      out.push({ kind: 'top', metric: 'latency_ms', fn, window: `${to - from}s`, k: 5, order: 'desc', from, to, known: none });
      out.push({ kind: 'top', metric: 'packet_errors', fn, window: `${to - from}s`, k: 13, order: 'asc', from, to, known: none });
      out.push({ kind: 'aggregate', metric: 'utilization_percent', fn, window: `${to - from}s`, switch: null, from, to, known: none });
      out.push({ kind: 'aggregate', metric: 'bandwidth_mbps', fn, window: `${to - from}s`, switch: 'sw13', from, to, known: none });
    }
    out.push({ kind: 'getHistory', switch: 'sw3', metric: 'latency_ms', since: from, until: to, step: null, maxPoints: 11_000, suggestedStep: '1m', tooManyBuckets: null, known: none });
    out.push({ kind: 'getHistory', switch: 'sw13', metric: 'link_status', since: from, until: to, step: 30, maxPoints: 11_000, suggestedStep: '', tooManyBuckets: null, known: none });
  }
  out.push({ kind: 'getHistory', switch: 'sw2', metric: 'tx_queue_depth', since: first, until: last, step: null, maxPoints: 10, suggestedStep: '5m', tooManyBuckets: null, known: none });
  out.push({ kind: 'getHistory', switch: 'sw404', metric: 'latency_ms', since: first, until: last, step: null, maxPoints: 10, suggestedStep: '5m', tooManyBuckets: null, known: none });
  out.push({ kind: 'getHistory', switch: 'sw1', metric: 'latency_ms', since: first, until: last, step: 1, maxPoints: 10, suggestedStep: '', tooManyBuckets: 'step=1s makes too many buckets', known: none });
  out.push({ kind: 'top', metric: 'no_such_metric', fn: 'max', window: '1h', k: 3, order: 'desc', from: first, to: last, known: none });
  return out;
}

const settings = (overrides: Partial<HistorySettings> = {}): HistorySettings => ({ retentionSeconds: 600, maxMemoryBytes: 64 * 1024 * 1024, checkpointPath: undefined, checkpointIntervalMs: 3_600_000, chunkSamples: 16, ...overrides });

test('answers through the worker are the in-process history\'s answers, byte for byte, with retention cutting chunks', async () => {
  const { logger } = memoryLogger();
  const local = new LocalHistory(settings(), logger);
  const worker = new HistoryThread(settings(), logger);
  await Promise.all([local.start(), worker.start()]);
  try {
    const all = snapshots(12, 150, 1_766_500_000);
    // In groups below MAX_PENDING_APPENDS: a burst beyond it is skipped by design (history-store.ts).
    for (let i = 0; i < all.length; i++) {
      void local.append(all[i]!);
      worker.append(all[i]!);
      if (i % 5 === 4) await Promise.all([local.idle(), worker.idle()]);
    }
    await Promise.all([local.idle(), worker.idle()]);
    assert.equal(local.stats().skipped, 0);
    // The retention (600 s) cut the oldest of the 150 snapshots: chunks were dropped and one was cut.
    assert.ok(local.stats().oldest! > all[0]!.timestamp);
    assert.deepEqual(worker.stats(), local.stats());
    const first = local.stats().oldest!;
    const last = all[all.length - 1]!.timestamp;
    const asked = queries(first, last);
    const refusals = { 400: 0, 404: 0 };
    for (const query of asked) {
      const [mine, theirs] = await Promise.all([local.answer(query), worker.answer(query)]);
      assert.equal(text(theirs), text(mine), JSON.stringify(query));
      if (!mine.ok) refusals[mine.status] += 1;
    }
    // The refusals were asked and given: too many samples, too many buckets, unknown switch and metric.
    assert.deepEqual(refusals, { 400: 2, 404: 2 });
  } finally {
    await Promise.all([local.stop(), worker.stop()]);
  }
});

test('a stop writes the checkpoint after every snapshot handed over, and a new worker serves it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'history-worker-'));
  const path = join(dir, 'history.bin');
  const { logger } = memoryLogger();
  try {
    const now = Math.floor(Date.now() / 1000);
    const all = snapshots(7, 40, now);
    const first = new HistoryThread(settings({ checkpointPath: path }), logger);
    await first.start();
    for (let i = 0; i < 34; i++) {
      first.append(all[i]!);
      if (i % 5 === 4) await first.idle();
    }
    await first.idle();
    // The last 6 handed over and stopped at once: the stop waits for their appends before it writes.
    for (let i = 34; i < 40; i++) first.append(all[i]!);
    await first.stop();
    assert.equal(first.stats().skipped, 0);
    const decoded = decodeCheckpoint(await readFile(path));
    assert.ok(decoded.ok, decoded.ok ? '' : decoded.reason);
    const snapshotsInFile = decoded.chunks.reduce((n, c) => n + c.count - c.start, 0);
    assert.equal(snapshotsInFile, 40);

    const second = new HistoryThread(settings({ checkpointPath: path }), logger);
    await second.start();
    try {
      assert.equal(second.stats().snapshots, 40);
      assert.equal(second.checkpointStatus()?.load?.['outcome'], 'loaded');
      const query: HistoryQuery = { kind: 'getHistory', switch: 'sw5', metric: 'latency_ms', since: all[0]!.timestamp, until: all[all.length - 1]!.timestamp, step: null, maxPoints: 11_000, suggestedStep: '1m', tooManyBuckets: null, known: { switch: false, metric: false } };
      const answer = await second.answer(query);
      const body = JSON.parse(text(answer).slice(4)) as { samples: { timestamp: number; value: number }[] };
      assert.deepEqual(
        body.samples.map((s) => s.timestamp),
        all.map((s) => s.timestamp),
      );
    } finally {
      await second.stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a crashed worker is logged with what was lost and restarted from the last checkpoint; the server keeps serving', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'history-worker-'));
  const path = join(dir, 'history.bin');
  const upstream = await fakeUpstream(csvHandler('switch_id,latency_ms\nsw1,1.5\nsw2,2.25\n'));
  const { logger, sink } = memoryLogger('INFO');
  const config = testConfig({ generatorUrl: upstream.url, pollIntervalMs: 50 });
  let thread: HistoryThread | undefined;
  const server = await startMetricsServer(
    { ...config, history: { ...config.history, checkpointPath: path, checkpointIntervalMs: 3_600_000 } },
    {
      logger,
      history: (s, log) => {
        thread = new HistoryThread(s, log);
        return thread;
      },
    },
  );
  try {
    const waitFor = async (what: string, ok: () => boolean | Promise<boolean>): Promise<void> => {
      const deadline = Date.now() + 10_000;
      while (!(await ok())) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    await waitFor('two snapshots in the history', () => server.history!.stats().snapshots >= 2);
    await thread!.crashForTest();
    // Between the crash and the restart the server answers: GetMetric as ever, the history with a 500 or from the new worker.
    const live = await fetch(`${server.url}/telemetry/GetMetric?switch=sw1&metric=latency_ms`);
    assert.equal(live.status, 200);
    await waitFor('the restart', () => thread!.restarts === 1 && sink.lines.some((l) => l.includes('the history worker restarted')));
    logger.flush();
    const crashLine = sink.lines.find((l) => l.includes('the history worker exited with code'));
    assert.ok(crashLine !== undefined, sink.lines.join('\n'));
    // No checkpoint had been written yet: the log says everything was lost.
    assert.match(crashLine, /restarting it.*from the last checkpoint; everything it held is lost \(no checkpoint was written\)/);
    // The new worker takes the snapshots polled since, and answers.
    await waitFor('snapshots in the new worker', () => server.history!.stats().snapshots >= 1);
    const res = await fetch(`${server.url}/telemetry/GetHistory?switch=sw2&metric=latency_ms&since=-1m`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { samples: { value: number }[] };
    assert.ok(body.samples.length >= 1 && body.samples.every((s) => s.value === 2.25));
    // The graceful stop writes the new worker's history as the checkpoint.
    await server.stop();
    const decoded = decodeCheckpoint(await readFile(path));
    assert.ok(decoded.ok && decoded.chunks.length > 0);
  } finally {
    await server.stop();
    await upstream.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a snapshot the worker cannot read is logged with its reason and left out; the worker carries on', async () => {
  const { logger, sink } = memoryLogger();
  const worker = new HistoryThread(settings(), logger);
  await worker.start();
  try {
    const good = snapshots(3, 2, 1_766_500_000);
    worker.append(good[0]!);
    // Not a column block: what a bug upstream could hand over.
    const broken = { version: 99, term: 0, ingestedAtMs: good[0]!.ingestedAtMs + 1000, block: new Uint8Array(64) } as unknown as Snapshot;
    worker.append(broken);
    worker.append(good[1]!);
    await worker.idle();
    logger.flush();
    assert.equal(worker.stats().snapshots, 2);
    assert.ok(sink.lines.some((l) => /ERROR.*snapshot v99 could not be read for the history: .+; it is left out/.test(l)), sink.lines.join('\n'));
    assert.equal(worker.restarts, 0);
  } finally {
    await worker.stop();
  }
});
