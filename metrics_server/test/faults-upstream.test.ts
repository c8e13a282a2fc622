/**
 * Upstream faults, table-driven, against a whole metrics server (startMetricsServer with its default
 * worker-thread preparer) polling the programmable fake generator. For every behaviour: the server
 * keeps answering, exactly one poller log line names the reason (or one summary line for bad rows),
 * the last good snapshot is served unchanged (same version, same bytes) or only the bad rows are
 * dropped, Status counts it, and the next good response is ingested. Memory is sampled after repeated
 * rounds of the whole table and must not keep growing. Cycles are driven with `source.pollOnce()`:
 * the poll interval is an hour, so nothing happens behind the test's back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import vm from 'node:vm';
import type { RowRejectCounts } from '../src/ingest/parse-outcome.js';
import { parseTelemetryCsv } from './reference/csv-parser.js';
import { startMetricsServer, type StartedMetricsServer } from '../src/metrics-server.js';
import type { MemorySink } from '../../common/logger.js';
import { CONTROL_IDS, FakeGenerator, type Behaviour } from './fake-generator.js';
import { memoryLogger, testConfig } from './helpers.js';

const MAX_BODY = 8 * 1024 * 1024;
// Generous: the table also streams bodies up to MAX_BODY, which must arrive within it on a loaded 2-core CI machine.
const TIMEOUT_MS = 1500;

type Expectation =
  /** The whole cycle fails: snapshot unchanged, one ERROR line naming the reason. */
  | { readonly kind: 'failed'; readonly reason: RegExp }
  /** Ingested; `rejected` rows dropped with one WARNING summary; `extra` accepted beyond sw1..sw5. */
  | { readonly kind: 'rows'; readonly rejected: Partial<RowRejectCounts>; readonly extra?: Readonly<Record<string, readonly number[]>> }
  /** Ingested cleanly, identical to the good CSV of the same tick. */
  | { readonly kind: 'clean' };

const TABLE: ReadonlyArray<readonly [Behaviour, Expectation]> = [
  ['refuse', { kind: 'failed', reason: /^cannot connect: ECONNREFUSED$/ }],
  ['hang', { kind: 'failed', reason: new RegExp(`^no complete response within ${TIMEOUT_MS} ms$`) }],
  ['slow_bytes', { kind: 'failed', reason: new RegExp(`^no complete response within ${TIMEOUT_MS} ms$`) }],
  ['cut_mid_body', { kind: 'failed', reason: /^connection (closed mid-body after \d+ bytes|reset \(ECONNRESET\))$/ }],
  ['status_500', { kind: 'failed', reason: /^HTTP 500$/ }],
  ['status_404', { kind: 'failed', reason: /^HTTP 404$/ }],
  ['redirect_loop', { kind: 'failed', reason: /^HTTP 302 \(redirects are not followed\)$/ }],
  ['too_large_declared', { kind: 'failed', reason: new RegExp(`^Content-Length ${MAX_BODY + 1} exceeds the limit of ${MAX_BODY} bytes$`) }],
  ['too_large_chunked', { kind: 'failed', reason: new RegExp(`^body exceeds the limit of ${MAX_BODY} bytes$`) }],
  ['empty', { kind: 'failed', reason: /^unusable CSV: empty body$/ }],
  ['header_only', { kind: 'failed', reason: /^unusable CSV: no data rows$/ }],
  ['binary', { kind: 'failed', reason: /^unusable CSV: (header has no switch_id column|invalid column name .*|duplicate column .*|header has no metric columns)$/ }],
  ['missing_switch_id', { kind: 'failed', reason: /^unusable CSV: header has no switch_id column$/ }],
  ['duplicate_columns', { kind: 'failed', reason: /^unusable CSV: duplicate column "bandwidth_mbps"$/ }],
  ['millions_of_columns', { kind: 'failed', reason: /^unusable CSV: header has more than 256 columns$/ }],
  ['bad_metric_name', { kind: 'failed', reason: /^unusable CSV: invalid column name "band\\u001b\[2Jwidth\\u0085\\u007f"$/ }],
  ['all_rows_bad', { kind: 'failed', reason: /^unusable CSV: no valid row$/ }],
  ['nan', { kind: 'rows', rejected: { invalid_number: 2 } }],
  ['infinity', { kind: 'rows', rejected: { invalid_number: 3 } }],
  ['negative', { kind: 'rows', rejected: {}, extra: { neg1: [-5, -0.25, -0, 1, -3, -4.5] } }],
  ['exponent', { kind: 'rows', rejected: {}, extra: { exp1: [1000, 0.25, 0, 1, 300, 45] } }],
  ['quoted', { kind: 'rows', rejected: { invalid_switch_id: 1, invalid_number: 1 } }],
  ['id_comma', { kind: 'rows', rejected: { wrong_field_count: 2 } }],
  ['id_quote', { kind: 'rows', rejected: { invalid_switch_id: 3 } }],
  ['id_space', { kind: 'rows', rejected: { invalid_switch_id: 4 } }],
  ['id_control', { kind: 'rows', rejected: { invalid_switch_id: CONTROL_IDS.length } }],
  ['id_10kb', { kind: 'rows', rejected: { invalid_switch_id: 1 } }],
  ['duplicate_ids', { kind: 'rows', rejected: { duplicate_switch_id: 2 } }],
  ['wrong_field_count', { kind: 'rows', rejected: { wrong_field_count: 3 } }],
  ['bom', { kind: 'clean' }],
  ['crlf', { kind: 'clean' }],
];

interface StatusDoc {
  snapshot: { version: number; switches: number } | null;
  ingestion: {
    polls: { ok: number; not_modified: number; failed: number };
    last_error: { message: string; at: number } | null;
    consecutive_failures: number;
    rows_rejected: RowRejectCounts;
    last_poll: { outcome: string; error?: string } | null;
  };
}

/** A real-socket GET against the server (not inject), so "still answering" means the listener lives. */
async function get(server: StartedMetricsServer, path: string): Promise<{ status: number; body: Buffer; etag: string | null }> {
  const res = await fetch(`${server.url}${path}`);
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()), etag: res.headers.get('etag') };
}

async function status(server: StartedMetricsServer): Promise<StatusDoc> {
  return JSON.parse((await get(server, '/telemetry/Status')).body.toString()) as StatusDoc;
}

function pollerLines(sink: MemorySink, from: number): string[] {
  return sink.lines.slice(from).filter((l) => l.includes('[poller]'));
}

/** The rows a good CSV of `tick` holds, as the server should serve them. */
function expectedRows(csv: string): Map<string, number[]> {
  const parsed = parseTelemetryCsv(csv);
  assert.ok(parsed.ok);
  const { switchIds, rows } = parsed.data;
  return new Map(switchIds.map((id, row) => [id, [...rows[row]!]]));
}

function assertServes(server: StartedMetricsServer, rows: ReadonlyMap<string, readonly number[]>, what: string): void {
  const snapshot = server.store.current();
  assert.ok(snapshot !== undefined, what);
  assert.deepEqual([...snapshot.switchIds], [...rows.keys()], `${what}: switch ids`);
  for (const [id, values] of rows) assert.deepEqual(snapshot.row(id), [...values], `${what}: ${id}`);
}

function heap(): { heapUsed: number; rss: number } {
  gc();
  const { heapUsed, rss } = process.memoryUsage();
  return { heapUsed, rss };
}

// A real gc() for memory sampling, without needing --expose-gc on the test runner's command line.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** One pass over the table; with `check`, every expectation is asserted in detail. */
async function runTable(server: StartedMetricsServer, fake: FakeGenerator, sink: MemorySink, check: boolean): Promise<void> {
  for (const [behaviour, expect] of TABLE) {
    // Start every case from a freshly ingested good snapshot.
    await fake.behave('good');
    const good = await server.source.pollOnce();
    assert.equal(good.outcome, 'ok', `${behaviour}: the good cycle before it`);
    const before = server.store.current()!;
    const listBefore = await get(server, '/telemetry/ListMetrics');
    const statusBefore = await status(server);
    const logFrom = sink.lines.length;

    await fake.behave(behaviour);
    const record = await server.source.pollOnce();

    // The server still answers on its socket, whatever the upstream did.
    assert.equal((await get(server, '/healthz')).status, 200, `${behaviour}: healthz`);
    const listAfter = await get(server, '/telemetry/ListMetrics');
    const statusAfter = await status(server);
    const lines = pollerLines(sink, logFrom);

    if (expect.kind === 'failed') {
      assert.equal(record.outcome, 'failed', `${behaviour}: outcome (${record.error ?? ''})`);
      if (!check) continue;
      assert.match(record.error ?? '', expect.reason, behaviour);
      // Unchanged: same object, same version, same bytes, same ETag.
      assert.equal(server.store.current(), before, `${behaviour}: snapshot replaced`);
      assert.equal(listAfter.status, 200);
      assert.equal(listAfter.etag, listBefore.etag, `${behaviour}: ETag`);
      assert.ok(listAfter.body.equals(listBefore.body), `${behaviour}: ListMetrics bytes changed`);
      // Logged once, naming the reason.
      assert.equal(lines.length, 1, `${behaviour}: poller lines: ${lines.join(' | ')}`);
      assert.match(lines[0]!, / ERROR \[poller\] poll of http:\/\/127\.0\.0\.1:\d+\/counters failed: /, behaviour);
      assert.ok(lines[0]!.includes(`failed: ${record.error!}; keeping snapshot v${before.version}`), `${behaviour}: ${lines[0]!}`);
      // Counted.
      assert.equal(statusAfter.ingestion.polls.failed, statusBefore.ingestion.polls.failed + 1, behaviour);
      assert.equal(statusAfter.ingestion.consecutive_failures, 1, behaviour);
      assert.equal(statusAfter.ingestion.last_error?.message, record.error, behaviour);
      assert.equal(statusAfter.ingestion.last_poll?.outcome, 'failed', behaviour);
      assert.equal(statusAfter.snapshot?.version, before.version, behaviour);
    } else {
      assert.equal(record.outcome, 'ok', `${behaviour}: outcome (${record.error ?? ''})`);
      if (!check) continue;
      const rows = expectedRows(fake.currentGoodCsv());
      if (expect.kind === 'rows') for (const [id, values] of Object.entries(expect.extra ?? {})) rows.set(id, [...values]);
      assertServes(server, rows, behaviour);
      assert.equal(server.store.current()!.version, before.version + 1, behaviour);
      assert.notEqual(listAfter.etag, listBefore.etag, behaviour);
      const list = JSON.parse(listAfter.body.toString()) as Record<string, Record<string, number>>;
      assert.deepEqual(Object.keys(list), [...rows.keys()], `${behaviour}: ListMetrics ids`);
      const rejected = expect.kind === 'rows' ? expect.rejected : {};
      const total = Object.values(rejected).reduce((a, b) => a + b, 0);
      for (const reason of Object.keys(statusBefore.ingestion.rows_rejected) as (keyof RowRejectCounts)[]) {
        assert.equal(statusAfter.ingestion.rows_rejected[reason] - statusBefore.ingestion.rows_rejected[reason], rejected[reason] ?? 0, `${behaviour}: ${reason}`);
      }
      assert.equal(statusAfter.ingestion.polls.ok, statusBefore.ingestion.polls.ok + 1, behaviour);
      if (total === 0) {
        assert.deepEqual(lines, [], `${behaviour}: a clean cycle logs nothing at INFO`);
      } else {
        assert.equal(lines.length, 1, `${behaviour}: one summary line, not one per row: ${lines.join(' | ')}`);
        assert.match(lines[0]!, new RegExp(` WARNING \\[poller\\] ingested snapshot v${before.version + 1} with ${rows.size} switches; skipped ${total} bad rows`));
        for (const [reason, count] of Object.entries(rejected)) assert.ok(lines[0]!.includes(`${reason}=${count}`), `${behaviour}: ${lines[0]!}`);
      }
    }
  }
  // And the next good response after the last fault is ingested too.
  await fake.behave('good');
  const last = await server.source.pollOnce();
  assert.equal(last.outcome, 'ok');
  if (check) assertServes(server, expectedRows(fake.currentGoodCsv()), 'recovery');
}

test('every upstream fault: no crash, logged once, last good snapshot kept (or only bad rows dropped), counted, recovery', async (t) => {
  // Oversized bodies exceed MAX_BODY by one byte (declared) or stream past it (chunked); two million
  // columns (`,c` each, ~4 MB) fit under the body limit so the parser's column bound is what refuses them.
  const fake = await FakeGenerator.start({ oversizeBytes: MAX_BODY + 1, columns: 2_000_000 });
  t.after(() => fake.close());
  const { logger, sink } = memoryLogger('INFO');
  const server = await startMetricsServer(testConfig({ generatorUrl: fake.url, pollIntervalMs: 3_600_000, fetchTimeoutMs: TIMEOUT_MS, maxBodyBytes: MAX_BODY }), { logger });
  t.after(() => server.stop());
  // The server's own first poll (started by startMetricsServer) must not interleave with ours.
  await server.source.pollOnce();

  await runTable(server, fake, sink, true);
  assert.equal(sink.lines.filter((l) => l.includes('internal error')).length, 0, 'no internal errors');

  // Memory stays bounded: after a warm-up round, two more rounds of every fault (oversized bodies,
  // millions of columns, hung sockets) must not leave the heap or RSS growing.
  const base = heap();
  for (let round = 0; round < 2; round++) await runTable(server, fake, sink, false);
  const after = heap();
  const mb = (n: number): string => `${(n / 1048576).toFixed(1)} MB`;
  t.diagnostic(`heapUsed ${mb(base.heapUsed)} -> ${mb(after.heapUsed)}, rss ${mb(base.rss)} -> ${mb(after.rss)}`);
  assert.ok(after.heapUsed - base.heapUsed < 8 * 1048576, `heap grew ${mb(after.heapUsed - base.heapUsed)}`);
  assert.ok(after.rss - base.rss < 96 * 1048576, `rss grew ${mb(after.rss - base.rss)}`);
});
