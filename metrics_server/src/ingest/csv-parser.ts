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
 * the input is a fixed, unquoted dialect. It reads the bytes as they came off the socket: no decoding
 * to a string, no string per field, numbers converted while scanning. `npm run bench` runs it, the
 * straightforward string parser it replaced (`csv-parser-reference.ts`, kept as the reference the
 * property tests compare against) and csv-parse on the same body.
 */
import { SWITCH_ID_COLUMN, SWITCH_ID_MAX_LENGTH, isValidMetricName } from '../../../common/telemetry-schema.js';
import { SwitchIndex, findRow, hashBytes, tableSizeFor, type SwitchIndexData } from '../snapshot/switch-index.js';
import { parseTelemetryCsvReference } from './csv-parser-reference.js';

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

/**
 * The parse of a byte body, in the shape the prepared views are rendered from. Internal to ingestion:
 * `prepareSnapshot` uses it directly; `parseTelemetryCsv` turns it into `ParsedTelemetry`.
 */
export interface ParsedColumns {
  readonly metrics: readonly string[];
  readonly rowCount: number;
  /** Row-major, exactly `rowCount * metrics.length` long, owning its buffer. */
  readonly values: Float64Array;
  /** The accepted ids and their hash index (owning their buffers, transferable). */
  readonly index: SwitchIndexData;
  /** The body the tokens point into. */
  readonly source: Uint8Array;
  /** Per value (same indexing as `values`): where its token starts in `source`... */
  readonly tokenStart: Int32Array;
  /**
   * ...and the token's length when the token is already the value's shortest form, the text
   * `String(value)` gives (`8123`, `1.42`, `0`); 0 when it is not (`+5`, `007`, `1.50`, `1e3`, `-0`),
   * and the text must be made from the value instead.
   */
  readonly tokenLength: Uint8Array;
  readonly rejected: RowRejectCounts;
  readonly rowsSeen: number;
}

export type ColumnsResult =
  | { readonly ok: true; readonly data: ParsedColumns }
  | { readonly ok: false; readonly reason: string; readonly rejected?: RowRejectCounts };

/**
 * Parses CSV text. A string goes through the byte parser as UTF-8 (a string with unpaired surrogates,
 * which UTF-8 cannot carry, goes through the reference parser so error messages quote it as given).
 * Bytes are read as UTF-8: bytes that are not UTF-8 can only sit inside a field, where they fail
 * every pattern, so such rows are rejected, never served.
 */
export function parseTelemetryCsv(input: string | Uint8Array): ParseResult {
  let bytes: Uint8Array;
  if (typeof input === 'string') {
    if (LONE_SURROGATE.test(input)) return parseTelemetryCsvReference(input);
    bytes = Buffer.from(input, 'utf8');
  } else bytes = input;
  const result = parseTelemetryBytes(bytes, 1);
  if (!result.ok) return result;
  const { metrics, values, rejected, rowsSeen, index } = result.data;
  return { ok: true, data: { metrics, switchIds: [...new SwitchIndex(index).ids()], values, rejected, rowsSeen } };
}

const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

const CR = 13;
const LF = 10;
const COMMA = 44;

/** Character classes of the switch id pattern `^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$`. */
const ID_FIRST = 1;
const ID_REST = 2;
const ID_CLASS = new Uint8Array(256);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  if (/[A-Za-z0-9]/.test(ch)) ID_CLASS[c] = ID_FIRST | ID_REST;
  else if (/[_.:-]/.test(ch)) ID_CLASS[c] = ID_REST;
}

/** Powers of ten that are exact doubles. */
const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);

const OK = 0;
const WRONG_FIELD_COUNT = 1;
const INVALID_NUMBER = 2;
const INVALID_SWITCH_ID = 3;
const DUPLICATE_SWITCH_ID = 4;
const REASONS: readonly RowRejectReason[] = ['wrong_field_count', 'wrong_field_count', 'invalid_number', 'invalid_switch_id', 'duplicate_switch_id'];

/**
 * The byte parser: one pass over the body, no string per field, numbers converted while scanning,
 * ids deduplicated through the hash index that the snapshot then keeps. Same results as
 * `parseTelemetryCsvReference(utf8Decode(bytes))` (the property tests hold it to that).
 *
 * @param leadingBoms how many leading UTF-8 BOMs to skip: 1 for text whose decoder kept the BOM, 2
 *   to match a decoder that drops one before the parser drops another (what `prepareSnapshot` did).
 */
export function parseTelemetryBytes(input: Uint8Array, leadingBoms = 1): ColumnsResult {
  // A plain Uint8Array view (not a Buffer): every byte loop then sees one array type and stays fast.
  const bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  const n = bytes.length;
  let begin = 0;
  for (let b = 0; b < leadingBoms && begin + 2 < n && bytes[begin] === 0xef && bytes[begin + 1] === 0xbb && bytes[begin + 2] === 0xbf; b++) begin += 3;
  if (isBlank(bytes, begin)) return { ok: false, reason: 'empty body' };

  let headerEnd = bytes.indexOf(LF, begin);
  if (headerEnd === -1) headerEnd = n;
  let headerLineEnd = headerEnd;
  if (headerLineEnd > begin && bytes[headerLineEnd - 1] === CR) headerLineEnd -= 1;
  const header = analyzeHeader(utf8.decode(bytes.subarray(begin, headerLineEnd)));
  if (!header.ok) return header;
  const { metrics, idColumn } = header;
  const width = metrics.length;
  const fieldCount = width + 1;

  // Every data row is one line, so the line count bounds the rows: no growing, no second pass.
  let lines = 1;
  for (let i = bytes.indexOf(LF, headerEnd + 1); i !== -1; i = bytes.indexOf(LF, i + 1)) lines += 1;
  const values = new Float64Array(lines * width);
  const tokenStart = new Int32Array(lines * width);
  const tokenLength = new Uint8Array(lines * width);
  const idText = new Uint8Array(Math.max(0, n - headerEnd));
  const idEnds = new Int32Array(lines);
  const table = new Int32Array(tableSizeFor(lines));
  const index: SwitchIndexData = { idText, idEnds, table };
  const mask = table.length - 1;
  const counts = [0, 0, 0, 0, 0];
  let rows = 0;
  let idTextLength = 0;
  let rowsSeen = 0;

  let pos = headerEnd + 1;
  while (pos < n) {
    let lineEnd = bytes.indexOf(LF, pos);
    if (lineEnd === -1) lineEnd = n;
    let end = lineEnd;
    if (end > pos && bytes[end - 1] === CR) end -= 1;
    const lineStart = pos;
    pos = lineEnd + 1;
    if (end === lineStart) continue; // blank line, e.g. the trailing newline
    rowsSeen += 1;

    const base = rows * width;
    let field = 0;
    let start = lineStart;
    let idStart = -1;
    let idEnd = -1;
    let bad = OK;
    for (;;) {
      let comma = start;
      while (comma < end && bytes[comma] !== COMMA) comma++;
      if (field >= fieldCount) {
        bad = WRONG_FIELD_COUNT;
        break;
      }
      if (field === idColumn) {
        idStart = start;
        idEnd = comma;
      } else if (bad === OK) {
        const k = base + (field < idColumn ? field : field - 1);
        if (scanNumber(bytes, start, comma)) {
          values[k] = scanned.value;
          tokenStart[k] = start;
          tokenLength[k] = scanned.canonical ? comma - start : 0;
        } else bad = INVALID_NUMBER;
      }
      field += 1;
      if (comma === end) break;
      start = comma + 1;
    }
    if (bad !== WRONG_FIELD_COUNT && field !== fieldCount) bad = WRONG_FIELD_COUNT;
    if (bad === OK && !isValidId(bytes, idStart, idEnd)) bad = INVALID_SWITCH_ID;
    let hash = 0;
    if (bad === OK) {
      hash = hashBytes(bytes, idStart, idEnd);
      if (rows > 0 && findRow(index, bytes, idStart, idEnd, hash) !== -1) bad = DUPLICATE_SWITCH_ID;
    }
    if (bad !== OK) {
      counts[bad]! += 1;
      continue;
    }
    if (rows > 0) idText[idTextLength++] = LF;
    for (let i = idStart; i < idEnd; i++) idText[idTextLength++] = bytes[i]!;
    idEnds[rows] = idTextLength;
    let slot = hash & mask;
    while (table[slot] !== 0) slot = (slot + 1) & mask;
    table[slot] = rows + 1;
    rows += 1;
  }

  const rejected = emptyRejectCounts();
  for (let r = WRONG_FIELD_COUNT; r <= DUPLICATE_SWITCH_ID; r++) rejected[REASONS[r]!] += counts[r]!;
  if (rows === 0) return { ok: false, reason: rowsSeen === 0 ? 'no data rows' : 'no valid row', rejected };
  return {
    ok: true,
    data: {
      metrics,
      rowCount: rows,
      values: values.slice(0, rows * width),
      index: { idText: idText.slice(0, idTextLength), idEnds: idEnds.slice(0, rows), table },
      source: bytes,
      tokenStart,
      tokenLength,
      rejected,
      rowsSeen,
    },
  };
}

const utf8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

/** `text.trim() === ''` for the text from `begin` on. */
function isBlank(bytes: Uint8Array, begin: number): boolean {
  for (let i = begin; i < bytes.length; i++) {
    const c = bytes[i]!;
    if (c === 32 || (c >= 9 && c <= 13)) continue;
    // Non-ASCII: it may be Unicode white space (U+00A0, U+2028, ...), which trim() also removes.
    if (c >= 0x80) return utf8.decode(bytes.subarray(i)).trim() === '';
    return false;
  }
  return true;
}

function isValidId(bytes: Uint8Array, start: number, end: number): boolean {
  const length = end - start;
  if (start < 0 || length < 1 || length > SWITCH_ID_MAX_LENGTH) return false;
  if ((ID_CLASS[bytes[start]!]! & ID_FIRST) === 0) return false;
  for (let i = start + 1; i < end; i++) if ((ID_CLASS[bytes[i]!]! & ID_REST) === 0) return false;
  return true;
}

/** The result of the last successful `scanNumber` (a module-level pair avoids an allocation per value). */
const scanned = { value: 0, canonical: false };

/**
 * Reads `bytes[start..end)` as a number of the schema's form `[+-]?\d+(\.\d+)?([eE][+-]?\d+)?`,
 * finite. The value is exactly `Number(token)`: with at most 15 significant digits and no exponent,
 * the digits form an integer below 2^53 and the power of ten is exact, so one IEEE division is
 * correctly rounded, as `Number` is; anything else is handed to `Number` itself.
 *
 * `canonical` says the token is the value's shortest round-trip form as JavaScript prints it
 * (`String(value)`): no sign but `-`, no leading zero, no trailing fractional zero, no exponent, at
 * most 15 significant digits (so it round-trips), not below 1e-6 (where `String` switches to
 * exponent notation), and not a negative zero.
 */
function scanNumber(bytes: Uint8Array, start: number, end: number): boolean {
  let i = start;
  if (i === end) return false;
  const c = bytes[i]!;
  let negative = false;
  let plus = false;
  if (c === 45) {
    negative = true;
    i++;
  } else if (c === 43) {
    plus = true;
    i++;
  }
  const intStart = i;
  let mantissa = 0;
  let significant = 0;
  while (i < end) {
    const d = bytes[i]! - 48;
    if (d < 0 || d > 9) break;
    if (significant > 0 || d !== 0) significant++;
    mantissa = mantissa * 10 + d;
    i++;
  }
  const intLength = i - intStart;
  if (intLength === 0) return false;
  let fracLength = 0;
  let leadingFracZeros = 0;
  let lastDigit = 0;
  if (i < end && bytes[i] === 46) {
    i++;
    const fracStart = i;
    while (i < end) {
      const d = bytes[i]! - 48;
      if (d < 0 || d > 9) break;
      if (significant > 0 || d !== 0) significant++;
      else leadingFracZeros++;
      mantissa = mantissa * 10 + d;
      lastDigit = d;
      i++;
    }
    fracLength = i - fracStart;
    if (fracLength === 0) return false;
  }
  let exponent = false;
  if (i < end && (bytes[i] === 101 || bytes[i] === 69)) {
    exponent = true;
    i++;
    if (i < end && (bytes[i] === 43 || bytes[i] === 45)) i++;
    const expStart = i;
    while (i < end && bytes[i]! >= 48 && bytes[i]! <= 57) i++;
    if (i === expStart) return false;
  }
  if (i !== end) return false;

  let value: number;
  const exact = !exponent && significant <= 15 && fracLength <= 22;
  if (exact) {
    value = fracLength === 0 ? mantissa : mantissa / POW10[fracLength]!;
    if (negative) value = -value;
  } else {
    value = Number(latin1(bytes, start, end));
    if (!Number.isFinite(value)) return false;
  }
  scanned.value = value;
  scanned.canonical =
    exact &&
    !plus &&
    !(intLength > 1 && bytes[intStart] === 48) &&
    !(fracLength > 0 && lastDigit === 0) &&
    !(negative && value === 0) &&
    !(fracLength > 0 && bytes[intStart] === 48 && leadingFracZeros > 5);
  return true;
}

function latin1(bytes: Uint8Array, start: number, end: number): string {
  let text = '';
  for (let i = start; i < end; i++) text += String.fromCharCode(bytes[i]!);
  return text;
}

export type HeaderAnalysis =
  | { readonly ok: true; readonly metrics: readonly string[]; readonly idColumn: number }
  | { readonly ok: false; readonly reason: string };

/** Validates the header line (without its line ending). Shared with the reference parser. */
export function analyzeHeader(line: string): HeaderAnalysis {
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
