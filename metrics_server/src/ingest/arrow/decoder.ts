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
import { SWITCH_ID_COLUMN, SWITCH_ID_MAX_LENGTH, isValidMetricName } from '../../../../common/telemetry-schema.js';
import { ANY_DECIMALS, MAX_DECIMALS, type MetricColumn } from '../../snapshot/columns.js';
import { FNV_OFFSET, FNV_PRIME, isSwitchIdBytes, tableSizeFor } from '../../snapshot/switch-index.js';
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

/** What a caller may relax. */
export interface ArrowParseOptions {
  /** Accept record batches of zero rows in all as zero rows: a stream's delta when nothing changed. */
  readonly allowNoRows?: boolean;
}

/** Parses an Arrow IPC stream (or file) body. */
export function parseArrowBytes(input: Uint8Array, options: ArrowParseOptions = {}): ParseOutcome {
  if (input.byteLength === 0) return { ok: false, reason: 'empty body' };
  try {
    return decode(new Uint8Array(input.buffer, input.byteOffset, input.byteLength), options);
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

function decode(bytes: Uint8Array, options: ArrowParseOptions): ParseOutcome {
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
  if (declaredRows === 0) return options.allowNoRows === true ? noRows(layout) : { ok: false, reason: 'no data rows', rejected: emptyRejectCounts() };
  return collect(batches, layout, declaredRows);
}

/** Zero rows of the schema's metrics (the CSV parser's answer for a header-only delta). */
function noRows(layout: Layout): ParseOutcome {
  const metrics: MetricColumn[] = layout.metrics.map((name) => ({ name, decimals: 0, values: new Float64Array(0) }));
  return { ok: true, parsed: { columns: { rowCount: 0, ids: { idText: new Uint8Array(0), idEnds: new Int32Array(0), table: new Int32Array(tableSizeFor(0)) }, metrics }, rejected: emptyRejectCounts(), rowsSeen: 0 } };
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

/**
 * Ids of one batch as byte ranges of one array: Utf8 directly (its offsets), or a dictionary's
 * entries through the indices. `invalid[r]` is 1 where row r's id is null (or its index points
 * outside the dictionary); null when no row's is.
 */
interface IdSource {
  readonly bytes: Uint8Array;
  readonly starts: Int32Array;
  readonly ends: Int32Array;
  readonly invalid: Uint8Array | null;
}

function idSource(data: Data): IdSource {
  const bitmap = bitmapOf(data);
  const base = data.offset;
  const n = data.length;
  if (DataType.isUtf8(data.type)) {
    const offsets = data.valueOffsets as Int32Array;
    let invalid: Uint8Array | null = null;
    if (bitmap !== undefined) {
      invalid = new Uint8Array(n);
      for (let row = 0; row < n; row++) if (isNull(bitmap, base + row)) invalid[row] = 1;
    }
    return { bytes: data.values as Uint8Array, starts: offsets.subarray(base, base + n), ends: offsets.subarray(base + 1, base + n + 1), invalid };
  }
  // A dictionary: its entries joined into one byte array, then each row's index looked up.
  const entries = flattenDictionary(data.dictionary!.data as Data[]);
  const indices = data.values as ArrayLike<number>;
  const starts = new Int32Array(n);
  const ends = new Int32Array(n);
  const invalid = new Uint8Array(n);
  for (let row = 0; row < n; row++) {
    const k = indices[base + row]!;
    if (isNull(bitmap, base + row) || k < 0 || k >= entries.starts.length || entries.present[k] === 0) invalid[row] = 1;
    else {
      starts[row] = entries.starts[k]!;
      ends[row] = entries.ends[k]!;
    }
  }
  return { bytes: entries.bytes, starts, ends, invalid };
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

/** Character classes of the switch id pattern, derived from the index's own check (not restated here). */
const ID_FIRST = 1;
const ID_REST = 2;
const ID_CLASS = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  if (isSwitchIdBytes(Uint8Array.of(c), 0, 1)) ID_CLASS[c] = ID_CLASS[c]! | ID_FIRST;
  if (isSwitchIdBytes(Uint8Array.of(0x61, c), 0, 2)) ID_CLASS[c] = ID_CLASS[c]! | ID_REST;
}

/** The accepted ids so far: the index arrays being built and how far they are filled. */
interface IdsBuilt {
  idText: Uint8Array;
  readonly idEnds: Int32Array;
  readonly table: Int32Array;
  textLength: number;
  rows: number;
}

/**
 * Checks, hashes and copies each id of one batch in one pass over its bytes, then finds its slot in
 * the index with one probe: a duplicate leaves nothing behind, a new id is inserted where the probe
 * stopped. (Separate passes, the pattern check, the hash, the lookup and then the insert each walking
 * the id, made this loop 17 ms of the decoder's 22 ms at 100,000 switches.) The index is the one
 * `switch-index.ts` defines (FNV-1a, linear probing), so the snapshot's lookups find these rows.
 */
function acceptIds(ids: IdSource, n: number, base: number, verdict: Uint8Array, built: IdsBuilt): void {
  const { bytes, starts, ends, invalid } = ids;
  const { idEnds, table } = built;
  const mask = table.length - 1;
  let idText = built.idText;
  let p = built.textLength;
  let rows = built.rows;
  for (let r = 0; r < n; r++) {
    const row = base + r;
    if (verdict[row] !== OK) continue;
    const start = starts[r]!;
    const end = ends[r]!;
    const length = end - start;
    if ((invalid !== null && invalid[r] !== 0) || length < 1 || length > SWITCH_ID_MAX_LENGTH || (ID_CLASS[bytes[start]!]! & ID_FIRST) === 0) {
      verdict[row] = INVALID_SWITCH_ID;
      continue;
    }
    if (p + length + 1 > idText.length) idText = grow(idText, p + length + 1);
    // Copied tentatively after the separator; kept only if the id turns out valid and new.
    const idStart = rows > 0 ? p + 1 : p;
    let q = idStart;
    let h = FNV_OFFSET;
    let valid = true;
    for (let i = start; i < end; i++) {
      const c = bytes[i]!;
      if ((ID_CLASS[c]! & ID_REST) === 0) {
        valid = false;
        break;
      }
      h = Math.imul(h ^ c, FNV_PRIME);
      idText[q++] = c;
    }
    if (!valid) {
      verdict[row] = INVALID_SWITCH_ID;
      continue;
    }
    let slot = (h >>> 0) & mask;
    let duplicate = false;
    for (let entry = table[slot]!; entry !== 0; slot = (slot + 1) & mask, entry = table[slot]!) {
      const other = entry - 1;
      const otherEnd = idEnds[other]!;
      const otherStart = other === 0 ? 0 : idEnds[other - 1]! + 1;
      if (otherEnd - otherStart !== length) continue;
      let k = 0;
      while (k < length && idText[otherStart + k] === idText[idStart + k]) k++;
      if (k === length) {
        duplicate = true;
        break;
      }
    }
    if (duplicate) {
      verdict[row] = DUPLICATE_SWITCH_ID;
      continue;
    }
    table[slot] = rows + 1;
    if (rows > 0) idText[p] = LF;
    p = q;
    idEnds[rows] = p;
    rows += 1;
  }
  built.idText = idText;
  built.textLength = p;
  built.rows = rows;
}

/** Validates every row, keeps the accepted ones (in stream order) as columns with their id index. */
function collect(batches: readonly RecordBatch[], layout: Layout, lines: number): ParseOutcome {
  const { idColumn, metricColumns, metrics } = layout;
  const width = metrics.length;
  // Column-major, as the CSV parser: metric c of row r at values[c * lines + r].
  const values = new Float64Array(lines * width);
  const verdict = new Uint8Array(lines);
  const counts = [0, 0, 0, 0];
  let idBytes = lines;
  for (const batch of batches) {
    const ids = batch.data.children[idColumn]!;
    idBytes += DataType.isUtf8(ids.type) ? (ids.values as Uint8Array).length : batch.numRows * 8;
  }
  let built: IdsBuilt = { idText: new Uint8Array(idBytes), idEnds: new Int32Array(lines), table: new Int32Array(tableSizeFor(lines)), textLength: 0, rows: 0 };
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
      if (source instanceof Float64Array) markNonFinite(target, verdict, base);
    }
    // Then ids, in stream order (the first of two equal ids wins, as in the CSV).
    const ids = idSource(batch.data.children[idColumn]!);
    if (batches.length === 1 && ids.invalid === null && !anyRejected(verdict)) {
      // The usual poll: one batch, every number valid. Its ids are most likely the last body's.
      const reused = idsAsLastTime(ids, n);
      if (reused !== undefined) {
        built = reused.built;
        verdict.set(reused.verdict);
      } else {
        acceptIds(ids, n, base, verdict, built);
        remember(ids, n, built, verdict);
      }
    } else acceptIds(ids, n, base, verdict, built);
    base += n;
  }

  const rows = built.rows;
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
    parsed: { columns: { rowCount: rows, ids: { idText: built.idText.subarray(0, built.textLength), idEnds: built.idEnds.subarray(0, rows), table: built.table }, metrics: columns }, rejected, rowsSeen: lines },
  };
}

/**
 * The id pass of the last single-batch body whose numbers were all valid: its ids (text and offsets,
 * copied), the index built from them and each row's id verdict. The generator sends the same
 * switches, in the same order, every tick; when a body's id column is byte for byte the last one's,
 * everything the id pass would compute is what it computed then, so it is reused instead of checking,
 * hashing and inserting 100,000 ids again (the id pass was four fifths of a cold decode: the index's
 * random memory accesses). Comparing the two columns is a memcmp of about 1 MB at 100,000 switches.
 * Only ever read, never written, once remembered: snapshots made from it copy it into their block.
 */
let lastIds: { readonly text: Uint8Array; readonly offsets: Int32Array; readonly built: IdsBuilt; readonly verdict: Uint8Array } | undefined;

function anyRejected(verdict: Uint8Array): boolean {
  for (let i = 0; i < verdict.length; i++) if (verdict[i] !== OK) return true;
  return false;
}

/** The id bytes of rows 0..n and their offsets relative to the first, as byte views (no copy). */
function idBytesOf(ids: IdSource, n: number): { text: Uint8Array; offsets: Int32Array } {
  const first = ids.starts[0]!;
  return { text: ids.bytes.subarray(first, ids.ends[n - 1]!), offsets: ids.starts.subarray(0, n) };
}

function idsAsLastTime(ids: IdSource, n: number): { built: IdsBuilt; verdict: Uint8Array } | undefined {
  if (lastIds === undefined || lastIds.verdict.length !== n || n === 0) return undefined;
  const { text, offsets } = idBytesOf(ids, n);
  if (text.length !== lastIds.text.length || !sameBytes(text, lastIds.text)) return undefined;
  // Offsets relative to the first id's: equal text and equal boundaries mean equal ids.
  const first = offsets[0]!;
  const previous = lastIds.offsets;
  for (let r = 0; r < n; r++) if (offsets[r]! - first !== previous[r]) return undefined;
  return { built: lastIds.built, verdict: lastIds.verdict };
}

function remember(ids: IdSource, n: number, built: IdsBuilt, verdict: Uint8Array): void {
  if (n === 0) return;
  const { text, offsets } = idBytesOf(ids, n);
  const first = offsets[0]!;
  const relative = new Int32Array(n);
  for (let r = 0; r < n; r++) relative[r] = offsets[r]! - first;
  lastIds = { text: text.slice(), offsets: relative, built: { ...built }, verdict: verdict.slice(0, n) };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

function markNonFinite(values: Float64Array, verdict: Uint8Array, base: number): void {
  for (let r = 0; r < values.length; r++) if (!Number.isFinite(values[r]!)) verdict[base + r] = INVALID_NUMBER;
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
