/**
 * Turns the generator's CSV bytes into the column model (snapshot/columns.ts). Pure: no I/O, no
 * clock, no logging.
 *
 * The header decides the metrics: a `switch_id` column (anywhere) plus metric columns. Accepts `\n`
 * and `\r\n`, a UTF-8 BOM and a trailing newline. Quoting is not part of the contract (the generator
 * never quotes), so a quoted field is simply a value that fails validation: its row is rejected.
 *
 * Failures come in two sizes. A whole-body failure (empty body, no header, no `switch_id` column,
 * duplicate or invalid column names, no valid row) rejects the cycle. A row failure skips the row and
 * counts it by reason.
 *
 * Hand-written rather than csv-parse because this is the ingestion hot path at 100,000 switches and
 * the input is a fixed, unquoted dialect. It reads the bytes as they came off the socket: no decoding
 * to a string, no string per field, numbers converted while scanning, ids deduplicated through the
 * hash index the snapshot then keeps. The test suite holds it to a straightforward string parser
 * (`test/reference/csv-parser.ts`), and `npm run bench` runs both and csv-parse on the same body.
 *
 * Each column also gets its number kind: the most fractional digits any of its accepted values has,
 * or ANY_DECIMALS when a value came with an exponent or more than 15 significant digits.
 */
import { ANY_DECIMALS, MAX_DECIMALS, type MetricColumn } from '../../snapshot/columns.js';
import { findRow, hashBytes, insertRow, isSwitchIdBytes, tableSizeFor, type SwitchIdIndexData } from '../../snapshot/switch-index.js';
import { emptyRejectCounts, type ParseOutcome, type RowRejectReason } from '../parse-outcome.js';
import { analyzeHeader } from './header.js';

const CR = 13;
const LF = 10;
const COMMA = 44;

/** Powers of ten that are exact doubles. */
const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);

/** A fraction length no plain decimal has: marks a value with an exponent or too many digits. */
const NOT_PLAIN = 99;

const OK = 0;
const WRONG_FIELD_COUNT = 1;
const INVALID_NUMBER = 2;
const INVALID_SWITCH_ID = 3;
const DUPLICATE_SWITCH_ID = 4;
const REASONS: readonly RowRejectReason[] = ['wrong_field_count', 'wrong_field_count', 'invalid_number', 'invalid_switch_id', 'duplicate_switch_id'];

/** What a caller may relax. */
export interface CsvParseOptions {
  /**
   * Accept a header with no data line as zero rows: a stream's delta when nothing changed. (A body
   * whose every line was rejected is still refused.)
   */
  readonly allowNoRows?: boolean;
}

/**
 * Parses a CSV body.
 *
 * @param input the body as received; read as UTF-8 (bytes that are not UTF-8 can only sit inside a
 *   field, where they fail every pattern, so such rows are rejected, never served).
 * @param leadingBoms how many leading UTF-8 BOMs to skip: 2 for a body off the wire (as a decoder
 *   that drops one before the parser drops another would), 1 for text whose decoder kept the BOM.
 */
export function parseCsvBytes(input: Uint8Array, leadingBoms = 2, options: CsvParseOptions = {}): ParseOutcome {
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
  // Column-major: metric c of row r at values[c * lines + r].
  const values = new Float64Array(lines * width);
  const idText = new Uint8Array(Math.max(0, n - headerEnd));
  const idEnds = new Int32Array(lines);
  const table = new Int32Array(tableSizeFor(lines));
  const index: SwitchIdIndexData = { idText, idEnds, table };
  const rowFraction = new Int32Array(width);
  const columnFraction = new Int32Array(width);
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
        const c = field < idColumn ? field : field - 1;
        if (scanNumber(bytes, start, comma)) {
          values[c * lines + rows] = scanned.value;
          rowFraction[c] = scanned.fraction;
        } else bad = INVALID_NUMBER;
      }
      field += 1;
      if (comma === end) break;
      start = comma + 1;
    }
    if (bad !== WRONG_FIELD_COUNT && field !== fieldCount) bad = WRONG_FIELD_COUNT;
    if (bad === OK && !isSwitchIdBytes(bytes, idStart, idEnd)) bad = INVALID_SWITCH_ID;
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
    insertRow(table, hash, rows);
    for (let c = 0; c < width; c++) if (rowFraction[c]! > columnFraction[c]!) columnFraction[c] = rowFraction[c]!;
    rows += 1;
  }

  const rejected = emptyRejectCounts();
  for (let r = WRONG_FIELD_COUNT; r <= DUPLICATE_SWITCH_ID; r++) rejected[REASONS[r]!] += counts[r]!;
  if (rows === 0 && !(rowsSeen === 0 && options.allowNoRows === true)) return { ok: false, reason: rowsSeen === 0 ? 'no data rows' : 'no valid row', rejected };
  const columns: MetricColumn[] = metrics.map((name, c) => ({
    name,
    decimals: columnFraction[c]! > MAX_DECIMALS ? ANY_DECIMALS : columnFraction[c]!,
    values: values.subarray(c * lines, c * lines + rows),
  }));
  return {
    ok: true,
    parsed: {
      columns: { rowCount: rows, ids: { idText: idText.subarray(0, idTextLength), idEnds: idEnds.subarray(0, rows), table }, metrics: columns },
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

/** The result of the last successful `scanNumber` (a module-level pair avoids an allocation per value). */
const scanned = { value: 0, fraction: 0 };

/**
 * Reads `bytes[start..end)` as a number of the schema's form `[+-]?\d+(\.\d+)?([eE][+-]?\d+)?`,
 * finite. The value is exactly `Number(token)`: with at most 15 significant digits and no exponent,
 * the digits form an integer below 2^53 and the power of ten is exact, so one IEEE division is
 * correctly rounded, as `Number` is; anything else is handed to `Number` itself.
 *
 * `fraction` is the token's count of fractional digits when it is such a plain decimal (at most 15
 * significant digits, no exponent), else NOT_PLAIN: it is what makes the column's number kind.
 */
function scanNumber(bytes: Uint8Array, start: number, end: number): boolean {
  let i = start;
  if (i === end) return false;
  const c = bytes[i]!;
  let negative = false;
  if (c === 45) {
    negative = true;
    i++;
  } else if (c === 43) i++;
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
  if (i === intStart) return false;
  let fracLength = 0;
  if (i < end && bytes[i] === 46) {
    i++;
    const fracStart = i;
    while (i < end) {
      const d = bytes[i]! - 48;
      if (d < 0 || d > 9) break;
      if (significant > 0 || d !== 0) significant++;
      mantissa = mantissa * 10 + d;
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
  const plain = !exponent && significant <= 15 && fracLength <= 22;
  if (plain) {
    value = fracLength === 0 ? mantissa : mantissa / POW10[fracLength]!;
    if (negative) value = -value;
  } else {
    value = Number(latin1(bytes, start, end));
    if (!Number.isFinite(value)) return false;
  }
  scanned.value = value;
  scanned.fraction = plain ? fracLength : NOT_PLAIN;
  return true;
}

function latin1(bytes: Uint8Array, start: number, end: number): string {
  let text = '';
  for (let i = start; i < end; i++) text += String.fromCharCode(bytes[i]!);
  return text;
}
