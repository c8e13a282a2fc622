/**
 * The soak's memory verdict (issue 18): is the server leaking, or is its memory only moving the
 * way a healthy Node.js process's does?
 *
 * RSS is a poor witness on its own: V8 and the C allocator grow and give memory back in a sawtooth
 * (measured: 87 to 114 MB and back over ~100 s, with no growth of the live heap), so comparing the
 * start of a run with its end fails a healthy server that ends on a peak and passes a slow leak that
 * ends in a trough. Two bases are used instead:
 *
 * 1. **Live memory after a full collection** (the verdict): the soak has the server run a full GC
 *    and report `heapUsed + external` (JS objects plus ArrayBuffer memory) every few seconds. With
 *    the garbage gone, what is left is what the server holds; memory held by design (the history's
 *    bytes, as Status reports them) is subtracted. A least-squares line through the second half of
 *    these points must not rise faster than the limit: the first half is warm-up (JIT code,
 *    caches filling), and a leak, unlike warm-up, keeps going.
 * 2. **The minima of RSS per window** (reported; judged on runs of 5 minutes or more): the troughs of
 *    the sawtooth are where the allocator has given back what it could; their slope over the second
 *    half catches native memory a heap figure cannot see. Shorter runs hold too few teeth to judge.
 */

/** One measurement: seconds since the start of the run, and bytes. */
export interface MemoryPoint {
  readonly atS: number;
  readonly bytes: number;
}

/** A basis's verdict. */
export interface GrowthVerdict {
  readonly basis: string;
  /** False when the run was too short for this basis; then `leak` is false and `reason` says why. */
  readonly judged: boolean;
  readonly leak: boolean;
  /** Slope of the least-squares line through the judged points, in bytes per minute. */
  readonly slopeBytesPerMinute: number;
  readonly limitBytesPerMinute: number;
  /** How many points the line was fitted through. */
  readonly points: number;
  readonly reason: string;
}

/** Live memory may rise at most this fast over the second half: 1 MiB a minute (60 MiB an hour). */
export const LIVE_HEAP_LIMIT_BYTES_PER_MINUTE = 1024 * 1024;
/** RSS troughs may rise at most this fast over the second half: 2 MiB a minute. */
export const RSS_MINIMA_LIMIT_BYTES_PER_MINUTE = 2 * 1024 * 1024;
/** RSS is judged only on runs at least this long (several sawtooth periods). */
export const RSS_MIN_RUN_SECONDS = 300;
/** Fewest points a line is fitted through. */
const MIN_POINTS = 5;

/** Least-squares slope of bytes over seconds, in bytes per second. */
export function slopePerSecond(points: readonly MemoryPoint[]): number {
  const n = points.length;
  if (n < 2) return 0;
  const meanT = points.reduce((a, p) => a + p.atS, 0) / n;
  const meanB = points.reduce((a, p) => a + p.bytes, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.atS - meanT) * (p.bytes - meanB);
    den += (p.atS - meanT) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/** The points in the second half of the run (by time). */
export function secondHalf(points: readonly MemoryPoint[], runSeconds: number): MemoryPoint[] {
  return points.filter((p) => p.atS >= runSeconds / 2);
}

/** Verdict on live memory after full collections (basis 1). */
export function judgeLiveMemory(points: readonly MemoryPoint[], runSeconds: number, limit = LIVE_HEAP_LIMIT_BYTES_PER_MINUTE): GrowthVerdict {
  const judged = secondHalf(points, runSeconds);
  const basis = 'live heap + external after a full GC, second half';
  if (judged.length < MIN_POINTS) {
    return { basis, judged: false, leak: false, slopeBytesPerMinute: 0, limitBytesPerMinute: limit, points: judged.length, reason: `only ${judged.length} probes in the second half (need ${MIN_POINTS})` };
  }
  const slope = slopePerSecond(judged) * 60;
  const leak = slope > limit;
  return { basis, judged: true, leak, slopeBytesPerMinute: slope, limitBytesPerMinute: limit, points: judged.length, reason: leak ? 'rising faster than the limit' : 'flat within the limit' };
}

/** The lowest point of each window of `windowS` seconds (the sawtooth's troughs). */
export function windowMinima(points: readonly MemoryPoint[], windowS: number): MemoryPoint[] {
  const minima = new Map<number, MemoryPoint>();
  for (const p of points) {
    const w = Math.floor(p.atS / windowS);
    const known = minima.get(w);
    if (known === undefined || p.bytes < known.bytes) minima.set(w, p);
  }
  return [...minima.entries()].sort((a, b) => a[0] - b[0]).map(([, p]) => p);
}

/** Verdict on the RSS troughs (basis 2): windows of a twentieth of the run, at least 15 s. */
export function judgeRssMinima(points: readonly MemoryPoint[], runSeconds: number, limit = RSS_MINIMA_LIMIT_BYTES_PER_MINUTE): GrowthVerdict {
  const basis = 'RSS minima per window, second half';
  const windowS = Math.max(15, runSeconds / 20);
  const minima = secondHalf(windowMinima(points, windowS), runSeconds);
  const slope = slopePerSecond(minima) * 60;
  if (runSeconds < RSS_MIN_RUN_SECONDS || minima.length < MIN_POINTS) {
    return { basis, judged: false, leak: false, slopeBytesPerMinute: slope, limitBytesPerMinute: limit, points: minima.length, reason: `not judged: runs shorter than ${RSS_MIN_RUN_SECONDS} s hold too few sawtooth periods` };
  }
  const leak = slope > limit;
  return { basis, judged: true, leak, slopeBytesPerMinute: slope, limitBytesPerMinute: limit, points: minima.length, reason: leak ? 'troughs rising faster than the limit' : 'troughs flat within the limit' };
}

/** One line for the soak's report. */
export function describeVerdict(v: GrowthVerdict): string {
  const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(2)} MiB/min`;
  const state = !v.judged ? 'NOT JUDGED' : v.leak ? 'LEAK' : 'ok';
  return `${state}: ${v.basis}: slope ${mib(v.slopeBytesPerMinute)} over ${v.points} points (limit ${mib(v.limitBytesPerMinute)}); ${v.reason}`;
}
