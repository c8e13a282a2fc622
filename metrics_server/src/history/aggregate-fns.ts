/**
 * The aggregate functions of Aggregate and Top, over values in common units (window.ts). Percentiles
 * follow Prometheus' `quantile_over_time`: rank = q × (n − 1), linear interpolation between the two
 * neighbours (`lo × (1 − w) + hi × w`). Averages and percentiles are computed values, not stored
 * ones: they are rounded to 15 significant digits, which removes binary noise (4.87, not
 * 4.869999999999999) and keeps every digit a double holds.
 */

/** Every `fn` of Aggregate and Top. */
export const AGGREGATE_FNS = ['min', 'max', 'avg', 'sum', 'count', 'last', 'changes', 'p50', 'p90', 'p95', 'p99'] as const;

/** One of AGGREGATE_FNS. */
export type AggregateFn = (typeof AGGREGATE_FNS)[number];

/** True for a name in AGGREGATE_FNS. */
export function isAggregateFn(name: string): name is AggregateFn {
  return (AGGREGATE_FNS as readonly string[]).includes(name);
}

/** The quantile of a percentile function, or undefined for the others. */
export function quantileOf(fn: AggregateFn): number | undefined {
  switch (fn) {
    case 'p50':
      return 0.5;
    case 'p90':
      return 0.9;
    case 'p95':
      return 0.95;
    case 'p99':
      return 0.99;
    default:
      return undefined;
  }
}

/** True for the functions a closed chunk's summaries answer without decoding. */
export function summaryAnswers(fn: AggregateFn): boolean {
  return fn === 'min' || fn === 'max' || fn === 'sum' || fn === 'count' || fn === 'avg';
}

/** A computed value without binary noise: 15 significant digits. */
export function round15(value: number): number {
  return Number(value.toPrecision(15));
}

/** The k-th smallest (0-based) of `values[0, n)`, rearranging them (Hoare's selection, expected O(n)). */
export function selectKth(values: Float64Array, n: number, k: number): number {
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const pivot = values[(lo + hi) >>> 1]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (values[i]! < pivot) i++;
      while (values[j]! > pivot) j--;
      if (i <= j) {
        const t = values[i]!;
        values[i] = values[j]!;
        values[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return values[k]!;
  }
  return values[k]!;
}
