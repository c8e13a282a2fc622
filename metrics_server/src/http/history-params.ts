/**
 * The query parameters of the history endpoints (SPEC "Durations and times"): a duration is a positive
 * integer with a unit `s`, `m`, `h` or `d`; a time is Unix seconds, `now`, or `-<duration>` before now.
 * Each parameter at most once and never empty; anything else is a 400 naming the parameter.
 */
import { badRequest } from './errors.js';
import { singleParam, type Query } from './query-params.js';

const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86400 };
/** Ten digits at most: 9,999,999,999 days is far past any retention, and still an exact double. */
const DURATION = /^([1-9][0-9]{0,9})([smhd])$/;
const UNIX_SECONDS = /^(0|[1-9][0-9]{0,11})$/;

/** The parameter's value, or undefined when absent (400 when repeated or empty). */
export function optionalParam(query: Query, name: string): string | undefined {
  return Object.prototype.hasOwnProperty.call(query, name) ? singleParam(query, name) : undefined;
}

/** Seconds of a duration text, or undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  const match = DURATION.exec(text);
  return match === null ? undefined : Number(match[1]) * UNIT_SECONDS[match[2]!]!;
}

/** Unix seconds of a time text relative to `now`, or undefined when it is not one. */
export function parseTime(text: string, now: number): number | undefined {
  if (text === 'now') return now;
  if (text.startsWith('-')) {
    const seconds = parseDuration(text.slice(1));
    return seconds === undefined ? undefined : now - seconds;
  }
  return UNIX_SECONDS.test(text) ? Number(text) : undefined;
}

/** A duration parameter in seconds (`fallback` text when absent). */
export function durationParam(query: Query, name: string, fallback?: string): { text: string; seconds: number } {
  const text = optionalParam(query, name) ?? fallback;
  if (text === undefined) throw badRequest(`missing query parameter '${name}'`);
  const seconds = parseDuration(text);
  if (seconds === undefined) throw badRequest(`query parameter '${name}' is not a duration (a positive integer with a unit s, m, h or d, such as 30s, 15m, 1h, 2d)`);
  return { text, seconds };
}

/** A time parameter in Unix seconds (`fallback` text when absent). */
export function timeParam(query: Query, name: string, now: number, fallback: string): number {
  const text = optionalParam(query, name) ?? fallback;
  const time = parseTime(text, now);
  if (time === undefined) throw badRequest(`query parameter '${name}' is not a time (Unix seconds, 'now', or '-' and a duration such as -15m)`);
  return time;
}

/** A window of `seconds` is allowed only within the retention. */
export function checkWithinRetention(seconds: number, retentionSeconds: number, what: string): void {
  if (seconds > retentionSeconds) throw badRequest(`${what} of ${seconds} s is longer than the history's retention of ${retentionSeconds} s`);
}

/** An integer parameter within [min, max] (`fallback` when absent). */
export function integerParam(query: Query, name: string, min: number, max: number, fallback: number): number {
  const text = optionalParam(query, name);
  if (text === undefined) return fallback;
  if (!/^[0-9]{1,7}$/.test(text) || Number(text) < min || Number(text) > max) throw badRequest(`query parameter '${name}' must be an integer from ${min} to ${max}`);
  return Number(text);
}

/** One of `allowed` (`fallback` when absent; required when there is none). */
export function choiceParam<T extends string>(query: Query, name: string, allowed: readonly T[], fallback?: T): T {
  const text = optionalParam(query, name) ?? fallback;
  if (text === undefined) throw badRequest(`missing query parameter '${name}'`);
  const found = allowed.find((a) => a === text);
  if (found === undefined) throw badRequest(`query parameter '${name}' must be one of ${allowed.join(', ')}`);
  return found;
}

/** Steps offered when a request asks for too many points, smallest first. */
const STEP_LADDER = ['1s', '5s', '10s', '15s', '30s', '1m', '2m', '5m', '10m', '15m', '30m', '1h', '2h', '6h', '12h', '1d'];
/** The ladder with each step in seconds, parsed once (GetHistory asks for a suggestion on every request). */
const STEP_LADDER_SECONDS: readonly (readonly [string, number])[] = STEP_LADDER.map((text) => [text, parseDuration(text)!]);

/** Buckets `[t, t + step)` aligned to the epoch that [since, until] touches. */
export function bucketCount(since: number, until: number, step: number): number {
  return Math.floor(until / step) - Math.floor(since / step) + 1;
}

/** The smallest step of the ladder (above `atLeast`) that keeps [since, until] within `limit` buckets. */
export function suggestStep(since: number, until: number, limit: number, atLeast = 0): string {
  for (const [text, step] of STEP_LADDER_SECONDS) {
    if (step > atLeast && bucketCount(since, until, step) <= limit) return text;
  }
  return `${Math.ceil((until - since + 1) / (limit - 1))}s`;
}
