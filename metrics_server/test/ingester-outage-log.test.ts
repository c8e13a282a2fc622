/**
 * An outage is logged, not shouted (issue 17, item 8): the first failure, a summary at most once a
 * minute while the same reason repeats, a new reason at once, one line on recovery saying how long
 * it lasted. Health keeps every count. Driven through the Ingester with an injected clock.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Ingester, REPEATED_FAILURE_LOG_INTERVAL_MS, type Delivery } from '../src/ingest/ingester.js';
import { IngestionHealth } from '../src/ingest/ingestion-health.js';
import { InlinePreparer } from '../src/ingest/worker/preparer.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { memoryLogger } from './helpers.js';

test('a long outage writes its first failure, a summary a minute, a new reason at once, and one recovery line', () => {
  let now = 1_766_500_000_000;
  const store = new MemoryStore();
  const health = new IngestionHealth();
  const { logger, sink } = memoryLogger('INFO');
  const ingester = new Ingester({ preparer: new InlinePreparer(), publisher: store, reader: store, health, now: () => now });
  const delivery = (): Delivery => ({ label: 'poll of http://g/counters', origin: 'http://g/counters', logger: logger.child('poller'), startedAtMs: now, startedAt: performance.now() });

  // A poll every second for three minutes, all refused.
  for (let i = 0; i < 180; i++) {
    ingester.failed('cannot connect: ECONNREFUSED', delivery());
    now += 1000;
  }
  ingester.failed('HTTP 503', delivery());
  now += 5000;
  ingester.confirmCurrent(delivery());

  const lines = sink.lines.map((l) => l.replace(/^\S+ /, ''));
  assert.deepEqual(lines, [
    'ERROR [poller] poll of http://g/counters failed: cannot connect: ECONNREFUSED; no snapshot yet consecutive_failures=1',
    'ERROR [poller] poll of http://g/counters still failing: cannot connect: ECONNREFUSED; 60 more failures since the last line, 61 in 1m 0s; no snapshot yet consecutive_failures=61',
    'ERROR [poller] poll of http://g/counters still failing: cannot connect: ECONNREFUSED; 60 more failures since the last line, 121 in 2m 0s; no snapshot yet consecutive_failures=121',
    'ERROR [poller] poll of http://g/counters failed: HTTP 503; no snapshot yet consecutive_failures=181',
    'INFO [poller] poll of http://g/counters recovered after 3m 5s (181 failed in a row, last: HTTP 503)',
  ]);
  assert.equal(REPEATED_FAILURE_LOG_INTERVAL_MS, 60_000);
  // Health has every failure, whatever the log said.
  assert.equal(health.outcomes.failed, 181);
  assert.equal(health.outcomes.not_modified, 1);
  assert.equal(health.consecutiveFailures, 0);

  // The next outage starts afresh: its first failure is said at once.
  ingester.failed('HTTP 500', delivery());
  assert.match(sink.lines.at(-1)!, /ERROR \[poller\] poll of http:\/\/g\/counters failed: HTTP 500; no snapshot yet/);
});
