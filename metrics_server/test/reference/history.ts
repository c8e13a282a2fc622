/**
 * The brute-force history the real one is held to: every retained snapshot kept whole, every question
 * answered by filtering and sorting all of its samples. Sums and percentiles are taken over the values
 * scaled to integers by their largest number of decimals (exact), then divided back, as the contract
 * asks: exact values in, exact values out.
 */
import type { AggregateFn } from '../../src/history/aggregate-fns.js';

/** One snapshot as the reference keeps it. */
export interface RefSnapshot {
  readonly timestamp: number;
  readonly ids: readonly string[];
  /** metric → one value per id. */
  readonly values: ReadonlyMap<string, readonly number[]>;
}

const round15 = (x: number): number => Number(x.toPrecision(15));

/** The decimals needed to write `v` exactly (its shortest text), or -1 for exponent notation. */
function decimalsOf(v: number): number {
  const text = String(v);
  if (/e/i.test(text)) return -1;
  const dot = text.indexOf('.');
  return dot === -1 ? 0 : text.length - dot - 1;
}

/** The reference history. */
export class ReferenceHistory {
  readonly snapshots: RefSnapshot[] = [];
  constructor(readonly retentionSeconds: number) {}

  append(snapshot: RefSnapshot): void {
    const newest = this.snapshots[this.snapshots.length - 1];
    if (newest !== undefined && snapshot.timestamp < newest.timestamp) return;
    this.snapshots.push(snapshot);
    const cutoff = snapshot.timestamp - this.retentionSeconds;
    while (this.snapshots.length > 0 && this.snapshots[0]!.timestamp < cutoff) this.snapshots.shift();
  }

  /** (timestamp, value) of one series in [since, until]. */
  samples(id: string, metric: string, since: number, until: number): { timestamp: number; value: number }[] {
    const out: { timestamp: number; value: number }[] = [];
    for (const s of this.snapshots) {
      if (s.timestamp < since || s.timestamp > until) continue;
      const row = s.ids.indexOf(id);
      const column = s.values.get(metric);
      if (row !== -1 && column !== undefined) out.push({ timestamp: s.timestamp, value: column[row]! });
    }
    return out;
  }

  /** Switch ids in ranking order: the newest snapshot's order, then older ones' new ids, newest first. */
  switchOrder(metric: string, since: number, until: number): string[] {
    const order: string[] = [];
    for (let i = this.snapshots.length - 1; i >= 0; i--) {
      const s = this.snapshots[i]!;
      if (s.timestamp < since || s.timestamp > until || !s.values.has(metric)) continue;
      for (const id of s.ids) if (!order.includes(id)) order.push(id);
    }
    return order;
  }

  /** `fn` over values (series in order, for `changes` and `last` each series its own). */
  static apply(fn: AggregateFn, series: readonly { timestamp: number; value: number }[][]): number | null {
    const all = series.flat();
    if (all.length === 0) return null;
    const decimals = Math.max(0, ...all.map((x) => decimalsOf(x.value)));
    const exact = all.every((x) => decimalsOf(x.value) >= 0);
    const scale = 10 ** decimals;
    const units = all.map((x) => (exact ? Math.round(x.value * scale) : x.value * scale));
    switch (fn) {
      case 'count':
        return all.length;
      case 'min':
        return Math.min(...all.map((x) => x.value));
      case 'max':
        return Math.max(...all.map((x) => x.value));
      case 'sum': {
        const sum = units.reduce((a, b) => a + b, 0);
        return exact ? sum / scale : round15(sum / scale);
      }
      case 'avg':
        return round15(units.reduce((a, b) => a + b, 0) / all.length / scale);
      case 'changes':
        return series.reduce((n, s) => n + s.filter((x, i) => i > 0 && x.value !== s[i - 1]!.value).length, 0);
      case 'last': {
        // Ordered by (time, switch): the last series with the latest timestamp.
        let best = all[0]!;
        for (const s of series) for (const x of s) if (x.timestamp >= best.timestamp) best = x;
        return best.value;
      }
      default: {
        const q = { p50: 0.5, p90: 0.9, p95: 0.95, p99: 0.99 }[fn];
        const sorted = [...units].sort((a, b) => a - b);
        const rank = q * (sorted.length - 1);
        const lo = Math.floor(rank);
        const hi = Math.min(sorted.length - 1, lo + 1);
        const w = rank - lo;
        const v = w === 0 || hi === lo ? sorted[lo]! : sorted[lo]! * (1 - w) + sorted[hi]! * w;
        return round15(v / scale);
      }
    }
  }
}
