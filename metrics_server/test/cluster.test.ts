/**
 * A cluster as an operator runs it: a generator and three metrics-server processes sharing the real
 * Redis (own key prefix), on loopback ports. One leader; all serve the same version; kill -9 of the
 * leader and another takes over with versions still rising everywhere; a leader paused past its
 * lease (SIGSTOP/SIGCONT) gets no stale publish accepted; a restarted follower serves data as soon as
 * it listens. Every process is started here and stopped by its PID; every wait is bounded.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openSse } from '../../common/test/sse-test-client.js';
import { instanceState, killProcess, servedVersion, startGenerator, startInstance, stopProcess, type ClusterProcess, type InstanceState } from '../../scripts/cluster-processes.js';
import { until } from './generator-process.js';
import { deletePrefix, REDIS_URL, skipUnlessRedis, testPrefix } from './redis-fixtures.js';

const skip = await skipUnlessRedis();
const LEASE_SECONDS = 1;
const POLL_SECONDS = 0.25;

describe('three instances on Redis', { skip }, () => {
  const prefix = testPrefix('cluster');
  // Each instance's history checkpoint, by instance name: a restarted instance loads its own.
  const checkpoints = mkdtempSync(join(tmpdir(), 'fabric-cluster-test-'));
  let generator: ClusterProcess;
  const instances: ClusterProcess[] = [];
  let switchId = 'sw1';
  /** Every version each instance was seen serving, in order (by port). */
  const seen = new Map<number, number[]>();
  let watching = true;
  let watcher: Promise<void> = Promise.resolve();

  const start = async (name: string): Promise<ClusterProcess> => {
    const instance = await startInstance({ name, generatorUrl: `${generator.url}/counters`, redisUrl: REDIS_URL, keyPrefix: prefix, leaseSeconds: LEASE_SECONDS, pollIntervalSeconds: POLL_SECONDS, port: 0, checkpointPath: join(checkpoints, `${name}.bin`) });
    instances.push(instance);
    return instance;
  };
  const alive = (): ClusterProcess[] => instances.filter((i) => i.child.exitCode === null && i.child.signalCode === null);
  const states = async (list = alive()): Promise<(InstanceState | undefined)[]> => Promise.all(list.map((i) => instanceState(i.url)));
  const leaders = async (list = alive()): Promise<ClusterProcess[]> => {
    const s = await states(list);
    return list.filter((_, i) => s[i]?.role === 'leader');
  };
  const newestServed = async (list = alive()): Promise<number[]> => Promise.all(list.map(async (i) => (await servedVersion(i.url, switchId)) ?? -1));

  before(async () => {
    generator = await startGenerator({ switches: 200, intervalSeconds: POLL_SECONDS, seed: 16, port: 0 });
    for (const name of ['a', 'b', 'c']) await start(name);
    await until(async () => (await states()).every((s) => s?.version !== undefined), 'every instance has a snapshot', 15_000);
    // The generator names its switches sw1..swN.
    switchId = 'sw1';
    assert.ok((await servedVersion(instances[0]!.url, switchId)) !== undefined, 'GetMetric answers for sw1');
    // Record what every live instance serves, all along: versions must never go back.
    watcher = (async () => {
      while (watching) {
        await Promise.all(alive().map(async (i) => {
          const v = await servedVersion(i.url, switchId, 500);
          if (v === undefined) return;
          const list = seen.get(i.port) ?? [];
          if (list[list.length - 1] !== v) list.push(v);
          seen.set(i.port, list);
        }));
        await new Promise((r) => setTimeout(r, 30));
      }
    })();
  });

  after(async () => {
    watching = false;
    await watcher;
    await Promise.all([...instances.map((i) => stopProcess(i.child)), generator === undefined ? undefined : stopProcess(generator.child)]);
    await deletePrefix(prefix);
    rmSync(checkpoints, { recursive: true, force: true });
  });

  test('one leader, and every instance serves the same version after a cycle', async () => {
    await until(async () => (await leaders()).length === 1, 'exactly one leader', 5000);
    // The leader publishes every poll; followers catch up within the announcement's round trip.
    await until(async () => {
      const v = await newestServed();
      return v[0]! > 0 && v.every((x) => x === v[0]);
    }, 'all three serve one version', 5000);
  });

  test('kill -9 of the leader: another takes over and versions keep increasing everywhere', async () => {
    const [leader] = await leaders();
    assert.ok(leader !== undefined);
    const before = Math.max(...(await newestServed()));
    const killedAt = Date.now();
    await killProcess(leader.child);
    await until(async () => (await leaders()).length === 1, 'a new leader', (LEASE_SECONDS + 3) * 1000);
    await until(async () => (await newestServed()).every((v) => v > before), 'every survivor serves a newer version', (LEASE_SECONDS + 4 * POLL_SECONDS + 3) * 1000);
    const tookMs = Date.now() - killedAt;
    // The goal (lease + 2 polls) is measured by npm run bench:cluster; here only a generous bound, as
    // the test machine may be loaded.
    assert.ok(tookMs < (LEASE_SECONDS + 2 * POLL_SECONDS) * 1000 + 8000, `failover took ${tookMs} ms`);
  });

  test('a leader paused past its lease: no stale publish accepted, no version goes back', async () => {
    const [leader] = await leaders();
    assert.ok(leader !== undefined);
    const termBefore = (await instanceState(leader.url))!.term;
    leader.child.kill('SIGSTOP');
    const others = alive().filter((i) => i !== leader);
    try {
      await until(async () => (await leaders(others)).length === 1, 'another instance leads while the old one is paused', (LEASE_SECONDS + 3) * 1000);
      const newLeader = (await leaders(others))[0]!;
      const newTerm = (await instanceState(newLeader.url))!.term;
      assert.ok(newTerm > termBefore);
      // Let the new leader publish a few versions before the old one wakes up.
      await new Promise((r) => setTimeout(r, 4 * POLL_SECONDS * 1000));
    } finally {
      leader.child.kill('SIGCONT');
    }
    await until(async () => (await instanceState(leader.url))?.role === 'follower', 'the old leader steps down', 5000);
    const resumed = (await instanceState(leader.url))!;
    // Whatever it attempted after waking was refused by Redis; it follows the new term now.
    await until(async () => ((await instanceState(leader.url))?.term ?? 0) > termBefore, 'the old leader follows the newer term', 3000);
    const versions = await newestServed();
    await until(async () => (await newestServed()).every((v, i) => v > versions[i]!), 'everyone, the old leader too, keeps following', 5000);
    assert.ok(resumed.refused >= 0);
  });

  test('every instance keeps its own history of the snapshots it applies and serves the live stream', async () => {
    const history = async (url: string): Promise<{ timestamp: number }[]> => {
      const res = await fetch(`${url}/telemetry/GetHistory?switch=${switchId}&metric=bandwidth_mbps&since=-1h`);
      assert.equal(res.status, 200, await res.clone().text());
      return ((await res.json()) as { samples: { timestamp: number }[] }).samples;
    };
    for (const instance of alive()) {
      await until(async () => (await history(instance.url)).length >= 2, `${instance.name} has history`, 5000);
    }
    const [leader] = await leaders();
    const follower = alive().find((i) => i !== leader)!;
    const stream = await openSse(`${follower.url}/telemetry/stream?changes=1&switch=${switchId}`);
    try {
      assert.equal(stream.status, 200);
      await stream.waitForEvents(3, 5000);
      assert.equal(stream.events[0]!.event, 'snapshot');
      const ids = stream.events.map((e) => Number(e.id));
      for (let i = 1; i < ids.length; i++) assert.ok(ids[i]! > ids[i - 1]!, `stream versions rise: ${ids.join(', ')}`);
    } finally {
      stream.close();
    }
  });

  test('a restarted follower serves current data as soon as it listens, before any poll of its own, and its history from before', async () => {
    const [leader] = await leaders();
    const follower = alive().find((i) => i !== leader)!;
    // A graceful stop writes the history checkpoint; the same name starts from the same file.
    await stopProcess(follower.child);
    const stoppedAt = Math.floor(Date.now() / 1000);
    const current = Math.max(...(await newestServed()));
    const restarted = await start(follower.name);
    const listenedAt = Date.now();
    const version = await servedVersion(restarted.url, switchId);
    assert.ok(version !== undefined && version >= current, `served v${version} right after listening (cluster at v${current})`);
    assert.ok(Date.now() - listenedAt < 1000);
    const state = await instanceState(restarted.url);
    assert.equal(state?.role, 'follower');
    const polls = ((await (await fetch(`${restarted.url}/telemetry/Status`)).json()) as { ingestion: { polls: { ok: number } } }).ingestion.polls.ok;
    assert.equal(polls, 0, 'a follower never polls');
    await until(async () => ((await servedVersion(restarted.url, switchId)) ?? 0) > version, 'then follows', 3000);
    const samples = ((await (await fetch(`${restarted.url}/telemetry/GetHistory?switch=${switchId}&metric=bandwidth_mbps&since=-1h`)).json()) as { samples: { timestamp: number }[] }).samples;
    // A second's margin: the snapshot it warm-started from was ingested around the restart, not before.
    assert.ok(samples.some((s) => s.timestamp < stoppedAt - 1), `samples from before the restart, loaded from its checkpoint (oldest ${samples[0]?.timestamp}, stopped at ${stoppedAt})`);
  });

  test('no instance ever served a version lower than one it had served', () => {
    for (const [port, list] of seen) {
      for (let i = 1; i < list.length; i++) assert.ok(list[i]! > list[i - 1]!, `port ${port} went from v${list[i - 1]} to v${list[i]}`);
    }
    assert.ok(seen.size >= 3);
  });
});
