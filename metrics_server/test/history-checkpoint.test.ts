/**
 * The history checkpoint (history/checkpoint-codec.ts, history/checkpoint-file.ts): a round trip
 * answers every question as the original did; a truncated file, a corrupt one (flipped bytes), one
 * from another format version and an unreadable one are each logged with their reason and set aside,
 * and the history starts empty; an unwritable path is logged and nothing crashes; a write killed
 * midway leaves the previous checkpoint intact; a whole server stopped and started again serves the
 * same history.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { AGGREGATE_FNS } from '../src/history/aggregate-fns.js';
import { CHECKPOINT_FORMAT_VERSION, decodeCheckpoint, encodeCheckpoint } from '../src/history/checkpoint-codec.js';
import { Checkpointer } from '../src/history/checkpoint-file.js';
import { HistoryStore } from '../src/history/history-store.js';
import { aggregateJob, seriesSamples, topJob } from '../src/history/queries.js';
import { runNow } from '../src/history/slices.js';
import { startMetricsServer } from '../src/metrics-server.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { contentFromCsv, csvHandler, fakeUpstream, memoryLogger, testConfig } from './helpers.js';

const T0 = 1_766_500_000;
const csv = (n: number, ids = 30): string =>
  `switch_id,bandwidth_mbps,latency_ms,link_status,sci\n${Array.from({ length: ids }, (_, i) => `sw${i},${(i * 977 + n * 131) % 100_000},${((i * 7 + n * 13) % 997) / 100},${(i + n) % 9 === 0 ? 0 : 1},${i + n}e-4`).join('\n')}\n`;

/** A history with packed and open chunks, a retention cut and a fabric change. */
function sampleHistory(): HistoryStore {
  const store = new MemoryStore();
  const history = new HistoryStore({ retentionSeconds: 300, maxMemoryBytes: 2 ** 30, chunkSamples: 8 });
  for (let n = 0; n < 70; n++) history.appendNow(store.publishNow(contentFromCsv(csv(n, n < 50 ? 30 : 25), (T0 + n * 5) * 1000)));
  return history;
}

/** Every answer the history gives, as one comparable value. */
function answers(history: HistoryStore): unknown {
  const chunks = history.view();
  const until = T0 + 69 * 5;
  const out: unknown[] = [history.stats().samples, history.stats().oldest];
  for (const metric of ['bandwidth_mbps', 'latency_ms', 'link_status', 'sci']) {
    for (const id of ['sw0', 'sw7', 'sw29']) out.push(seriesSamples(chunks, id, metric, 0, until));
    for (const fn of AGGREGATE_FNS) {
      out.push(runNow(aggregateJob(chunks, metric, fn, until - 300, until)));
      out.push(runNow(topJob(chunks, metric, fn, until - 200, until, 5, 'desc')));
    }
  }
  return out;
}

const tmp = (): string => mkdtempSync(join(tmpdir(), 'history-checkpoint-'));

test('round trip: a decoded checkpoint answers every question as the history it was written from', () => {
  const history = sampleHistory();
  const bytes = Buffer.concat(runNow(encodeCheckpoint(history.view(), 1234)));
  const decoded = decodeCheckpoint(bytes);
  assert.ok(decoded.ok, decoded.ok ? '' : decoded.reason);
  const restored = new HistoryStore({ retentionSeconds: 300, maxMemoryBytes: 2 ** 30, chunkSamples: 8 });
  restored.restore(decoded.chunks, T0 + 69 * 5);
  assert.deepEqual(answers(restored), answers(history));
  // Appending goes on after a restore: a new chunk after the restored ones.
  restored.appendNow(new MemoryStore().publishNow(contentFromCsv(csv(70, 25), (T0 + 70 * 5) * 1000)));
  assert.equal(seriesSamples(restored.view(), 'sw3', 'latency_ms', 0, T0 + 9999).at(-1)?.timestamp, T0 + 350);
});

test('a restore applies retention relative to now: a stale checkpoint keeps only what is still within it', () => {
  const bytes = Buffer.concat(runNow(encodeCheckpoint(sampleHistory().view(), 0)));
  const decoded = decodeCheckpoint(bytes);
  assert.ok(decoded.ok);
  const restored = new HistoryStore({ retentionSeconds: 300, maxMemoryBytes: 2 ** 30 });
  restored.restore(decoded.chunks, T0 + 69 * 5 + 100);
  assert.equal(restored.stats().oldest, T0 + 69 * 5 + 100 - 300);
  const empty = new HistoryStore({ retentionSeconds: 300, maxMemoryBytes: 2 ** 30 });
  empty.restore(decoded.chunks, T0 + 86400);
  assert.equal(empty.stats().samples, 0);
});

test('the file: saved and loaded; missing is normal; truncated, corrupt, other-version and unreadable files are set aside with their reason', async () => {
  const dir = tmp();
  const path = join(dir, 'history.bin');
  const { logger, sink } = memoryLogger();
  const now = (): number => (T0 + 69 * 5) * 1000;
  const fresh = (): HistoryStore => new HistoryStore({ retentionSeconds: 300, maxMemoryBytes: 2 ** 30, chunkSamples: 8 });

  const missing = new Checkpointer(fresh(), path, 60_000, logger, now);
  await missing.load();
  assert.equal(missing.status().load?.['outcome'], 'missing');

  const original = sampleHistory();
  const writer = new Checkpointer(original, path, 60_000, logger, now);
  await writer.save();
  assert.equal(writer.status().saves, 1);
  assert.equal(writer.status().last_error, null);
  const good = readFileSync(path);
  assert.ok(!existsSync(`${path}.tmp`));

  const reader = fresh();
  const loading = new Checkpointer(reader, path, 60_000, logger, now);
  await loading.load();
  assert.equal(loading.status().load?.['outcome'], 'loaded');
  assert.deepEqual(answers(reader), answers(original));

  const flipped = Buffer.from(good);
  for (const at of [100, 5000, good.length - 10]) flipped[at] = flipped[at]! ^ 0xff;
  const otherVersion = Buffer.from(good);
  otherVersion.writeUInt16LE(CHECKPOINT_FORMAT_VERSION + 1, 4);
  const cases: [string, (p: string) => void, RegExp][] = [
    ['truncated', (p) => writeFileSync(p, good.subarray(0, Math.floor(good.length / 2))), /truncated: the header announces \d+ payload bytes/],
    ['truncated header', (p) => writeFileSync(p, good.subarray(0, 10)), /truncated: 10 bytes, shorter than the 32-byte header/],
    ['corrupt', (p) => writeFileSync(p, flipped), /corrupt: CRC-32 mismatch/],
    ['other version', (p) => writeFileSync(p, otherVersion), new RegExp(`format version ${CHECKPOINT_FORMAT_VERSION + 1}, this server reads version ${CHECKPOINT_FORMAT_VERSION}`)],
    ['not a checkpoint', (p) => writeFileSync(p, Buffer.alloc(64, 'x')), /not a history checkpoint/],
    ['unreadable', (p) => mkdirSync(p), /unreadable \(EISDIR/],
  ];
  for (const [what, make, reason] of cases) {
    const caseDir = tmp();
    const casePath = join(caseDir, 'history.bin');
    make(casePath);
    const history = fresh();
    const checkpointer = new Checkpointer(history, casePath, 60_000, logger, now);
    await checkpointer.load();
    const status = checkpointer.status().load!;
    assert.equal(status['outcome'], 'set_aside', what);
    assert.match(String(status['reason']), reason, what);
    assert.equal(history.stats().samples, 0, what);
    assert.ok(!existsSync(casePath), `${what}: the bad file is moved away`);
    const aside = readdirSync(caseDir).filter((f) => f.startsWith('history.bin.bad-'));
    assert.equal(aside.length, 1, what);
    assert.ok(sink.lines.some((line) => line.includes('WARNING') && reason.test(line) && line.includes(aside[0]!)), `${what}: logged with reason and new name`);
    // A later save writes a new file beside the set-aside one, never over it.
    await checkpointer.save();
    assert.ok(existsSync(casePath) && existsSync(join(caseDir, aside[0]!)), what);
  }
});

test('an unwritable path is logged with its reason; the server side carries on', async () => {
  const dir = tmp();
  writeFileSync(join(dir, 'a-file'), 'not a directory');
  const path = join(dir, 'a-file', 'history.bin');
  const { logger, sink } = memoryLogger();
  const checkpointer = new Checkpointer(sampleHistory(), path, 60_000, logger);
  await checkpointer.load();
  await checkpointer.save();
  const status = checkpointer.status();
  assert.equal(status.saves, 0);
  assert.match(status.last_error?.message ?? '', /^(ENOTDIR|EEXIST)/);
  assert.ok(sink.lines.some((line) => line.includes('ERROR') && line.includes('could not write the history checkpoint') && /ENOTDIR|EEXIST/.test(line)));
});

test('a write killed midway leaves the previous checkpoint intact', { timeout: 120_000 }, async () => {
  const dir = tmp();
  const path = join(dir, 'history.bin');
  const child = spawn(process.execPath, ['--import', 'tsx', join(dirname(fileURLToPath(import.meta.url)), 'checkpoint-writer-child.ts'), path], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const saved = await new Promise<number>((resolve, reject) => {
      child.stdout.on('data', (data: Buffer) => {
        const match = /saved (\d+)/.exec(data.toString());
        if (match !== null) resolve(Number(match[1]));
      });
      child.on('exit', (code) => reject(new Error(`child exited with ${code}`)));
    });
    assert.ok(saved > 0);
    // Wait until a later write is in progress (its temporary file exists), then kill the writer.
    const deadline = Date.now() + 60_000;
    while (!existsSync(`${path}.tmp`) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 1));
    assert.ok(existsSync(`${path}.tmp`), 'a second write started');
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
  } finally {
    child.kill('SIGKILL');
  }
  const decoded = decodeCheckpoint(readFileSync(path));
  assert.ok(decoded.ok, decoded.ok ? '' : decoded.reason);
  const history = new HistoryStore({ retentionSeconds: 86400, maxMemoryBytes: 2 ** 34 });
  history.restore(decoded.chunks, T0 + 86400 / 2);
  assert.ok(history.stats().samples >= 40 * 20_000 * 2);
});

test('a whole server stopped and started again serves the same history; a corrupt checkpoint does not stop it starting', async () => {
  const dir = tmp();
  const path = join(dir, 'var', 'history.bin');
  const upstream = await fakeUpstream(csvHandler(csv(1), '"1"'));
  const config = { ...testConfig({ generatorUrl: upstream.url }), history: { enabled: true, retentionSeconds: 3600, maxMemoryBytes: 2 ** 26, checkpointPath: path, checkpointIntervalMs: 3_600_000 } };
  const url = '/telemetry/GetHistory?switch=sw3&metric=latency_ms';
  try {
    const first = await startMetricsServer(config, { logger: memoryLogger('WARNING').logger });
    await first.source.pollOnce();
    await new Promise((resolve) => setTimeout(resolve, 1100));
    upstream.setHandler(csvHandler(csv(2), '"2"'));
    await first.source.pollOnce();
    await first.history!.idle();
    const before = await (await fetch(`${first.url}${url}`)).json();
    await first.stop();
    assert.ok(existsSync(path), 'written on graceful stop');

    const second = await startMetricsServer(config, { logger: memoryLogger('WARNING').logger });
    const after = await (await fetch(`${second.url}${url}`)).json();
    assert.deepEqual((after as { samples: unknown }).samples, (before as { samples: unknown[] }).samples);
    assert.equal((before as { samples: unknown[] }).samples.length, 2);
    const status = (await (await fetch(`${second.url}/telemetry/Status`)).json()) as { history: { checkpoint: { load: { outcome: string } } } };
    assert.equal(status.history.checkpoint.load.outcome, 'loaded');
    await second.stop();

    writeFileSync(path, Buffer.alloc(100, 0xab));
    const { logger, sink } = memoryLogger('WARNING');
    const third = await startMetricsServer(config, { logger });
    const res = await fetch(`${third.url}/telemetry/Status`);
    const doc = (await res.json()) as { history: { samples: number; checkpoint: { load: { outcome: string; reason: string } } } };
    assert.equal(doc.history.checkpoint.load.outcome, 'set_aside');
    assert.equal(doc.history.samples, 0);
    assert.ok(sink.lines.some((line) => line.includes('not a history checkpoint')));
    await third.stop();
  } finally {
    await upstream.close();
  }
});
