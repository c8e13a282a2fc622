/**
 * Turns an Arrow IPC body (SPEC, "Binary transport") into the column model, with the same validation
 * and the same outcome as the CSV parser: the schema plays the header's part (a `switch_id` column,
 * metric names by the schema's pattern, no duplicates, at most MAX_COLUMNS columns), and each row is
 * accepted or rejected for the CSV's reasons: `invalid_number` (a null, NaN or infinite value),
 * `invalid_switch_id` (null, or not matching the id pattern), `duplicate_switch_id`. Arrow has no
 * ragged rows, so `wrong_field_count` stays 0. Pure: no I/O, no clock, no logging.
 *
 * The `apache-arrow` library reads the stream's framing and metadata (flatbuffers) and hands back
 * typed-array views of the body, without copying; everything the library does not check before those
 * views are read is checked here, because the body is untrusted: every declared length is held
 * against the bytes actually present (a batch may declare a billion rows over forty bytes), string
 * offsets must be monotonic and inside their data, and column types must be the ones SPEC names.
 * Whatever the library throws on a malformed stream becomes the whole body's failure reason.
 *
 * Columns: `switch_id` as Utf8 or a dictionary of Utf8; metrics as Int32 (or a narrower integer,
 * signed or not) or Float64. Float32 and 64-bit integers are refused rather than converted: they
 * cannot carry the CSV's decimal values exactly (6.8 as Float32 reads back as 6.800000190734863).
 */
import { DataType, Precision, RecordBatchReader, type Data, type RecordBatch, type Schema } from 'apache-arrow';
import { SWITCH_ID_COLUMN, isValidMetricName } from '../../../../common/telemetry-schema.js';
import { ANY_DECIMALS, MAX_DECIMALS, type MetricColumn } from '../../snapshot/columns.js';
import { findRow, hashBytes, insertRow, isSwitchIdBytes, tableSizeFor } from '../../snapshot/switch-index.js';
import { MAX_COLUMNS, quoteUpstream } from '../csv/header.js';
import { emptyRejectCounts, type ParseOutcome } from '../parse-outcome.js';

/** More record batches than this and the body is refused (a writer sends one, or a few of 64Ki rows). */
export const MAX_RECORD_BATCHES = 4096;

const OK = 0;
const INVALID_NUMBER = 1;
const INVALID_SWITCH_ID = 2;
const DUPLICATE_SWITCH_ID = 3;
const LF = 10;
const POW10 = Array.from({ length: MAX_DECIMALS + 1 }, (_, i) => 10 ** i);

/** A failure of the whole body, thrown inside this module and returned as its reason. */
class Unusable extends Error {}

/** Parses an Arrow IPC stream (or file) body. */
export function parseArrowBytes(input: Uint8Array): ParseOutcome {
  if (input.byteLength === 0) return { ok: false, reason: 'empty body' };
  try {
    return decode(new Uint8Array(input.buffer, input.byteOffset, input.byteLength));
  } catch (err) {
    if (err instanceof Unusable) return { ok: false, reason: err.message };
    // The library's own complaint about the framing or metadata; said briefly, never with a stack.
    const message = err instanceof Error ? err.message : String(err);
    return { ok: false, reason: `not a readable Arrow IPC stream: ${oneLine(message)}` };
  }
}

/** A library message for a log line: at most 120 characters, no control characters. */
function oneLine(message: string): string {
  const short = message.length > 120 ? `${message.slice(0, 120)}...` : message;
  // Control characters are exactly what this removes.
  // eslint-disable-next-line no-control-regex
  return short.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '?');
}

interface Layout {
  readonly idColumn: number;
  /** Schema positions of the metric columns, in schema order. */
  readonly metricColumns: readonly number[];
  readonly metrics: readonly string[];
}

function decode(bytes: Uint8Array): ParseOutcome {
  const reader = RecordBatchReader.from(bytes);
  reader.open();
  // The schema is read before any batch, so a body with 10,000 columns is refused before its data is looked at.
  const layout = checkSchema(reader.schema as Schema | undefined);
  const batches: RecordBatch[] = [];
  let declaredRows = 0;
  for (const batch of reader) {
    if (batches.length >= MAX_RECORD_BATCHES) throw new Unusable(`more than ${MAX_RECORD_BATCHES} record batches`);
    for (const column of [layout.idColumn, ...layout.metricColumns]) checkBounds(batch.data.children[column], batch.numRows, reader.schema.fields[column]!.name);
    declaredRows += batch.numRows;
    batches.push(batch);
  }
  if (batches.length === 0) throw new Unusable('no record batch');
  if (declaredRows === 0) return { ok: false, reason: 'no data rows', rejected: emptyRejectCounts() };
  return collect(batches, layout, declaredRows);
}

/** The header checks of the CSV parser, on the schema's field names, plus SPEC's column types. */
function checkSchema(schema: Schema | undefined): Layout {
  if (schema === undefined || schema === null) throw new Unusable('no Arrow schema');
  const fields = schema.fields;
  if (fields.length > MAX_COLUMNS) throw new Unusable(`schema has more than ${MAX_COLUMNS} columns`);
  // The same order of checks as the CSV header's, so the same schema fails for the same reason.
  const idColumn = fields.findIndex((field) => field.name === SWITCH_ID_COLUMN);
  if (idColumn === -1) throw new Unusable(`schema has no ${SWITCH_ID_COLUMN} column`);
  const seen = new Set<string>();
  const metricColumns: number[] = [];
  const metrics: string[] = [];
  for (const [i, field] of fields.entries()) {
    const name = field.name;
    if (seen.has(name)) throw new Unusable(`duplicate column ${quoteUpstream(name)}`);
    seen.add(name);
    if (i === idColumn) {
      const type = field.type;
      const isText = DataType.isUtf8(type) || (DataType.isDictionary(type) && DataType.isUtf8(type.dictionary) && type.indices.bitWidth <= 32);
      if (!isText) throw new Unusable(`column ${SWITCH_ID_COLUMN} has type ${String(type)}; expected Utf8 or a dictionary of Utf8`);
      continue;
    }
    if (!isValidMetricName(name)) throw new Unusable(`invalid column name ${quoteUpstream(name)}`);
    if (!isMetricType(field.type)) throw new Unusable(`column ${quoteUpstream(name)} has type ${String(field.type)}; expected Int32 or Float64`);
    metricColumns.push(i);
    metrics.push(name);
  }
  if (metrics.length === 0) throw new Unusable('schema has no metric columns');
  return { idColumn, metricColumns, metrics };
}

function isMetricType(type: DataType): boolean {
  if (DataType.isInt(type)) return type.bitWidth <= 32;
  return DataType.isFloat(type) && type.precision === Precision.DOUBLE;
}

/**
 * Every buffer of `data` holds what `rows` rows need: the declared lengths of an untrusted body are
 * believed only once the bytes behind them are there.
 */
function checkBounds(data: Data | undefined, rows: number, name: string): void {
  if (data === undefined || data.length !== rows) throw new Unusable(`column ${quoteUpstream(name)} does not have the batch's ${rows} rows`);
  const end = data.offset + rows;
  const bitmap = data.nullBitmap as Uint8Array | undefined;
  if (bitmap !== undefined && bitmap.length > 0 && bitmap.length * 8 < end) throw new Unusable(`column ${quoteUpstream(name)}: validity bitmap shorter than its ${rows} rows`);
  const values = data.values as ArrayLike<number> | undefined;
  if (values === undefined) throw new Unusable(`column ${quoteUpstream(name)}: no data buffer`);
  // A string column's data may be shorter than its rows (empty strings); its offsets say where each ends.
  if (DataType.isUtf8(data.type)) checkOffsets(data.valueOffsets as Int32Array | undefined, data.offset, rows, values.length, name);
  else if (values.length < end) throw new Unusable(`column ${quoteUpstream(name)}: ${values.length} values for ${rows} rows`);
  if (DataType.isDictionary(data.type)) {
    const dictionary = data.dictionary;
    if (dictionary === undefined) throw new Unusable(`column ${quoteUpstream(name)}: dictionary missing`);
    for (const chunk of dictionary.data) checkBounds(chunk, chunk.length, `${name} dictionary`);
  }
}

function checkOffsets(offsets: Int32Array | undefined, offset: number, rows: number, dataLength: number, name: string): void {
  if (offsets === undefined || offsets.length < offset + rows + 1) throw new Unusable(`column ${quoteUpstream(name)}: string offsets shorter than its ${rows} rows`);
  let previous = offsets[offset]!;
  if (previous < 0) throw new Unusable(`column ${quoteUpstream(name)}: string offset out of range`);
  for (let i = offset + 1; i <= offset + rows; i++) {
    const next = offsets[i]!;
    if (next < previous || next > dataLength) throw new Unusable(`column ${quoteUpstream(name)}: string offset out of range`);
    previous = next;
  }
}

/** True when row `i` of `data` is null (no bitmap, or a zero null count, means none is). */
function isNull(bitmap: Uint8Array | undefined, i: number): boolean {
  return bitmap !== undefined && (bitmap[i >> 3]! & (1 << (i & 7))) === 0;
}

function bitmapOf(data: Data): Uint8Array | undefined {
  const bitmap = data.nullBitmap as Uint8Array | undefined;
  return bitmap !== undefined && bitmap.length > 0 && data.nullCount !== 0 ? bitmap : undefined;
}

/** Ids of one batch as byte ranges: Utf8 directly, or a dictionary's entries through the indices. */
interface IdSource {
  readonly bytes: Uint8Array;
  readonly starts: Int32Array;
  readonly ends: Int32Array;
  /** Null where the row's id is null (or its index points outside the dictionary). */
  readonly valid: (row: number) => boolean;
}

function idSource(data: Data): IdSource {
  const bitmap = bitmapOf(data);
  if (DataType.isUtf8(data.type)) {
    const offsets = data.valueOffsets as Int32Array;
    const base = data.offset;
    return {
      bytes: data.values as Uint8Array,
      starts: offsets.subarray(base, base + data.length),
      ends: offsets.subarray(base + 1, base + data.length + 1),
      valid: (row) => !isNull(bitmap, base + row),
    };
  }
  // A dictionary: its entries joined into one byte array, then each row's index looked up.
  const entries = flattenDictionary(data.dictionary!.data as Data[]);
  const indices = data.values as ArrayLike<number>;
  const base = data.offset;
  const starts = new Int32Array(data.length);
  const ends = new Int32Array(data.length);
  const bad = new Uint8Array(data.length);
  for (let row = 0; row < data.length; row++) {
    const k = indices[base + row]!;
    if (isNull(bitmap, base + row) || k < 0 || k >= entries.starts.length || !entries.present[k]) bad[row] = 1;
    else {
      starts[row] = entries.starts[k]!;
      ends[row] = entries.ends[k]!;
    }
  }
  return { bytes: entries.bytes, starts, ends, valid: (row) => bad[row] === 0 };
}

function flattenDictionary(chunks: readonly Data[]): { bytes: Uint8Array; starts: Int32Array; ends: Int32Array; present: Uint8Array } {
  let count = 0;
  let size = 0;
  for (const chunk of chunks) {
    count += chunk.length;
    const offsets = chunk.valueOffsets as Int32Array;
    size += offsets[chunk.offset + chunk.length]! - offsets[chunk.offset]!;
  }
  const bytes = new Uint8Array(size);
  const starts = new Int32Array(count);
  const ends = new Int32Array(count);
  const present = new Uint8Array(count);
  let k = 0;
  let p = 0;
  for (const chunk of chunks) {
    const offsets = chunk.valueOffsets as Int32Array;
    const values = chunk.values as Uint8Array;
    const bitmap = bitmapOf(chunk);
    for (let i = chunk.offset; i < chunk.offset + chunk.length; i++, k++) {
      const start = offsets[i]!;
      const end = offsets[i + 1]!;
      starts[k] = p;
      bytes.set(values.subarray(start, end), p);
      p += end - start;
      ends[k] = p;
      present[k] = isNull(bitmap, i) ? 0 : 1;
    }
  }
  return { bytes, starts, ends, present };
}

/** Validates every row, keeps the accepted ones (in stream order) as columns with their id index. */
function collect(batches: readonly RecordBatch[], layout: Layout, lines: number): ParseOutcome {
  const { idColumn, metricColumns, metrics } = layout;
  const width = metrics.length;
  // Column-major, as the CSV parser: metric c of row r at values[c * lines + r].
  const values = new Float64Array(lines * width);
  const verdict = new Uint8Array(lines);
  const counts = [0, 0, 0, 0];
  const table = new Int32Array(tableSizeFor(lines));
  let idBytes = lines;
  for (const batch of batches) {
    const ids = batch.data.children[idColumn]!;
    idBytes += DataType.isUtf8(ids.type) ? (ids.values as Uint8Array).length : batch.numRows * 8;
  }
  const idEnds = new Int32Array(lines);
  // Mutable, unlike SwitchIdIndexData: idText grows if a dictionary's ids are longer than guessed.
  const index: { idText: Uint8Array; idEnds: Int32Array; table: Int32Array } = { idText: new Uint8Array(idBytes), idEnds, table };
  let idTextLength = 0;
  let rows = 0;
  let base = 0;

  for (const batch of batches) {
    const n = batch.numRows;
    // Numbers first, column by column: a typed-array copy (converting to Float64 natively), then the
    // rows whose value is null or not finite are marked.
    for (let c = 0; c < width; c++) {
      const data = batch.data.children[metricColumns[c]!]!;
      const source = (data.values as Int32Array | Float64Array).subarray(data.offset, data.offset + n);
      const target = values.subarray(c * lines + base, c * lines + base + n);
      target.set(source);
      const bitmap = bitmapOf(data);
      if (bitmap !== undefined) for (let r = 0; r < n; r++) if (isNull(bitmap, data.offset + r)) verdict[base + r] = INVALID_NUMBER;
      if (source instanceof Float64Array) for (let r = 0; r < n; r++) if (!Number.isFinite(target[r]!)) verdict[base + r] = INVALID_NUMBER;
    }
    // Then ids, row by row, in stream order (the first of two equal ids wins, as in the CSV).
    const ids = idSource(batch.data.children[idColumn]!);
    for (let r = 0; r < n; r++) {
      const row = base + r;
      if (verdict[row] !== OK) continue;
      const start = ids.starts[r]!;
      const end = ids.ends[r]!;
      if (!ids.valid(r) || !isSwitchIdBytes(ids.bytes, start, end)) {
        verdict[row] = INVALID_SWITCH_ID;
        continue;
      }
      const hash = hashBytes(ids.bytes, start, end);
      if (rows > 0 && findRow(index, ids.bytes, start, end, hash) !== -1) {
        verdict[row] = DUPLICATE_SWITCH_ID;
        continue;
      }
      if (idTextLength + end - start + 1 > index.idText.length) index.idText = grow(index.idText, idTextLength + end - start + 1);
      const idText = index.idText;
      if (rows > 0) idText[idTextLength++] = LF;
      for (let i = start; i < end; i++) idText[idTextLength++] = ids.bytes[i]!;
      idEnds[rows] = idTextLength;
      insertRow(table, hash, rows);
      rows += 1;
    }
    base += n;
  }

  for (let row = 0; row < lines; row++) counts[verdict[row]!]! += 1;
  const rejected = emptyRejectCounts();
  rejected.invalid_number = counts[INVALID_NUMBER]!;
  rejected.invalid_switch_id = counts[INVALID_SWITCH_ID]!;
  rejected.duplicate_switch_id = counts[DUPLICATE_SWITCH_ID]!;
  if (rows === 0) return { ok: false, reason: 'no valid row', rejected };

  const columns: MetricColumn[] = metrics.map((name, c) => {
    const column = values.subarray(c * lines, c * lines + lines);
    if (rows < lines) compact(column, verdict);
    const kept = column.subarray(0, rows);
    const isInteger = DataType.isInt(batches[0]!.schema.fields[metricColumns[c]!]!.type);
    return { name, decimals: isInteger ? 0 : decimalsOf(kept), values: kept };
  });
  return {
    ok: true,
    parsed: { columns: { rowCount: rows, ids: { idText: index.idText.subarray(0, idTextLength), idEnds: idEnds.subarray(0, rows), table }, metrics: columns }, rejected, rowsSeen: lines },
  };
}

/** Moves the accepted rows' values to the front, in order. */
function compact(column: Float64Array, verdict: Uint8Array): void {
  let kept = 0;
  for (let row = 0; row < column.length; row++) if (verdict[row] === OK) column[kept++] = column[row]!;
}

function grow(bytes: Uint8Array, atLeast: number): Uint8Array {
  const bigger = new Uint8Array(Math.max(atLeast, bytes.length * 2));
  bigger.set(bytes);
  return bigger;
}

/**
 * The column's number kind (snapshot/columns.ts) from the doubles themselves, since Arrow carries no
 * text: the fewest decimal places d such that every value v is round(|v| × 10^d) / 10^d, below 10^15
 * once scaled; ANY_DECIMALS when no d up to MAX_DECIMALS fits. For values that came from the CSV
 * writer's shortest form this is the CSV parser's answer for the same tick; and whatever it says, the
 * views check each value again before trusting it (value-text.ts), so it only decides speed.
 */
export function decimalsOf(values: Float64Array): number {
  let d = 0;
  for (let i = 0; i < values.length; i++) {
    const v = Math.abs(values[i]!);
    for (;;) {
      const scaled = Math.round(v * POW10[d]!);
      if (scaled < 1e15 && scaled / POW10[d]! === v) break;
      if (d === MAX_DECIMALS) return ANY_DECIMALS;
      d += 1;
    }
  }
  return d;
}
