/**
 * Turns the generator's CSV into columns. Pure: no I/O, no clock, no logging.
 *
 * The header decides the metrics: a `switch_id` column (anywhere) plus metric columns. Accepts `\n`
 * and `\r\n`, a UTF-8 BOM and a trailing newline. Quoting is not part of the contract (the generator
 * never quotes), so a quoted field is simply a value that fails validation: its row is rejected.
 *
 * Failures come in two sizes. A whole-response failure (empty body, no header, no `switch_id`
 * column, duplicate or invalid column names, no valid row) rejects the cycle. A row failure skips the
 * row and counts it by reason.
 *
 * Hand-written rather than csv-parse because this is the ingestion hot path at 100,000 switches and
 * the input is a fixed, unquoted dialect; `npm run bench` runs both on the same body.
 */
import {
  SWITCH_ID_COLUMN,
  isValidMetricName,
  isValidSwitchId,
  parseDecimalNumber,
} from '../../../common/telemetry-schema.js';

export const ROW_REJECT_REASONS = [
  'wrong_field_count',
  'invalid_number',
  'invalid_switch_id',
  'duplicate_switch_id',
] as const;
export type RowRejectReason = (typeof ROW_REJECT_REASONS)[number];
export type RowRejectCounts = Record<RowRejectReason, number>;

/** Bounds that keep one bad response from costing unbounded memory or time. */
export const MAX_COLUMNS = 256;

export interface ParsedTelemetry {
  /** Metric names in header order (without `switch_id`). */
  readonly metrics: readonly string[];
  /** Accepted switch ids, in CSV order. */
  readonly switchIds: readonly string[];
  /** Row-major values: `values[row * metrics.length + metricIndex]`. */
  readonly values: Float64Array;
  readonly rejected: RowRejectCounts;
  /** Data lines seen (accepted + rejected; blank lines are not counted). */
  readonly rowsSeen: number;
}

export type ParseResult =
  | { readonly ok: true; readonly data: ParsedTelemetry }
  | { readonly ok: false; readonly reason: string; readonly rejected?: RowRejectCounts };

export function emptyRejectCounts(): RowRejectCounts {
  return { wrong_field_count: 0, invalid_number: 0, invalid_switch_id: 0, duplicate_switch_id: 0 };
}

const BOM = '\uFEFF';

export function parseTelemetryCsv(input: string): ParseResult {
  const text = input.startsWith(BOM) ? input.slice(1) : input;
  if (text.trim() === '') return { ok: false, reason: 'empty body' };

  let headerEnd = text.indexOf('\n');
  if (headerEnd === -1) headerEnd = text.length;
  const headerLine = stripCr(text.slice(0, headerEnd));
  const header = analyzeHeader(headerLine);
  if (!header.ok) return header;
  const { metrics, idColumn } = header;
  const fieldCount = metrics.length + 1;

  const rejected = emptyRejectCounts();
  const ids: string[] = [];
  const seen = new Set<string>();
  // Grown by doubling: the row count is unknown until the end and this avoids a second pass.
  let values = new Float64Array(Math.max(16, metrics.length * 1024));
  let rowsSeen = 0;
  const rowValues = new Float64Array(metrics.length);

  let pos = headerEnd + 1;
  while (pos < text.length) {
    let lineEnd = text.indexOf('\n', pos);
    if (lineEnd === -1) lineEnd = text.length;
    let end = lineEnd;
    if (end > pos && text.charCodeAt(end - 1) === 13) end -= 1;
    const lineStart = pos;
    pos = lineEnd + 1;
    if (end === lineStart) continue; // blank line, e.g. the trailing newline
    rowsSeen += 1;

    // Split the line without allocating an array of fields.
    let field = 0;
    let start = lineStart;
    let id: string | undefined;
    let bad: RowRejectReason | undefined;
    for (;;) {
      let comma = text.indexOf(',', start);
      if (comma === -1 || comma > end) comma = end;
      if (field >= fieldCount) {
        bad = 'wrong_field_count';
        break;
      }
      const token = text.slice(start, comma);
      if (field === idColumn) {
        id = token;
      } else if (bad === undefined) {
        const value = parseDecimalNumber(token);
        if (value === undefined) bad = 'invalid_number';
        else rowValues[field < idColumn ? field : field - 1] = value;
      }
      field += 1;
      if (comma === end) break;
      start = comma + 1;
    }
    if (bad !== 'wrong_field_count' && field !== fieldCount) bad = 'wrong_field_count';
    if (bad === undefined && (id === undefined || !isValidSwitchId(id))) bad = 'invalid_switch_id';
    if (bad === undefined && seen.has(id!)) bad = 'duplicate_switch_id';
    if (bad !== undefined) {
      rejected[bad] += 1;
      continue;
    }
    const row = ids.length;
    if ((row + 1) * metrics.length > values.length) {
      const grown = new Float64Array(values.length * 2);
      grown.set(values);
      values = grown;
    }
    values.set(rowValues, row * metrics.length);
    ids.push(id!);
    seen.add(id!);
  }

  if (ids.length === 0) {
    return { ok: false, reason: rowsSeen === 0 ? 'no data rows' : 'no valid row', rejected };
  }
  return {
    ok: true,
    data: { metrics, switchIds: ids, values: values.slice(0, ids.length * metrics.length), rejected, rowsSeen },
  };
}

type HeaderAnalysis =
  | { readonly ok: true; readonly metrics: readonly string[]; readonly idColumn: number }
  | { readonly ok: false; readonly reason: string };

function analyzeHeader(line: string): HeaderAnalysis {
  if (line.trim() === '') return { ok: false, reason: 'no header line' };
  // Count first, so a header of millions of columns is refused before it is split.
  let commas = 0;
  for (let i = line.indexOf(','); i !== -1; i = line.indexOf(',', i + 1)) {
    commas += 1;
    if (commas >= MAX_COLUMNS) return { ok: false, reason: `header has more than ${MAX_COLUMNS} columns` };
  }
  const names = line.split(',');
  const idColumn = names.indexOf(SWITCH_ID_COLUMN);
  if (idColumn === -1) return { ok: false, reason: `header has no ${SWITCH_ID_COLUMN} column` };
  const seen = new Set<string>();
  const metrics: string[] = [];
  for (const [i, name] of names.entries()) {
    if (seen.has(name)) return { ok: false, reason: `duplicate column ${quoted(name)}` };
    seen.add(name);
    if (i === idColumn) continue;
    if (!isValidMetricName(name)) return { ok: false, reason: `invalid column name ${quoted(name)}` };
    metrics.push(name);
  }
  if (metrics.length === 0) return { ok: false, reason: 'header has no metric columns' };
  return { ok: true, metrics, idColumn };
}

function stripCr(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}

/**
 * Quotes upstream text for an error message: short, single-line, no raw control characters.
 * JSON.stringify escapes C0 controls but leaves DEL, C1 controls (U+0080-U+009F, e.g. NEL) and
 * U+2028/U+2029 raw; the fault suite caught a column name carrying them into a log line, so those
 * are escaped too.
 */
function quoted(text: string): string {
  const short = text.length > 40 ? `${text.slice(0, 40)}...` : text;
  return JSON.stringify(short).replace(/[\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
