/**
 * The names a cluster uses in Redis. Every key carries the same hash tag (`{snapshot}`), so on Redis
 * Cluster they all land in one slot and the publish script may touch them together (a script's keys
 * must share a slot); on a single Redis or Sentinel the tag is just part of the name.
 */

/** The keys and channel of one cluster (one key prefix). */
export interface RedisKeys {
  /** The lease: the id of the instance that ingests, with an expiry. */
  readonly lease: string;
  /** The newest fencing term (INCR on every new lease). */
  readonly term: string;
  /** The version of the snapshot under `snapshot` (read by the periodic check, cheaper than the blob). */
  readonly version: string;
  /** The latest snapshot's wire form (snapshot/wire.ts envelope). */
  readonly snapshot: string;
  /** Unix ms at which the leader last confirmed its data current (new snapshot or a 304). */
  readonly confirmed: string;
  /** Pub/sub channel: a version number on each publish, `released` when a leader steps down. */
  readonly channel: string;
}

/** The hash tag shared by every key of a cluster. */
export const HASH_TAG = '{snapshot}';

/** The keys under `prefix` (e.g. `fabric:` gives `fabric:{snapshot}:lease`). */
export function redisKeys(prefix: string): RedisKeys {
  const base = `${prefix}${HASH_TAG}`;
  return {
    lease: `${base}:lease`,
    term: `${base}:term`,
    version: `${base}:version`,
    snapshot: `${base}:data`,
    confirmed: `${base}:confirmed`,
    channel: `${base}:published`,
  };
}

/** The announcement a leader publishes when it releases its lease on graceful shutdown. */
export const RELEASED_MESSAGE = 'released';
