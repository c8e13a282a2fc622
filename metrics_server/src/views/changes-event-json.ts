/**
 * The unfiltered `changes` event of `/telemetry/stream` (SPEC "Streams"), rendered as bytes from two
 * snapshots' columns: `{"version":V,"timestamp":T,"switches":{"sw1":{"latency_ms":1.5},…}}` with only
 * the switches that changed and, of each, only the changed metrics.
 *
 * At the simulator's default churn nearly every switch changes every tick, so this event is about
 * the size of a ListMetrics body (0.96 MB at 10,000 switches, 9.7 MB at 100,000). Building it as a
 * string on the main thread took 15–38 ms at 10,000 switches and 300–470 ms at 100,000, which held
 * every request and every stream write back; this version writes digits straight into bytes like
 * the ListMetrics renderer and runs in the render worker, once per snapshot for every client that
 * asked for the whole fabric. Filtered events (at most 1,000 switches) stay in `stream-events.ts`,
 * whose string version is also the reference this one is held to, byte for byte, in the tests.
 */
import type { TelemetryColumns } from '../snapshot/columns.js';
import { SWITCH_ID_MAX_LENGTH } from '../../../common/telemetry-schema.js';
import { keyTable, rowMajorValues } from './list-metrics-json.js';
import { MAX_VALUE_TEXT, writeValue } from '../snapshot/value-text.js';

/** True when both hold the same switch ids in the same order and the same metrics (a changes event can say nothing else). */
export function sameShape(before: TelemetryColumns, after: TelemetryColumns): boolean {
  const a = before.ids.idText;
  const b = after.ids.idText;
  if (a.byteLength !== b.byteLength || before.metrics.length !== after.metrics.length) return false;
  if (before.metrics.some((m, c) => m.name !== after.metrics[c]!.name)) return false;
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/** Reused between renders (one render at a time per thread); only the exact copy is new. */
let scratch = new Uint8Array(1 << 16);

/**
 * The `changes` event data from `before` to `after` (the snapshot `version` ingested at `timestamp`),
 * or undefined when the two differ in shape (see sameShape): the caller sends a `snapshot` instead.
 */
export function renderChangesJson(before: TelemetryColumns, after: TelemetryColumns, version: number, timestamp: number): Buffer | undefined {
  if (!sameShape(before, after)) return undefined;
  const width = after.metrics.length;
  const { bytes: keyBytes, ends: keyEnds } = keyTable(after.metrics.map((m) => `"${m.name}":`));
  const head = new Uint8Array(Buffer.from(`{"version":${version},"timestamp":${timestamp},"switches":{`, 'latin1'));
  const rowCount = after.rowCount;
  // Row-major copies: the loop below reads typed arrays only, so it stays monomorphic (list-metrics-json.ts).
  const afterRows = rowMajorValues(after.metrics, rowCount);
  const beforeRows = rowMajorValues(before.metrics, rowCount);
  const decimals = Int32Array.from(after.metrics, (m) => m.decimals);
  const bound = head.length + 2 + rowCount * (6 + SWITCH_ID_MAX_LENGTH + keyBytes.length + width * (MAX_VALUE_TEXT + 1));
  if (scratch.length < bound) scratch = new Uint8Array(bound);
  let p = 0;
  for (let i = 0; i < head.length; i++) scratch[p++] = head[i]!;
  p = writeChangedRows(scratch, p, rowCount, after.ids.idText, after.ids.idEnds, width, beforeRows, afterRows, decimals, keyBytes, keyEnds);
  scratch[p++] = 125; // } of "switches"
  scratch[p++] = 125; // } of the event
  const data = Buffer.allocUnsafeSlow(p);
  data.set(scratch.subarray(0, p));
  return data;
}

/** The changed switches' entries into `out` from `p`; returns the position after them. */
function writeChangedRows(
  out: Uint8Array,
  p: number,
  rowCount: number,
  idText: Uint8Array,
  idEnds: Int32Array,
  width: number,
  beforeRows: Float64Array,
  afterRows: Float64Array,
  decimals: Int32Array,
  keyBytes: Uint8Array,
  keyEnds: Int32Array,
): number {
  let first = true;
  for (let row = 0, k = 0; row < rowCount; row++, k += width) {
    let changed = false;
    for (let c = 0; c < width; c++) {
      if (afterRows[k + c] !== beforeRows[k + c]) {
        changed = true;
        break;
      }
    }
    if (!changed) continue;
    if (!first) out[p++] = 44; // ,
    first = false;
    out[p++] = 34; // "
    const idEnd = idEnds[row]!;
    for (let i = row === 0 ? 0 : idEnds[row - 1]! + 1; i < idEnd; i++) out[p++] = idText[i]!;
    out[p++] = 34;
    out[p++] = 58; // :
    out[p++] = 123; // {
    let firstMetric = true;
    for (let c = 0; c < width; c++) {
      const value = afterRows[k + c]!;
      if (value === beforeRows[k + c]) continue;
      if (!firstMetric) out[p++] = 44;
      firstMetric = false;
      for (let i = c === 0 ? 0 : keyEnds[c - 1]!; i < keyEnds[c]!; i++) out[p++] = keyBytes[i]!;
      p = writeValue(out, p, value, decimals[c]!, 0, 1, 1);
    }
    out[p++] = 125; // }
  }
  return p;
}
