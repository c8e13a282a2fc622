/**
 * The Lua scripts that make the lease and the fencing atomic inside Redis: no other command runs
 * between a script's reads and writes, so "is my term still the newest?" and "store my snapshot" are
 * one step, which a paused leader's late publish cannot slip between (the fencing-token argument).
 *
 * Values under these keys may be anything (a hostile or corrupted Redis): numbers are read with
 * `tonumber(x) or 0`, so garbage counts as "none" and is overwritten rather than crashing the script.
 */

/**
 * Take or renew the lease. KEYS: lease, term. ARGV: instance id, lease ms, term floor (the newest term
 * this instance has seen: a Redis restarted empty must not hand out a term lower than one already used).
 * Returns {state, term}: state 1 renewed (term unchanged), 2 newly taken (term incremented), 0 held by another.
 */
export const ACQUIRE_SCRIPT = `
local holder = redis.call('GET', KEYS[1])
local term = tonumber(redis.call('GET', KEYS[2])) or 0
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {1, term}
end
if holder then return {0, term} end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
term = term + 1
local floor = tonumber(ARGV[3]) or 0
if term <= floor then term = floor + 1 end
redis.call('SET', KEYS[2], term)
return {2, term}
`;

/** Release the lease if this instance holds it, and say so. KEYS: lease. ARGV: instance id, channel, message. Returns 1 or 0. */
export const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', ARGV[2], ARGV[3])
  return 1
end
return 0
`;

/**
 * Publish a snapshot under a term. KEYS: term, version, snapshot, confirmed. ARGV: term, version,
 * wire bytes, channel, now ms. Refused when a newer term exists (0) or the stored version is not older
 * (-1); otherwise the bytes, version and confirmation time are stored and the version announced (1).
 * A missing term (Redis restarted empty) is refilled with the publisher's. Returns {state, newest term, stored version}.
 */
export const PUBLISH_SCRIPT = `
local newest = tonumber(redis.call('GET', KEYS[1])) or 0
local stored = tonumber(redis.call('GET', KEYS[2])) or 0
local mine = tonumber(ARGV[1])
local version = tonumber(ARGV[2])
if mine < newest then return {0, newest, stored} end
if version <= stored then return {-1, newest, stored} end
if mine > newest then redis.call('SET', KEYS[1], ARGV[1]) end
redis.call('SET', KEYS[3], ARGV[3])
redis.call('SET', KEYS[2], ARGV[2])
redis.call('SET', KEYS[4], ARGV[5])
redis.call('PUBLISH', ARGV[4], ARGV[2])
return {1, mine, version}
`;

/** Record a confirmation (a 304) if the term is still the newest. KEYS: term, confirmed. ARGV: term, now ms. */
export const CONFIRM_SCRIPT = `
local newest = tonumber(redis.call('GET', KEYS[1])) or 0
if tonumber(ARGV[1]) < newest then return 0 end
redis.call('SET', KEYS[2], ARGV[2])
return 1
`;
