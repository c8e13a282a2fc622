/**
 * The lease that makes one instance the ingester, and the fencing term that comes with it. Each new
 * lease takes the next term from Redis (never lower than any term this instance has seen, so a Redis
 * restarted empty cannot hand an old term out again); the holder renews every third of the lease, so
 * two renewals may fail before it lapses. Pure bookkeeping around one script: the store decides what
 * winning or losing means.
 */
import type { RedisKeys } from './redis-keys.js';
import { integers, luaScript, type RedisConnection } from './redis-connection.js';
import { ACQUIRE_SCRIPT, RELEASE_SCRIPT } from './redis-scripts.js';
import { RELEASED_MESSAGE } from './redis-keys.js';

const ACQUIRE = luaScript(ACQUIRE_SCRIPT);
const RELEASE = luaScript(RELEASE_SCRIPT);

/** What one attempt found. */
export type LeaseOutcome =
  /** This instance holds the lease; `fresh` when it was just taken (a new term). */
  | { readonly held: true; readonly fresh: boolean; readonly term: number }
  /** Another instance holds it; `term` is the newest term. */
  | { readonly held: false; readonly term: number };

/** Takes, renews and releases the lease of one instance. */
export class LeaderLease {
  constructor(
    private readonly connection: RedisConnection,
    private readonly keys: RedisKeys,
    private readonly instanceId: string,
    private readonly leaseMs: number,
  ) {}

  /** Takes the lease if free, renews it if held; `termFloor` is the newest term this instance has seen. Rejects when Redis does not answer. */
  async acquireOrRenew(termFloor: number): Promise<LeaseOutcome> {
    const reply = integers(await this.connection.run(ACQUIRE, [this.keys.lease, this.keys.term], [this.instanceId, String(Math.ceil(this.leaseMs)), String(termFloor)]));
    if (reply === undefined || reply.length !== 2) throw new Error('lease script gave an unexpected reply');
    const [state, term] = reply as [number, number];
    if (state === 0) return { held: false, term };
    return { held: true, fresh: state === 2, term };
  }

  /** Gives the lease up (graceful shutdown) and tells the others, so one takes over at once. */
  async release(): Promise<boolean> {
    return (await this.connection.run(RELEASE, [this.keys.lease], [this.instanceId, this.keys.channel, RELEASED_MESSAGE])) === 1;
  }
}
