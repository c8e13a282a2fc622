/**
 * The column model: the one shape of fabric data that every stage after the parser reads. The CSV
 * parser (and later the Arrow decoder, a push delta, a Redis follower) produces it; the snapshot
 * holds it; every view (ListMetrics JSON, the Prometheus fabric text, history, stream events) is
 * rendered from it. It knows nothing of where the data came from or how it is shown.
 *
 * - switch ids in source order, with their id → row hash index (`SwitchIdIndexData`, switch-index.ts);
 * - one Float64Array per metric, `rowCount` long (column-major: a series is contiguous, which is what
 *   history, Arrow and top-N read);
 * - per metric, its number kind: how many decimal places every value of the column has.
 */
import type { SwitchIdIndexData } from './switch-index.js';

/**
 * The number kind of a column: `decimals` ≥ 0 means every value is exactly a decimal with at most that
 * many fractional digits and at most 15 significant digits (so `value × 10^decimals` is an exact
 * integer that prints back as the value); `ANY_DECIMALS` means no such bound is known (a value came
 * with an exponent or more than 15 significant digits) and a value's text must come from `String`.
 */
export const ANY_DECIMALS = -1;

/** The most fractional digits a decimal column may declare (beyond, values are ANY_DECIMALS). */
export const MAX_DECIMALS = 15;

/** One metric's column. */
export interface MetricColumn {
  /** The metric's name, as the source's header gave it. */
  readonly name: string;
  /** See ANY_DECIMALS. */
  readonly decimals: number;
  /** One value per switch row; never written once the columns are built. */
  readonly values: Float64Array;
}

/** A fabric's telemetry at one instant, column by column. */
export interface TelemetryColumns {
  readonly rowCount: number;
  readonly ids: SwitchIdIndexData;
  readonly metrics: readonly MetricColumn[];
}

/** The metric names of `columns`, in column order. */
export function metricNames(columns: TelemetryColumns): string[] {
  return columns.metrics.map((m) => m.name);
}
