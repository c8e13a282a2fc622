/**
 * Everything ingestion does that costs time proportional to the fabric: parse the body into columns
 * (with the id index) and write them as a column block, the snapshot's wire form. Pure, so it runs
 * the same inline (tests) or in the ingestion worker (production). The block is written into a
 * SharedArrayBuffer: the main thread reads the snapshot straight out of it and passes the same memory
 * on to the render worker, so nothing proportional to the fabric is copied between threads.
 *
 * No view is rendered here: views are the render worker's business (views/registry.ts), so a server
 * that follows another through Redis, with no ingestion of its own, renders them the same way.
 */
import { decodeColumns, encodeColumns } from '../snapshot/wire.js';
import { applyDelta } from './apply-delta.js';
import { parseArrowBytes } from './arrow/decoder.js';
import { decodeBase64Strict } from './base64.js';
import { parseCsvBytes } from './csv/parser.js';
import type { BodyEncoding, BodyFormat, ParseOutcome, RowRejectCounts } from './parse-outcome.js';

/** A body turned into a column block, or why it is unusable. */
export type PrepareResult =
  | {
      readonly ok: true;
      /** The column block (snapshot/wire.ts), in shared memory. */
      readonly block: Uint8Array;
      readonly switchCount: number;
      readonly rejected: RowRejectCounts;
      readonly rowsSeen: number;
    }
  | { readonly ok: false; readonly reason: string; readonly rejected?: RowRejectCounts };

/**
 * Parses a body as it came off the socket, a CSV (a leading BOM, even two, is skipped) or an Arrow
 * IPC stream (in base64 when `encoding` says so: a push event's data), and encodes its columns. Both
 * parsers validate alike and yield the same column model, so everything after this line is the same
 * whatever the format.
 */
export function prepareBody(body: Uint8Array, format: BodyFormat = 'csv', encoding: BodyEncoding = 'raw'): PrepareResult {
  const outcome = parse(body, format, encoding, false);
  if (!outcome.ok) return outcome;
  const { columns, rejected, rowsSeen } = outcome.parsed;
  return { ok: true, block: encodeColumns(columns, { shared: true }), switchCount: columns.rowCount, rejected, rowsSeen };
}

/**
 * Parses a stream's delta (CSV, or Arrow as `format` and `encoding` say) and applies it to `base`
 * (the current snapshot's column block, read in place from shared memory), then encodes the merged
 * columns as a new block. All or nothing: see apply-delta.ts.
 */
export function prepareDelta(body: Uint8Array, base: Uint8Array, format: BodyFormat = 'csv', encoding: BodyEncoding = 'raw'): PrepareResult {
  const outcome = parse(body, format, encoding, true);
  if (!outcome.ok) return outcome;
  const baseColumns = decodeColumns(base, 'own');
  if (!baseColumns.ok) return { ok: false, reason: `current snapshot unreadable: ${baseColumns.reason}` };
  const merged = applyDelta(baseColumns.value, outcome.parsed);
  if (!merged.ok) return { ok: false, reason: merged.reason, rejected: outcome.parsed.rejected };
  const { columns } = merged;
  return { ok: true, block: encodeColumns(columns, { shared: true }), switchCount: columns.rowCount, rejected: outcome.parsed.rejected, rowsSeen: outcome.parsed.rowsSeen };
}

/** The body's columns, whatever its format and wrapping; `allowNoRows` for a delta where nothing changed. */
function parse(body: Uint8Array, format: BodyFormat, encoding: BodyEncoding, allowNoRows: boolean): ParseOutcome {
  let bytes = body;
  if (encoding === 'base64') {
    const decoded = decodeBase64Strict(body);
    if (!decoded.ok) return decoded;
    bytes = decoded.bytes;
  }
  return format === 'arrow' ? parseArrowBytes(bytes, { allowNoRows }) : parseCsvBytes(bytes, 2, { allowNoRows });
}
