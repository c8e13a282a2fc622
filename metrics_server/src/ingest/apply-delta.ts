/**
 * Applies a stream's delta (the CSV header plus the lines of the switches that changed) to the
 * columns of the current snapshot: a delta row replaces that switch's row, every other switch keeps
 * its values (SPEC "Streams"). Pure, and all or nothing: a delta that does not fit the base (other
 * metrics, a switch the base does not have, a row that failed validation) is refused whole, so a
 * half-applied state is never built. The push source then asks the generator for a full event.
 */
import type { MetricColumn, TelemetryColumns } from '../snapshot/columns.js';
import { ANY_DECIMALS } from '../snapshot/columns.js';
import { findRow, hashBytes } from '../snapshot/switch-index.js';
import { totalRejected, type ParsedBody } from './parse-outcome.js';

/** The merged columns, or why the delta cannot be applied. */
export type DeltaResult = { readonly ok: true; readonly columns: TelemetryColumns } | { readonly ok: false; readonly reason: string };

/** `base` with the rows of `delta` replaced. The base's ids, their order and its index are kept. */
export function applyDelta(base: TelemetryColumns, delta: ParsedBody): DeltaResult {
  const rejected = totalRejected(delta.rejected);
  // A skipped row would leave that switch at an old value while the rest moved on: refuse the whole delta.
  if (rejected > 0) return { ok: false, reason: `delta has ${rejected} invalid rows` };
  const changes = delta.columns;
  const baseNames = base.metrics.map((m) => m.name).join(',');
  const deltaNames = changes.metrics.map((m) => m.name).join(',');
  if (baseNames !== deltaNames) return { ok: false, reason: `delta metrics (${deltaNames}) differ from the snapshot's (${baseNames})` };

  // Each delta row's place in the base, through the base's own index.
  const { idText, idEnds } = changes.ids;
  const targets = new Int32Array(changes.rowCount);
  for (let r = 0; r < changes.rowCount; r++) {
    const start = r === 0 ? 0 : idEnds[r - 1]! + 1;
    const end = idEnds[r]!;
    const row = findRow(base.ids, idText, start, end, hashBytes(idText, start, end));
    if (row === -1) return { ok: false, reason: `delta has switch ${Buffer.from(idText.subarray(start, end)).toString('latin1')}, which the snapshot does not have` };
    targets[r] = row;
  }

  const metrics: MetricColumn[] = base.metrics.map((column, c) => {
    const values = column.values.slice();
    const changed = changes.metrics[c]!.values;
    for (let r = 0; r < targets.length; r++) values[targets[r]!] = changed[r]!;
    return { name: column.name, decimals: mergedDecimals(column.decimals, changes.metrics[c]!.decimals, targets.length), values };
  });
  return { ok: true, columns: { rowCount: base.rowCount, ids: base.ids, metrics } };
}

/**
 * The number kind of a merged column. It is a bound ("at most d places"), so the larger of the two
 * stays true of every value; a delta with no rows says nothing about the column.
 */
function mergedDecimals(base: number, delta: number, deltaRows: number): number {
  if (deltaRows === 0) return base;
  if (base === ANY_DECIMALS || delta === ANY_DECIMALS) return ANY_DECIMALS;
  return Math.max(base, delta);
}
