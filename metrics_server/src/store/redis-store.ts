/**
 * The Redis store (SPEC "Cluster (Redis)"): publisher and reader for one instance of a cluster.
 *
 * - Every instance keeps its own immutable current snapshot and serves from it: `current()` is a
 *   field read, never a round trip. Versions applied only ever go up.
 * - One instance holds the lease (leader-lease.ts) and is told to poll; its `publish` runs a Lua
 *   script that refuses the snapshot when a newer term exists (fencing, checked by Redis itself),
 *   stores the wire form, version and confirmation time, and announces the version on a channel.
 * - Every instance follows: on an announcement, and every second in case one was missed, it reads
 *   the stored version and, when newer, the wire form; foreign bytes are checked value by value
 *   (snapshot/wire.ts `adoptForeignBlock`) and anything unusable is logged once and ignored.
 * - Redis down or slow: nothing here throws into the request path. Followers keep their snapshot;
 *   the leader keeps ingesting and swaps locally (the publish is reported `failed`), and its next
 *   publish after Redis returns refills an empty Redis. Connections heal on their own.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '../../../common/logger.js';
import { Snapshot, type SnapshotContent } from '../snapshot/snapshot.js';
import { adoptForeignBlock, decodeColumns, decodeSnapshotWire, encodeColumns, encodeSnapshotWire } from '../snapshot/wire.js';
import { LeaderLease } from './leader-lease.js';
import { PublishRefused, type SnapshotPublisher } from './publisher.js';
import type { SnapshotListener, SnapshotReader } from './reader.js';
import { errorText, integers, luaScript, RedisConnection, RedisTimeout } from './redis-connection.js';
import { RELEASED_MESSAGE, redisKeys, type RedisKeys } from './redis-keys.js';
import { CONFIRM_SCRIPT, PUBLISH_SCRIPT } from './redis-scripts.js';
import type { DescribedStore, ElectedStore, PublishReport, StoreStatus } from './store-status.js';

const PUBLISH = luaScript(PUBLISH_SCRIPT);
const CONFIRM = luaScript(CONFIRM_SCRIPT);

/** A missed announcement costs at most this long (the issue's bound). */
export const DEFAULT_CHECK_INTERVAL_MS = 1000;

/** A follower tries to take a free lease this often (at most; a third of the lease when shorter). */
export const FOLLOWER_BID_INTERVAL_MS = 250;

/** Options of `RedisStore`. */
export interface RedisStoreOptions {
  readonly url: string;
  readonly keyPrefix: string;
  readonly leaseMs: number;
  readonly logger: Logger;
  /** Names this instance in the lease (default: a random UUID per process). */
  readonly instanceId?: string;
  /** How often every instance checks the stored version (default 1 s). */
  readonly checkIntervalMs?: number;
  /** Deadline of one Redis command (default: a third of the lease, from 200 ms to 2 s). */
  readonly commandTimeoutMs?: number;
}

/** Counts shown in Status. */
interface StoreCounts {
  publishesAttempted: number;
  publishesAccepted: number;
  publishesRefused: number;
  publishesFailed: number;
  snapshotsApplied: number;
  contentsRejected: number;
  leasesTaken: number;
}

/** `redis://:secret@host` → `redis://:***@host`: Status and logs never show a password. */
export function redactRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.href;
  } catch {
    return '(invalid URL)';
  }
}

/** Publisher and reader of one instance of a Redis cluster. */
export class RedisStore implements SnapshotPublisher, SnapshotReader, DescribedStore, ElectedStore {
  readonly instanceId: string;
  private readonly keys: RedisKeys;
  private readonly connection: RedisConnection;
  private readonly lease: LeaderLease;
  private readonly logger: Logger;
  private readonly checkIntervalMs: number;
  private readonly listeners = new Set<SnapshotListener>();
  private readonly roleListeners = new Set<(leader: boolean) => void>();
  private snapshot: Snapshot | undefined;
  private leader = false;
  /** The term this instance publishes under while leader. */
  private term = 0;
  /** The newest term seen anywhere (the floor for a new lease). */
  private newestTerm = 0;
  /** The newest version Redis was seen to hold (a new leader numbers past it). */
  private storedVersion = 0;
  private leaderConfirmedAtMs: number | undefined;
  private lastError: { message: string; atMs: number } | undefined;
  private lastPublish: PublishReport | undefined;
  /** When Redis stopped answering, while it does not. */
  private outageSinceMs: number | undefined;
  /** A command timed out since the last one that answered: the socket may be open but Redis is not. */
  private commandsFailing = false;
  /** A follower that just reconnected waits a lease before bidding, so the leader that kept ingesting through the outage keeps its lease. */
  private bidNotBeforeMs = 0;
  /** The version whose stored bytes were refused (not fetched again). */
  private refusedVersion: number | undefined;
  private readonly counts: StoreCounts = { publishesAttempted: 0, publishesAccepted: 0, publishesRefused: 0, publishesFailed: 0, snapshotsApplied: 0, contentsRejected: 0, leasesTaken: 0 };
  private syncing: Promise<void> | undefined;
  private syncAgain = false;
  private electing: Promise<void> | undefined;
  private checkTimer: NodeJS.Timeout | undefined;
  private leaseTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** When the lease was last taken or renewed by this instance. */
  private renewedAtMs = 0;

  constructor(private readonly options: RedisStoreOptions) {
    this.instanceId = options.instanceId ?? randomUUID();
    this.keys = redisKeys(options.keyPrefix);
    this.logger = options.logger;
    this.checkIntervalMs = options.checkIntervalMs ?? DEFAULT_CHECK_INTERVAL_MS;
    const commandTimeoutMs = options.commandTimeoutMs ?? Math.min(2000, Math.max(200, options.leaseMs / 3));
    this.connection = new RedisConnection(options.url, commandTimeoutMs, this.keys.channel, {
      ready: (reconnect) => this.onReady(reconnect),
      error: (message) => this.failed(message),
      message: (text) => {
        if (text === RELEASED_MESSAGE) void this.elect();
        else void this.sync();
      },
    });
    this.lease = new LeaderLease(this.connection, this.keys, this.instanceId, options.leaseMs);
  }

  /**
   * Connects, loads the latest snapshot (warm start: before the server listens, so `/readyz` is ready
   * at once when the cluster has data), then starts following and bidding for the lease. Waits at
   * most `waitMs` for Redis; when it does not answer the instance starts empty and keeps trying.
   */
  async start(waitMs: number): Promise<void> {
    const connected = await this.connection.open(waitMs);
    if (connected) await this.sync();
    else this.logger.warning(`redis at ${redactRedisUrl(this.options.url)} not reachable within ${waitMs} ms: starting without a snapshot, retrying in the background`, this.lastError === undefined ? {} : { error: this.lastError.message });
    this.checkTimer = setInterval(() => void this.sync(), this.checkIntervalMs);
    // The leader renews every third of the lease; a follower bids at most every 250 ms, so a crashed
    // leader is replaced within a quarter second of its lease expiring (one cheap script per bid).
    this.leaseTimer = setInterval(() => void this.elect(), Math.max(50, Math.min(this.options.leaseMs / 3, FOLLOWER_BID_INTERVAL_MS)));
    await this.elect();
  }

  current(): Snapshot | undefined {
    return this.snapshot;
  }

  onPublish(listener: SnapshotListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  isLeader(): boolean {
    return this.leader;
  }

  onRoleChange(listener: (leader: boolean) => void): () => void {
    this.roleListeners.add(listener);
    return () => this.roleListeners.delete(listener);
  }

  confirmedAtMs(): number | undefined {
    return this.leaderConfirmedAtMs;
  }

  /**
   * Numbers the content past every version seen, and stores it in Redis under this instance's term.
   * Refused (PublishRefused, nothing swapped, this instance steps down) when a newer term exists;
   * when Redis is unreachable the leader swaps locally anyway and says so in Status.
   */
  async publish(content: SnapshotContent): Promise<Snapshot> {
    // No local "am I still leader?" shortcut: a poll that was in flight when this instance was paused
    // or replaced reaches Redis, and Redis refuses it by its term. That is the guarantee, and it is
    // what Status counts (attempted and refused).
    const term = this.term;
    this.counts.publishesAttempted += 1;
    for (let attempt = 0; ; attempt++) {
      const version = Math.max(this.snapshot?.version ?? 0, this.storedVersion) + 1;
      const made = Snapshot.fromContent({ version, term }, content, this.snapshot);
      // The block comes from this process's own encoder: a refusal is a bug, not bad input.
      if (!made.ok) throw new Error(`cannot publish: ${made.reason}`);
      const snapshot = made.value;
      let reply: number[] | undefined;
      try {
        reply = integers(await this.connection.run(PUBLISH, [this.keys.term, this.keys.version, this.keys.snapshot, this.keys.confirmed], [String(term), String(version), wireOf(snapshot), this.keys.channel, String(Date.now())]));
        this.answered();
      } catch (err) {
        this.failed(errorText(err), err instanceof RedisTimeout);
        this.counts.publishesFailed += 1;
        this.lastPublish = { version, term, outcome: 'failed', atMs: Date.now(), error: errorText(err) };
        // Unreachable or slow: the leader keeps serving what it ingested (its next publish refills
        // Redis); an instance that is no longer leader has no business swapping in its own data.
        if (!this.leader) throw err;
        this.swap(snapshot);
        return snapshot;
      }
      if (reply === undefined || reply.length !== 3) throw new Error('publish script gave an unexpected reply');
      const [state, newest, stored] = reply as [number, number, number];
      this.newestTerm = Math.max(this.newestTerm, newest);
      if (state === 1) {
        this.counts.publishesAccepted += 1;
        this.storedVersion = version;
        this.lastPublish = { version, term, outcome: 'accepted', atMs: Date.now() };
        this.swap(snapshot);
        // Paired with followers' "applied" lines, this measures replica lag (bench/cluster.ts).
        this.logger.debug(`published snapshot v${version} (term ${term})`);
        return snapshot;
      }
      if (state === -1 && attempt === 0 && newest === term) {
        this.counts.publishesAttempted += 1;
        // Redis holds a version at least as high (a hostile value, or a leader before us we had not
        // followed yet): number past it and try once more.
        this.storedVersion = Math.max(this.storedVersion, stored);
        continue;
      }
      const reason = state === 0 ? `term ${term} is stale: term ${newest} is newer` : `Redis holds version ${stored}`;
      this.counts.publishesRefused += 1;
      this.lastPublish = { version, term, outcome: 'refused', atMs: Date.now(), error: reason };
      if (state === 0) this.stepDown(`publish of v${version} refused by Redis: ${reason}`);
      throw new PublishRefused(`publish of v${version} refused by Redis: ${reason}`);
    }
  }

  /** The leader confirmed its data current without a new snapshot (a 304): followers' readiness reads it. */
  async confirm(atMs: number): Promise<void> {
    if (!this.leader) return;
    try {
      await this.connection.run(CONFIRM, [this.keys.term, this.keys.confirmed], [String(this.term), String(atMs)]);
      this.answered();
    } catch (err) {
      this.failed(errorText(err), err instanceof RedisTimeout);
    }
  }

  status(): StoreStatus {
    return {
      kind: 'redis',
      role: this.leader ? 'leader' : 'follower',
      term: this.leader ? this.term : this.newestTerm,
      connected: this.connection.isReady && !this.commandsFailing,
      ...(this.lastError === undefined ? {} : { lastError: this.lastError }),
      ...(this.lastPublish === undefined ? {} : { lastPublish: this.lastPublish }),
      details: {
        url: redactRedisUrl(this.options.url),
        key_prefix: this.options.keyPrefix,
        lease_seconds: this.options.leaseMs / 1000,
        instance_id: this.instanceId,
        newest_term: this.newestTerm,
        stored_version: this.storedVersion,
        publishes: { attempted: this.counts.publishesAttempted, accepted: this.counts.publishesAccepted, refused: this.counts.publishesRefused, failed: this.counts.publishesFailed },
        snapshots_applied: this.counts.snapshotsApplied,
        contents_rejected: this.counts.contentsRejected,
        leases_taken: this.counts.leasesTaken,
        leader_confirmed_at: this.leaderConfirmedAtMs === undefined ? null : Math.floor(this.leaderConfirmedAtMs / 1000),
      },
    };
  }

  /** Stops following; a leader releases its lease so another instance takes over at once. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.checkTimer);
    clearInterval(this.leaseTimer);
    await this.electing;
    if (this.leader) {
      this.leader = false;
      try {
        if (await this.lease.release()) this.logger.info(`released the lease of term ${this.term}`);
      } catch (err) {
        this.logger.warning(`could not release the lease (it expires by itself within ${this.options.leaseMs / 1000} s): ${errorText(err)}`);
      }
    }
    await this.syncing;
    this.connection.close();
  }

  /** One election round: renew, take or learn who holds the lease. Never overlaps itself. */
  private elect(): Promise<void> {
    this.electing ??= this.electOnce().finally(() => {
      this.electing = undefined;
    });
    return this.electing;
  }

  private async electOnce(): Promise<void> {
    if (this.closed || !this.connection.isReady) return;
    // The timer runs at the followers' pace; a leader renews only every third of its lease.
    if (this.leader && Date.now() - this.renewedAtMs < this.options.leaseMs / 3 - 25) return;
    if (!this.leader && Date.now() < this.bidNotBeforeMs) return;
    let outcome;
    try {
      outcome = await this.lease.acquireOrRenew(Math.max(this.newestTerm, this.term));
      this.answered();
    } catch (err) {
      // A leader that cannot reach Redis keeps ingesting locally; its lease lapses on its own.
      this.failed(errorText(err), err instanceof RedisTimeout);
      return;
    }
    if (this.closed) return;
    this.newestTerm = Math.max(this.newestTerm, outcome.term);
    if (!outcome.held) {
      if (this.leader) this.stepDown(`the lease is held by another instance (term ${outcome.term})`);
      return;
    }
    this.renewedAtMs = Date.now();
    const newTerm = outcome.term !== this.term;
    this.term = outcome.term;
    if (outcome.fresh) this.counts.leasesTaken += 1;
    if (this.leader) {
      if (newTerm) this.logger.info(`lease taken again under term ${outcome.term} (Redis had lost it)`);
      return;
    }
    // Load whatever was published last before numbering past it.
    await this.sync();
    if (this.closed) return;
    this.leader = true;
    this.logger.info(`leader under term ${outcome.term}: polling the generator`, { instance: this.instanceId, version: this.snapshot?.version ?? null });
    for (const listener of this.roleListeners) listener(true);
  }

  private stepDown(reason: string): void {
    if (!this.leader) return;
    this.leader = false;
    this.logger.warning(`no longer leader: ${reason}; following`, { term: this.term });
    for (const listener of this.roleListeners) listener(false);
  }

  /** Loads the stored snapshot when it is newer than ours. Coalesces calls; never rejects. */
  private sync(): Promise<void> {
    if (this.syncing !== undefined) {
      this.syncAgain = true;
      return this.syncing;
    }
    this.syncing = (async () => {
      do {
        this.syncAgain = false;
        await this.syncOnce();
      } while (this.syncAgain && !this.closed);
    })().finally(() => {
      this.syncing = undefined;
    });
    return this.syncing;
  }

  private async syncOnce(): Promise<void> {
    if (this.closed || !this.connection.isReady) return;
    try {
      const [versionBytes, confirmedBytes, termBytes] = await this.connection.mGet([this.keys.version, this.keys.confirmed, this.keys.term]);
      this.answered();
      const term = wholeNumber(termBytes);
      if (term !== undefined) this.newestTerm = Math.max(this.newestTerm, term);
      const confirmed = wholeNumber(confirmedBytes);
      if (confirmed !== undefined) this.leaderConfirmedAtMs = Math.max(this.leaderConfirmedAtMs ?? 0, confirmed);
      if (versionBytes === null || versionBytes === undefined) return;
      const stored = wholeNumber(versionBytes);
      if (stored === undefined) return this.refuse(undefined, `version key holds ${JSON.stringify(versionBytes.toString('latin1').slice(0, 40))}, not a version`);
      this.storedVersion = Math.max(this.storedVersion, stored);
      const local = this.snapshot?.version ?? 0;
      if (stored <= local || stored === this.refusedVersion) return;
      const bytes = await this.connection.get(this.keys.snapshot);
      this.answered();
      if (bytes === null) return this.refuse(stored, 'the snapshot key is empty');
      this.apply(bytes, stored);
    } catch (err) {
      this.failed(errorText(err), err instanceof RedisTimeout);
    }
  }

  /** Checks foreign bytes and makes them current when newer; a refusal is one log line, the snapshot kept. */
  private apply(bytes: Buffer, announced: number): void {
    const wire = decodeSnapshotWire(bytes);
    if (!wire.ok) return this.refuse(announced, wire.reason);
    const local = this.snapshot?.version ?? 0;
    if (wire.value.version <= local) return;
    const block = adoptForeignBlock(wire.value.block);
    if (!block.ok) return this.refuse(wire.value.version, block.reason);
    const made = Snapshot.fromContent({ version: wire.value.version, term: wire.value.term }, { block: block.value, ingestedAtMs: wire.value.ingestedAtMs }, this.snapshot);
    if (!made.ok) return this.refuse(wire.value.version, made.reason);
    this.newestTerm = Math.max(this.newestTerm, wire.value.term);
    this.counts.snapshotsApplied += 1;
    this.swap(made.value);
    this.logger.debug(`applied snapshot v${made.value.version} (term ${made.value.term})`, { switches: made.value.switchCount, bytes: bytes.length });
  }

  private refuse(version: number | undefined, reason: string): void {
    this.counts.contentsRejected += 1;
    if (version !== undefined && version === this.refusedVersion) return;
    this.refusedVersion = version;
    const keeping = this.snapshot === undefined ? 'no snapshot yet' : `keeping snapshot v${this.snapshot.version}`;
    const message = `refused the snapshot in Redis${version === undefined ? '' : ` (v${version})`}: ${reason}; ${keeping}`;
    this.lastError = { message, atMs: Date.now() };
    this.logger.error(message, { key: this.keys.snapshot });
  }

  private swap(snapshot: Snapshot): void {
    if (this.snapshot !== undefined && snapshot.version <= this.snapshot.version) return;
    this.snapshot = snapshot;
    for (const listener of this.listeners) listener(snapshot);
  }

  private onReady(reconnect: boolean): void {
    this.commandsFailing = false;
    if (this.outageSinceMs !== undefined) {
      this.logger.info(`redis connection restored after ${((Date.now() - this.outageSinceMs) / 1000).toFixed(1)} s`);
      this.outageSinceMs = undefined;
    }
    if (reconnect && !this.leader) this.bidNotBeforeMs = Date.now() + this.options.leaseMs;
    void this.sync();
  }

  private answered(): void {
    if (this.commandsFailing && this.outageSinceMs !== undefined) {
      this.logger.info(`redis answers again after ${((Date.now() - this.outageSinceMs) / 1000).toFixed(1)} s`);
      this.outageSinceMs = undefined;
    }
    this.commandsFailing = false;
  }

  /** Records a failure; the first of an outage (or a new reason) is logged, repeats are not. */
  private failed(message: string, timedOut = false): void {
    if (timedOut) this.commandsFailing = true;
    const nowMs = Date.now();
    const text = `redis: ${message}`;
    const repeated = this.lastError?.message === text && this.outageSinceMs !== undefined;
    this.lastError = { message: text, atMs: nowMs };
    if (repeated) return;
    this.outageSinceMs ??= nowMs;
    const keeping = this.snapshot === undefined ? 'no snapshot yet' : `serving snapshot v${this.snapshot.version}`;
    this.logger.error(`${text}; ${keeping}${this.leader ? ', still ingesting' : ''}; reconnecting`, { url: redactRedisUrl(this.options.url) });
  }
}

/** The wire form a snapshot is stored as: compact columns (exact 32-bit integers where they fit), no id table (followers rebuild it anyway). */
function wireOf(snapshot: Snapshot): Buffer {
  const columns = decodeColumns(snapshot.block, 'own');
  if (!columns.ok) throw new Error(`cannot encode snapshot v${snapshot.version}: ${columns.reason}`);
  const block = encodeColumns(columns.value, { compact: true, withIndexTable: false });
  const wire = encodeSnapshotWire({ version: snapshot.version, term: snapshot.term, ingestedAtMs: snapshot.ingestedAtMs, block });
  return Buffer.from(wire.buffer, wire.byteOffset, wire.byteLength);
}

/** A non-negative safe integer written as decimal text, or undefined. */
function wholeNumber(bytes: Buffer | null | undefined): number | undefined {
  if (bytes === null || bytes === undefined || bytes.length === 0 || bytes.length > 20) return undefined;
  const text = bytes.toString('latin1');
  if (!/^\d+$/.test(text)) return undefined;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : undefined;
}
