/**
 * A query's view of the history: for one metric and a time window `[since, until]` (both ends
 * included), the pieces of each chunk that fall in it, oldest first, with the chunk's committed
 * count taken once (an append that commits while a sliced query runs does not change its answer).
 *
 * Values are read in "common units": value × 10^D, where D is the most decimals any piece stores
 * the metric with. A piece's stored unit times its `mult` is a common unit, so min, max and sums of
 * pieces with different decimals stay exact integers; a common unit divided by `commonScale` is the
 * value exactly as it went in. Raw (unscaled) pieces make sums inexact; `exact` says so.
 */
import type { HistoryChunk } from './history-chunk.js';
import type { MetricChunk } from './metric-chunk.js';

/** One chunk's part of a window. */
export interface Piece {
  readonly chunk: HistoryChunk;
  readonly metric: MetricChunk;
  /** Sample indexes [from, to) of the chunk inside the window. */
  readonly from: number;
  readonly to: number;
  /** True when the piece is every sample the chunk ever had and the chunk is closed: its summaries apply. */
  readonly whole: boolean;
  /** Stored unit × mult = common unit. */
  readonly mult: number;
}

/** The pieces of a window, and how to turn common units back into values. */
export interface MetricWindow {
  readonly pieces: readonly Piece[];
  readonly commonScale: number;
  /** False when a piece holds raw doubles (sums and averages are then floating-point). */
  readonly exact: boolean;
}

/** The pieces of `chunks` (oldest first) holding `metric` inside [since, until]. */
export function metricWindow(chunks: readonly HistoryChunk[], metric: string, since: number, until: number): MetricWindow {
  const found: { chunk: HistoryChunk; metric: MetricChunk; from: number; to: number; whole: boolean }[] = [];
  let decimals = 0;
  let exact = true;
  for (const chunk of chunks) {
    const m = chunk.metric(metric);
    const count = chunk.count;
    if (m === undefined || count === 0 || chunk.timestamps[count - 1]! < since || chunk.timestamps[chunk.start]! > until) continue;
    const from = chunk.lowerBound(since, count);
    const to = chunk.upperBound(until, count);
    if (from >= to) continue;
    if (m.isRaw) exact = false;
    else decimals = Math.max(decimals, m.decimals);
    found.push({ chunk, metric: m, from, to, whole: chunk.closed && chunk.summariesTrusted && from === 0 && to === count });
  }
  const commonScale = 10 ** decimals;
  return {
    pieces: found.map((p) => ({ ...p, mult: p.metric.isRaw ? commonScale : 10 ** (decimals - p.metric.decimals) })),
    commonScale,
    exact,
  };
}
