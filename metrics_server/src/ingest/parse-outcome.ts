/**
 * What a parse of a source's body yields, whatever the body's format: the columns of the accepted
 * rows, or why the whole body was refused; and, either way, how many rows were rejected and why.
 * A leaf module: the parsers, the ingester, health and the Prometheus counters all name these.
 */
import type { TelemetryColumns } from '../snapshot/columns.js';

/** How a delivered body is encoded: the generator's CSV, or an Arrow IPC stream (SPEC, "Binary transport"). */
export type BodyFormat = 'csv' | 'arrow';

/**
 * How the body is wrapped on its way: as it is (a poll's body, a CSV event's data), or in base64 (an
 * Arrow event's data on the push stream, since an event stream is text).
 */
export type BodyEncoding = 'raw' | 'base64';

/** The format's name in log lines and Status (`unusable Arrow: ...`). */
export function formatLabel(format: BodyFormat): string {
  return format === 'arrow' ? 'Arrow' : 'CSV';
}

/** Why a single row was skipped (the rest of the body is still used). */
export const ROW_REJECT_REASONS = ['wrong_field_count', 'invalid_number', 'invalid_switch_id', 'duplicate_switch_id'] as const;

/** One of ROW_REJECT_REASONS. */
export type RowRejectReason = (typeof ROW_REJECT_REASONS)[number];

/** Rows skipped, by reason. */
export type RowRejectCounts = Record<RowRejectReason, number>;

/** A parse that produced columns. */
export interface ParsedBody {
  readonly columns: TelemetryColumns;
  readonly rejected: RowRejectCounts;
  /** Data lines seen (accepted + rejected; blank lines are not counted). */
  readonly rowsSeen: number;
}

/** The columns, or why the whole body is unusable (with the rows rejected on the way, if any). */
export type ParseOutcome =
  | { readonly ok: true; readonly parsed: ParsedBody }
  | { readonly ok: false; readonly reason: string; readonly rejected?: RowRejectCounts };

/** All reasons at zero. */
export function emptyRejectCounts(): RowRejectCounts {
  return { wrong_field_count: 0, invalid_number: 0, invalid_switch_id: 0, duplicate_switch_id: 0 };
}

/** Rows rejected for any reason. */
export function totalRejected(counts: RowRejectCounts): number {
  return ROW_REJECT_REASONS.reduce((sum, reason) => sum + counts[reason], 0);
}

/** The reasons with a non-zero count, for a log line's fields. */
export function nonZeroRejects(counts: RowRejectCounts): Record<string, number> {
  const out: Record<string, number> = {};
  for (const reason of ROW_REJECT_REASONS) if (counts[reason] > 0) out[reason] = counts[reason];
  return out;
}
