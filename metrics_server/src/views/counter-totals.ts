/**
 * Running totals per switch of a per-interval count (`packet_errors`), kept across snapshots, for the
 * fabric text's counter family: operators `rate()` a counter; a per-interval gauge sampled at another
 * rate double-counts or drops events.
 *
 * Each published snapshot adds its column to the totals of the same switch (the first snapshot
 * starts them). A `304` or a failed poll publishes nothing and so adds nothing. In poll mode a tick
 * the server never fetched (polling slower than the generator ticks) is never counted: the counter
 * then undercounts, which the README says. The totals live in the process and start again at 0 on a
 * restart, which Prometheus' `rate()` reads as a counter reset.
 *
 * The work per publish is one pass over the column (about 100,000 additions at 100,000 switches);
 * when the set of switch ids changed, each new row looks its id up in the previous snapshot once.
 */
import type { MetricName } from '../../../common/telemetry-schema.js';
import { ANY_DECIMALS } from '../snapshot/columns.js';
import type { Snapshot } from '../snapshot/snapshot.js';
import type { SnapshotReader } from '../store/reader.js';
import type { CounterColumn } from './fabric-metrics-text.js';

/** The totals of one metric, row-aligned with the latest published snapshot. */
export class CounterTotals {
  private latest: { readonly snapshot: Snapshot; readonly totals: Float64Array; readonly decimals: number } | undefined;
  private readonly unsubscribe: () => void;

  constructor(
    reader: SnapshotReader,
    private readonly metric: MetricName,
  ) {
    const current = reader.current();
    if (current !== undefined) this.add(current);
    this.unsubscribe = reader.onPublish((snapshot) => this.add(snapshot));
  }

  /** The totals as a counter column for `snapshot` (a copy), or undefined when they are not that snapshot's. */
  columnFor(snapshot: Snapshot): CounterColumn | undefined {
    const latest = this.latest;
    if (latest === undefined || latest.snapshot !== snapshot) return undefined;
    return { metric: this.metric, values: latest.totals.slice(), decimals: latest.decimals };
  }

  /** Stops following publishes. */
  close(): void {
    this.unsubscribe();
    this.latest = undefined;
  }

  private add(snapshot: Snapshot): void {
    const values = snapshot.copyColumn(this.metric);
    if (values === undefined) {
      // The column is gone from the generator's CSV: nothing to count, and nothing to keep.
      this.latest = undefined;
      return;
    }
    const previous = this.latest;
    const ownDecimals = snapshot.decimalsOf(this.metric) ?? ANY_DECIMALS;
    if (previous !== undefined) {
      if (snapshot.sameIdsAs(previous.snapshot)) {
        for (let row = 0; row < values.length; row++) values[row] = values[row]! + previous.totals[row]!;
      } else {
        for (const [row, id] of snapshot.switchIds.entries()) {
          const before = previous.snapshot.rowOf(id);
          if (before !== -1) values[row] = values[row]! + previous.totals[before]!;
        }
      }
    }
    // Sums of integers are integers; anything else prints through String (ANY_DECIMALS).
    const decimals = ownDecimals === 0 && (previous === undefined || previous.decimals === 0) ? 0 : ANY_DECIMALS;
    this.latest = { snapshot, totals: values, decimals };
  }
}
