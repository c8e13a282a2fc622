/**
 * The straightforward CSV parser: decode to a string, split lines and fields with `indexOf`, validate
 * each token with the schema's regular expressions, deduplicate ids with a `Set`. This was the
 * production parser before the byte parser (`src/ingest/csv/parser.ts`) replaced it; it stays as the
 * reference that the property tests compare the byte parser against, and as a row of `npm run bench`.
 * Its result is row by row (`rows[r][c]`), the plainest shape to compare with.
 */
import { METRIC_NAME_PATTERN, SWITCH_ID_COLUMN, TIMESTAMP_FIELD, isValidSwitchId, parseDecimalNumber } from '../../../common/telemetry-schema.js';
import { ANY_DECIMALS, MAX_DECIMALS } from '../../src/snapshot/columns.js';
import { parseCsvBytes } from '../../src/ingest/csv/parser.js';
import { emptyRejectCounts, type ParseOutcome, type RowRejectCounts, type RowRejectReason } from '../../src/ingest/parse-outcome.js';

const BOM = '\uFEFF';

/** A parse, row by row. */
export interface ReferenceParse {
  readonly metrics: readonly string[];
  /** Per metric: the most fractional digits of a plain value (≤ 15 significant digits, no exponent), else ANY_DECIMALS. */
  readonly decimals: readonly number[];
  readonly switchIds: readonly string[];
  readonly rows: readonly (readonly number[])[];
  /** `rows` flattened, row by row. */
  readonly values: readonly number[];
  readonly rejected: RowRejectCounts;
  readonly rowsSeen: number;
}

/** The reference's answer: a parse, or why the body is unusable. */
export type ReferenceResult = { readonly ok: true; readonly data: ReferenceParse } | { readonly ok: false; readonly reason: string; readonly rejected?: RowRejectCounts };

/** The byte parser's outcome in the reference's shape, for deepEqual. */
export function asReference(outcome: ParseOutcome): ReferenceResult {
  if (!outcome.ok) return outcome;
  const { columns, rejected, rowsSeen } = outcome.parsed;
  const { idText, idEnds } = columns.ids;
  const switchIds = Buffer.from(idText.buffer, idText.byteOffset, idText.byteLength).toString('latin1').split('\n');
  assertLength(switchIds.length, idEnds.length);
  const rows = switchIds.map((_, r) => columns.metrics.map((m) => m.values[r]!));
  return { ok: true, data: { metrics: columns.metrics.map((m) => m.name), decimals: columns.metrics.map((m) => m.decimals), switchIds, rows, values: rows.flat(), rejected, rowsSeen } };
}

/**
 * The production byte parser on text or bytes, answered in the reference's shape (what most tests
 * want to look at). Text is encoded as UTF-8 and parsed as a decoder that kept its BOM would.
 */
export function parseTelemetryCsv(input: string | Uint8Array): ReferenceResult {
  return asReference(parseCsvBytes(typeof input === 'string' ? Buffer.from(input, 'utf8') : input, 1));
}

function assertLength(actual: number, expected: number): void {
  if (actual !== expected) throw new Error(`id text holds ${actual} ids, the index ${expected}`);
}

/** Fractional digits of a plain decimal token, or ANY_DECIMALS. */
function tokenDecimals(token: string): number {
  const match = /^[+-]?(\d+)(?:\.(\d+))?$/.exec(token);
  if (match === null) return ANY_DECIMALS;
  const digits = (match[1]! + (match[2] ?? '')).replace(/^0+/, '');
  if (digits.length > 15) return ANY_DECIMALS;
  const places = match[2]?.length ?? 0;
  return places > MAX_DECIMALS ? ANY_DECIMALS : places;
}

/** The most columns a header may have (the byte parser's MAX_COLUMNS, restated: the limit is part of the contract). */
const REFERENCE_MAX_COLUMNS = 256;

/**
 * Upstream text in an error message, the plain way: at most 40 characters then `...`, JSON-quoted,
 * with DEL, the C1 controls and U+2028/U+2029 (which JSON leaves raw) written as `\uXXXX`.
 */
function quoteReference(text: string): string {
  const short = text.length > 40 ? text.slice(0, 40) + '...' : text;
  let out = '';
  for (const c of JSON.stringify(short)) {
    const code = c.charCodeAt(0);
    out += (code >= 0x7f && code <= 0x9f) || code === 0x2028 || code === 0x2029 ? '\\u' + code.toString(16).padStart(4, '0') : c;
  }
  return out;
}

/**
 * The header line, analysed the plain way: its own code, not the byte parser's `analyzeHeader`, so
 * the equivalence property can see a header bug (it shared that function before, and could not).
 * The checks run in the contract's order: blank, too many columns, no id column, then column by
 * column a repeated name before an invalid one.
 */
export function analyzeHeaderReference(line: string): { ok: true; metrics: string[]; idColumn: number } | { ok: false; reason: string } {
  if (line.trim() === '') return { ok: false, reason: 'no header line' };
  const names = line.split(',');
  if (names.length > REFERENCE_MAX_COLUMNS) return { ok: false, reason: `header has more than ${REFERENCE_MAX_COLUMNS} columns` };
  const idColumn = names.indexOf(SWITCH_ID_COLUMN);
  if (idColumn < 0) return { ok: false, reason: `header has no ${SWITCH_ID_COLUMN} column` };
  const metrics: string[] = [];
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    if (names.indexOf(name) < i) return { ok: false, reason: `duplicate column ${quoteReference(name)}` };
    if (i === idColumn) continue;
    if (!METRIC_NAME_PATTERN.test(name) || name === TIMESTAMP_FIELD) return { ok: false, reason: `invalid column name ${quoteReference(name)}` };
    metrics.push(name);
  }
  if (metrics.length === 0) return { ok: false, reason: 'header has no metric columns' };
  return { ok: true, metrics, idColumn };
}

/** Parses CSV text the plain way. */
export function parseTelemetryCsvReference(input: string): ReferenceResult {
  const text = input.startsWith(BOM) ? input.slice(1) : input;
  if (text.trim() === '') return { ok: false, reason: 'empty body' };

  let headerEnd = text.indexOf('\n');
  if (headerEnd === -1) headerEnd = text.length;
  const headerLine = text.slice(0, headerEnd);
  const header = analyzeHeaderReference(headerLine.endsWith('\r') ? headerLine.slice(0, -1) : headerLine);
  if (!header.ok) return header;
  const { metrics, idColumn } = header;
  const fieldCount = metrics.length + 1;

  const rejected = emptyRejectCounts();
  const ids: string[] = [];
  const seen = new Set<string>();
  const rows: number[][] = [];
  const decimals = metrics.map(() => 0);
  let rowsSeen = 0;
  const rowValues = metrics.map(() => 0);
  const rowDecimals = metrics.map(() => 0);

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
        else {
          rowValues[field < idColumn ? field : field - 1] = value;
          rowDecimals[field < idColumn ? field : field - 1] = tokenDecimals(token);
        }
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
    rows.push([...rowValues]);
    for (const [c, d] of rowDecimals.entries()) decimals[c] = decimals[c] === ANY_DECIMALS || d === ANY_DECIMALS ? ANY_DECIMALS : Math.max(decimals[c]!, d);
    ids.push(id!);
    seen.add(id!);
  }

  if (ids.length === 0) {
    return { ok: false, reason: rowsSeen === 0 ? 'no data rows' : 'no valid row', rejected };
  }
  return {
    ok: true,
    data: { metrics, decimals, switchIds: ids, rows, values: rows.flat(), rejected, rowsSeen },
  };
}
