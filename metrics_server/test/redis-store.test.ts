/**
 * RedisStore against a real Redis, in process: election and fencing, following, warm start, hostile
 * contents, an outage with Redis coming back empty, and a wrong password. Several stores in one
 * process stand for several instances (each has its own connections and lease id).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { encodeSnapshotWire } from '../src/snapshot/wire.js';
import { PublishRefused } from '../src/store/publisher.js';
import { redisKeys } from '../src/store/redis-keys.js';
import { RedisStore } from '../src/store/redis-store.js';
import { SEED_CSV, contentFromCsv, memoryLogger } from './helpers.js';
import { until } from './generator-process.js';
import { deletePrefix, haveRedisServer, PrivateRedis, REDIS_URL, redisClient, skipUnlessRedis, testPrefix } from './redis-fixtures.js';

const skip = await skipUnlessRedis();
const LEASE_MS = 600;

const CSV_2 = SEED_CSV.replace('sw1,8123', 'sw1,9000');

function makeStore(prefix: string, url = REDIS_URL, leaseMs = LEASE_MS) {
  const { logger, sink } = memoryLogger('DEBUG');
  const store = new RedisStore({ url, keyPrefix: prefix, leaseMs, logger, checkIntervalMs: 200 });
  return { store, sink };
}

describe('RedisStore on the shared Redis', { skip }, () => {
  const prefix = testPrefix('store');
  const stores: RedisStore[] = [];
  const open = async (leaseMs = LEASE_MS) => {
    const made = makeStore(prefix, REDIS_URL, leaseMs);
    stores.push(made.store);
    await made.store.start(2000);
    return made;
  };
  after(async () => {
    for (const s of stores) await s.close();
    await deletePrefix(prefix);
  });

  test('one leader; its publish reaches a follower; a new instance starts from the latest snapshot', async () => {
    const a = await open();
    const b = await open();
    assert.equal([a.store, b.store].filter((s) => s.isLeader()).length, 1, 'exactly one leader');
    const [leader, follower] = a.store.isLeader() ? [a.store, b.store] : [b.store, a.store];
    const first = await leader.publish(contentFromCsv(SEED_CSV));
    assert.equal(first.version, 1);
    assert.equal(first.term, leader.status().term);
    await until(() => follower.current()?.version === 1, 'follower applies v1', 3000);
    assert.equal(follower.current()!.value('sw2', 'latency_ms'), 6.8);
    const second = await leader.publish(contentFromCsv(CSV_2));
    await until(() => follower.current()?.version === second.version, 'follower applies v2', 3000);
    assert.equal(follower.current()!.value('sw1', 'bandwidth_mbps'), 9000);
    assert.equal(follower.status().role, 'follower');
    assert.equal(leader.status().role, 'leader');

    // Warm start: the snapshot is there when start() returns, before any poll or announcement.
    const c = await open();
    assert.equal(c.store.current()?.version, second.version);
    assert.equal(c.store.isLeader(), false);
  });

  test('a publish under an older term is refused by Redis, counted, and the old leader steps down', async () => {
    const leader = stores.find((s) => s.isLeader())!;
    const before = leader.current()!.version;
    const term = leader.status().term;
    const client = await redisClient();
    try {
      // Another instance took a newer term (as after this one's lease lapsed while it was paused).
      await client.set(redisKeys(prefix).term, String(term + 1));
      await assert.rejects(leader.publish(contentFromCsv(CSV_2)), PublishRefused);
    } finally {
      client.destroy();
    }
    assert.equal(leader.isLeader(), false);
    assert.equal(leader.current()!.version, before, 'nothing swapped');
    const status = leader.status();
    assert.deepEqual((status.details!['publishes'] as { refused: number }).refused, 1);
    assert.equal(status.lastPublish?.outcome, 'refused');
  });

  test('hostile contents are logged once with the reason and the snapshot is kept', async () => {
    const follower = makeStore(prefix);
    stores.push(follower.store);
    await follower.store.start(2000);
    // Stop anyone from publishing over the tampering: nobody leads after the term bump above until the lease lapses; take it away.
    const kept = follower.store.current()!.version;
    const keys = redisKeys(prefix);
    const client = await redisClient();
    const valid = encodeSnapshotWire({ version: kept + 100, term: 999, ingestedAtMs: Date.now(), block: contentFromCsv(SEED_CSV).block });
    const future = Buffer.from(valid);
    future.writeUInt16LE(2, 4);
    const cases: [string, Buffer, RegExp][] = [
      ['garbage', Buffer.from('not a snapshot at all'), /bad magic|shorter than its header/],
      ['future format', future, /format version 2/],
      ['truncated', Buffer.from(valid).subarray(0, valid.length - 7), /truncated/],
    ];
    try {
      for (const [i, [what, bytes, reason]] of cases.entries()) {
        const lines = follower.sink.lines.length;
        await client.set(keys.snapshot, bytes);
        await client.set(keys.version, String(kept + 10 + i));
        await until(() => follower.sink.lines.slice(lines).some((l) => reason.test(l)), `the ${what} refusal is logged`, 3000);
        await new Promise((r) => setTimeout(r, 500));
        const refusals = follower.sink.lines.slice(lines).filter((l) => l.includes('refused the snapshot in Redis'));
        assert.equal(refusals.length, 1, `${what}: one line, not one per check: ${refusals.join('\n')}`);
        assert.equal(follower.store.current()!.version, kept, `${what}: snapshot kept`);
      }
      // Garbage under the version key itself.
      await client.set(keys.version, 'NaN; DROP');
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(follower.store.current()!.version, kept);
    } finally {
      client.destroy();
    }
    assert.ok((follower.store.status().details!['contents_rejected'] as number) >= 3);
  });
});

describe('RedisStore through an outage of its own Redis', { skip: skip !== false ? skip : haveRedisServer() ? false : 'redis-server is not installed' }, () => {
  let redis: PrivateRedis;
  const stores: RedisStore[] = [];
  before(async () => {
    redis = await PrivateRedis.start();
  });
  after(async () => {
    for (const s of stores) await s.close();
    await redis.stop();
  });

  test('Redis down: both keep serving, the leader keeps ingesting locally; Redis back empty: refilled and followed, no restart', async () => {
    const prefix = testPrefix('outage');
    const a = makeStore(prefix, redis.url());
    const b = makeStore(prefix, redis.url());
    stores.push(a.store, b.store);
    await a.store.start(2000);
    await b.store.start(2000);
    const [leader, follower] = a.store.isLeader() ? [a, b] : [b, a];
    await leader.store.publish(contentFromCsv(SEED_CSV));
    await until(() => follower.store.current()?.version === 1, 'follower has v1', 3000);

    await redis.stop();
    await until(() => !follower.store.status().connected && !leader.store.status().connected, 'both see the outage', 5000);
    const local = await leader.store.publish(contentFromCsv(CSV_2));
    assert.equal(local.version, 2, 'the leader swaps locally while Redis is down');
    assert.equal(leader.store.current()!.version, 2);
    assert.equal(leader.store.status().lastPublish?.outcome, 'failed');
    assert.equal(follower.store.current()!.version, 1, 'the follower keeps its snapshot');
    assert.match(follower.store.status().lastError!.message, /redis: /);

    await redis.restart();
    await until(() => leader.store.status().connected && follower.store.status().connected, 'both reconnect', 8000);
    // The leader kept its role through the outage (followers wait a lease after reconnecting before bidding).
    await until(() => leader.store.isLeader(), 'the leader takes the lease of the empty Redis again', 5000);
    const refill = await leader.store.publish(contentFromCsv(SEED_CSV));
    assert.equal(refill.version, 3);
    assert.equal(leader.store.status().lastPublish?.outcome, 'accepted');
    await until(() => follower.store.current()?.version === 3, 'the follower follows the refilled Redis', 3000);
  });
});

describe('RedisStore with a wrong password', { skip: skip !== false ? skip : haveRedisServer() ? false : 'redis-server is not installed' }, () => {
  test('start does not throw: Status says why, nothing crashes, and it keeps trying', async () => {
    const redis = await PrivateRedis.start('right-password');
    const { store, sink } = makeStore(testPrefix('auth'), redis.url('wrong-password'));
    try {
      await store.start(1000);
      const status = store.status();
      assert.equal(status.connected, false);
      assert.equal(status.role, 'follower');
      assert.match(status.lastError?.message ?? '', /WRONGPASS|invalid username-password|NOAUTH/i);
      assert.equal(JSON.stringify(status).includes('wrong-password'), false, 'the password is never shown');
      await new Promise((r) => setTimeout(r, 1500));
      const errorLines = sink.lines.filter((l) => /WRONGPASS|invalid username-password/i.test(l));
      assert.ok(errorLines.length >= 1 && errorLines.length <= 2, `logged once, not once per retry: ${errorLines.length}`);
    } finally {
      await store.close();
      await redis.stop();
    }
  });
});
