/**
 * Finds the switches whose published values changed since the previous tick, once per tick, so a
 * stream's delta event is rendered once and shared by every client. Pure apart from the copy of the
 * previous tick it keeps: a few typed arrays, as large as the simulator's own columns.
 */
import type { MetricName } from '../../common/telemetry-schema.js';
import type { CsvSource } from './csv-writer.js';

/** Remembers the last tick's published columns and answers which rows differ in the next one. */
export class ChangeTracker {
  private previous: Float64Array[] | undefined;

  constructor(private readonly metrics: readonly MetricName[]) {}

  /**
   * The rows (ascending switch indexes) whose value of any published metric differs from the last
   * call's, then remembers this state. The first call has nothing to compare with: every row.
   */
  changedRows(source: CsvSource): Int32Array {
    const n = source.switchCount;
    const columns = this.metrics.map((m) => source.columns[m]!);
    const previous = this.previous;
    let rows: Int32Array;
    if (previous === undefined) {
      rows = new Int32Array(n);
      for (let i = 0; i < n; i++) rows[i] = i;
    } else {
      const found = new Int32Array(n);
      let count = 0;
      for (let i = 0; i < n; i++) {
        for (let c = 0; c < columns.length; c++) {
          // Values are already rounded to their published format, so != means the CSV line differs.
          if (columns[c]![i] !== previous[c]![i]) {
            found[count++] = i;
            break;
          }
        }
      }
      rows = found.slice(0, count);
    }
    this.previous = columns.map((column) => Float64Array.from(column));
    return rows;
  }
}
