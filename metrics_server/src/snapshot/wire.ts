/**
 * The snapshot's wire form: bytes that carry a fabric's columns across a thread, to Redis, and into a
 * history checkpoint. Two layers, both versioned:
 *
 * - the **column block** (`encodeColumns` / `decodeColumns`): ids, the id index, and the metric
 *   columns with their number kinds. The ingestion worker writes one per snapshot into a
 *   SharedArrayBuffer; the main thread reads the snapshot's columns straight out of it (typed-array
 *   views, no copy) and hands the same memory to the render worker.
 * - the **snapshot envelope** (`encodeSnapshotWire` / `decodeSnapshotWire`): version, fencing term
 *   and ingestion time around a block, with a CRC-32 of the block, for bytes that leave the process.
 *
 * Pure: no I/O, no clock. Decoding never throws on bad input: it returns a reason (a Redis value or a
 * checkpoint file can be anything). Bytes from our own encoder in this process (`'own'`) get the
 * structural checks only; bytes from outside (`'foreign'`) are checked value by value, and their id
 * index is rebuilt rather than trusted.
 *
 * Column block, little-endian:
 * ```
 *  0 u32 magic "FTCB"      4 u16 format version   6 u16 flags (1: id hash table included)
 *  8 u32 rows             12 u32 metrics          16 u32 id text bytes   20 u32 table entries
 * 24 u32 metric section bytes                     28 u32 reserved (0)
 * 32 metric section: per metric u8 name length, name (ASCII), i8 decimals, u8 encoding (0 f64, 1 i32)
 *    then, 8-aligned: id text; 4-aligned: id ends (i32 × rows), table (i32 × entries);
 *    8-aligned: each column (f64 × rows, or i32 × rows holding value × 10^decimals, padded to 8)
 * ```
 * Snapshot envelope: `0 u32 "FTSN"  4 u16 format version  6 u16 reserved  8 f64 version  16 f64 term
 * 24 f64 ingested at (ms)  32 u32 block bytes  36 u32 CRC-32 of the block  40 block`.
 */
import { crc32 } from 'node:zlib';
import { isValidMetricName } from '../../../common/telemetry-schema.js';
import { ANY_DECIMALS, MAX_DECIMALS, type MetricColumn, type TelemetryColumns } from './columns.js';
import { buildTable, isSwitchIdBytes, type SwitchIdIndexData } from './switch-index.js';

/** The version of both layouts above; a reader refuses any other. */
export const WIRE_FORMAT_VERSION = 1;

const BLOCK_MAGIC = 0x42435446; // "FTCB" read as a little-endian u32
const ENVELOPE_MAGIC = 0x4e535446; // "FTSN"
const BLOCK_HEADER_BYTES = 32;
const ENVELOPE_HEADER_BYTES = 40;
const FLAG_TABLE = 1;
const ENCODING_F64 = 0;
const ENCODING_I32 = 1;
const LF = 10;
const POW10 = Array.from({ length: MAX_DECIMALS + 1 }, (_, i) => 10 ** i);

/** How much a decoder may assume about the bytes: our own encoder's output, or anything. */
export type WireTrust = 'own' | 'foreign';

/** Options of `encodeColumns`. */
export interface EncodeOptions {
  /**
   * Store each decimal column as 32-bit integers (value × 10^decimals) where every value round-trips
   * exactly; smaller, for bytes that leave the process. Off: Float64 as is (decoded without a copy).
   */
  readonly compact?: boolean;
  /** Include the id hash table, so a trusted decoder need not rebuild it. Default true. */
  readonly withIndexTable?: boolean;
  /** Write into a SharedArrayBuffer, so threads can share the block without copying. */
  readonly shared?: boolean;
}

/** A decoder's answer: the value, or why the bytes were refused. */
export type WireResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

/** A snapshot as the envelope carries it. */
export interface SnapshotWire {
  readonly version: number;
  /** The fencing term it was published under (0 when no store assigns terms). */
  readonly term: number;
  readonly ingestedAtMs: number;
  /** The column block, as `decodeColumns` reads it. */
  readonly block: Uint8Array;
}

const align = (n: number, to: number): number => Math.ceil(n / to) * to;

/** Values of a decimal column as exact 32-bit integers, or undefined when one does not fit. */
function scaledIntegers(column: MetricColumn): Int32Array | undefined {
  if (column.decimals < 0) return undefined;
  const p = POW10[column.decimals]!;
  const values = column.values;
  const out = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    const m = Math.round(v * p);
    // Exactly the value back, no negative zero (Int32 has none), within 32 bits.
    if (m / p !== v || m > 0x7fffffff || m < -0x7fffffff || (m === 0 && 1 / v < 0)) return undefined;
    out[i] = m;
  }
  return out;
}

/** The column block of `columns`. */
export function encodeColumns(columns: TelemetryColumns, options: EncodeOptions = {}): Uint8Array {
  const rows = columns.rowCount;
  const { idText, idEnds, table } = columns.ids;
  const withTable = options.withIndexTable ?? true;
  const names = columns.metrics.map((m) => Buffer.from(m.name, 'latin1'));
  const scaled = columns.metrics.map((m) => (options.compact === true ? scaledIntegers(m) : undefined));
  const metaBytes = names.reduce((sum, name) => sum + 3 + name.length, 0);
  const idTextAt = align(BLOCK_HEADER_BYTES + metaBytes, 8);
  const idEndsAt = align(idTextAt + idText.length, 4);
  const tableAt = idEndsAt + 4 * rows;
  let at = align(tableAt + (withTable ? 4 * table.length : 0), 8);
  const columnAt: number[] = [];
  for (const s of scaled) {
    columnAt.push(at);
    at += s === undefined ? 8 * rows : align(4 * rows, 8);
  }
  const size = at;
  const buffer = options.shared === true ? new SharedArrayBuffer(size) : new ArrayBuffer(size);
  const bytes = new Uint8Array(buffer);
  const view = new DataView(buffer);
  view.setUint32(0, BLOCK_MAGIC, true);
  view.setUint16(4, WIRE_FORMAT_VERSION, true);
  view.setUint16(6, withTable ? FLAG_TABLE : 0, true);
  view.setUint32(8, rows, true);
  view.setUint32(12, columns.metrics.length, true);
  view.setUint32(16, idText.length, true);
  view.setUint32(20, withTable ? table.length : 0, true);
  view.setUint32(24, metaBytes, true);
  let p = BLOCK_HEADER_BYTES;
  for (const [c, metric] of columns.metrics.entries()) {
    const name = names[c]!;
    bytes[p++] = name.length;
    bytes.set(name, p);
    p += name.length;
    view.setInt8(p++, metric.decimals);
    bytes[p++] = scaled[c] === undefined ? ENCODING_F64 : ENCODING_I32;
  }
  bytes.set(idText, idTextAt);
  new Int32Array(buffer, idEndsAt, rows).set(idEnds);
  if (withTable) new Int32Array(buffer, tableAt, table.length).set(table);
  for (const [c, metric] of columns.metrics.entries()) {
    const s = scaled[c];
    if (s === undefined) new Float64Array(buffer, columnAt[c]!, rows).set(metric.values);
    else new Int32Array(buffer, columnAt[c]!, rows).set(s);
  }
  return bytes;
}

/**
 * The columns of a block. With `'own'` trust the columns are views of `bytes` (no copy; `bytes` must
 * then never be written again); with `'foreign'` every id and value is checked and the index rebuilt.
 */
export function decodeColumns(input: Uint8Array, trust: WireTrust): WireResult<TelemetryColumns> {
  // Typed-array views need their element alignment within the buffer: copy the rare unaligned input.
  const bytes = input.byteOffset % 8 === 0 ? input : Uint8Array.from(input);
  const fail = (reason: string): WireResult<TelemetryColumns> => ({ ok: false, reason: `column block: ${reason}` });
  if (bytes.length < BLOCK_HEADER_BYTES) return fail(`${bytes.length} bytes is shorter than its header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== BLOCK_MAGIC) return fail('not a column block (bad magic)');
  const format = view.getUint16(4, true);
  if (format !== WIRE_FORMAT_VERSION) return fail(`format version ${format}, this server reads ${WIRE_FORMAT_VERSION}`);
  const flags = view.getUint16(6, true);
  const rows = view.getUint32(8, true);
  const metricCount = view.getUint32(12, true);
  const idTextLength = view.getUint32(16, true);
  const tableLength = view.getUint32(20, true);
  const metaBytes = view.getUint32(24, true);
  if ((flags & ~FLAG_TABLE) !== 0) return fail(`unknown flags ${flags}`);
  if (rows === 0) return fail('no rows');
  if (metricCount === 0 || metricCount > 4096) return fail(`${metricCount} metrics`);
  // Every id takes at least 2 bytes (one character and a separator): bounds rows before allocating.
  if (idTextLength + 1 < 2 * rows || idTextLength > bytes.length || metaBytes > bytes.length || tableLength > bytes.length) return fail('section sizes do not fit the block');
  const hasTable = (flags & FLAG_TABLE) !== 0;
  if (hasTable !== (tableLength > 0)) return fail('table flag and table size disagree');
  if (hasTable && (tableLength & (tableLength - 1)) !== 0) return fail(`table size ${tableLength} is not a power of two`);
  if (hasTable && tableLength < rows * 2) return fail(`table of ${tableLength} entries for ${rows} rows`);

  const names: string[] = [];
  const decimals: number[] = [];
  const encodings: number[] = [];
  let p = BLOCK_HEADER_BYTES;
  const metaEnd = BLOCK_HEADER_BYTES + metaBytes;
  if (metaEnd > bytes.length) return fail('metric section runs past the end');
  for (let c = 0; c < metricCount; c++) {
    if (p >= metaEnd) return fail('metric section too short');
    const length = bytes[p++]!;
    if (p + length + 2 > metaEnd) return fail('metric section too short');
    const name = Buffer.from(bytes.buffer, bytes.byteOffset + p, length).toString('latin1');
    p += length;
    if (!isValidMetricName(name)) return fail(`invalid metric name ${JSON.stringify(name.slice(0, 40))}`);
    if (names.includes(name)) return fail(`duplicate metric ${name}`);
    const d = view.getInt8(p++);
    const encoding = bytes[p++]!;
    if (d < ANY_DECIMALS || d > MAX_DECIMALS) return fail(`metric ${name}: decimals ${d}`);
    if (encoding !== ENCODING_F64 && !(encoding === ENCODING_I32 && d >= 0)) return fail(`metric ${name}: encoding ${encoding}`);
    names.push(name);
    decimals.push(d);
    encodings.push(encoding);
  }
  if (p !== metaEnd) return fail('metric section has trailing bytes');

  const idTextAt = align(metaEnd, 8);
  const idEndsAt = align(idTextAt + idTextLength, 4);
  const tableAt = idEndsAt + 4 * rows;
  let at = align(tableAt + 4 * tableLength, 8);
  const columnAt: number[] = [];
  for (const encoding of encodings) {
    columnAt.push(at);
    at += encoding === ENCODING_F64 ? 8 * rows : align(4 * rows, 8);
  }
  if (at !== bytes.length) return fail(`${bytes.length} bytes where the header describes ${at}`);

  const base = bytes.byteOffset;
  const idText = new Uint8Array(bytes.buffer, base + idTextAt, idTextLength);
  const idEnds = new Int32Array(bytes.buffer, base + idEndsAt, rows);
  let table = hasTable ? new Int32Array(bytes.buffer, base + tableAt, tableLength) : undefined;
  if (trust === 'foreign') {
    const idsProblem = checkIds(idText, idEnds);
    if (idsProblem !== undefined) return fail(idsProblem);
    // A foreign table could hold anything (even no free slot, which would make lookups spin).
    table = undefined;
  }
  const ids: SwitchIdIndexData = { idText, idEnds, table: table ?? buildTable(idText, idEnds) };

  const metrics: MetricColumn[] = [];
  for (let c = 0; c < metricCount; c++) {
    let values: Float64Array;
    if (encodings[c] === ENCODING_F64) values = new Float64Array(bytes.buffer, base + columnAt[c]!, rows);
    else {
      const scaled = new Int32Array(bytes.buffer, base + columnAt[c]!, rows);
      const p10 = POW10[decimals[c]!]!;
      values = new Float64Array(rows);
      for (let r = 0; r < rows; r++) values[r] = scaled[r]! / p10;
    }
    if (trust === 'foreign') {
      for (let r = 0; r < rows; r++) if (!Number.isFinite(values[r]!)) return fail(`metric ${names[c]} row ${r}: not a finite number`);
    }
    metrics.push({ name: names[c]!, decimals: decimals[c]!, values });
  }
  return { ok: true, value: { rowCount: rows, ids, metrics } };
}

/** Why foreign id data is unusable, or undefined: valid ids, LF-separated, ends in order, no duplicates. */
function checkIds(idText: Uint8Array, idEnds: Int32Array): string | undefined {
  let start = 0;
  for (let r = 0; r < idEnds.length; r++) {
    const end = idEnds[r]!;
    if (end < start || end > idText.length) return `id ${r} ends at ${end}, outside its place`;
    if (!isSwitchIdBytes(idText, start, end)) return `id ${r} is not a valid switch id`;
    const last = r === idEnds.length - 1;
    if (last ? end !== idText.length : idText[end] !== LF) return `id ${r} is not followed by a separator`;
    start = end + 1;
  }
  const seen = new Set<string>(Buffer.from(idText.buffer, idText.byteOffset, idText.byteLength).toString('latin1').split('\n'));
  if (seen.size !== idEnds.length) return 'duplicate switch ids';
  return undefined;
}

/**
 * Bytes from outside the process (Redis, a checkpoint file) made into a block of our own form: checked
 * value by value, then written afresh (with its id index, in shared memory), so everything after this
 * may read it as trusted.
 */
export function adoptForeignBlock(bytes: Uint8Array): WireResult<Uint8Array> {
  const columns = decodeColumns(bytes, 'foreign');
  if (!columns.ok) return columns;
  return { ok: true, value: encodeColumns(columns.value, { shared: true }) };
}

/** The envelope of a snapshot: its identity around its column block, with a CRC-32 of the block. */
export function encodeSnapshotWire(snapshot: SnapshotWire): Uint8Array {
  const out = new Uint8Array(ENVELOPE_HEADER_BYTES + snapshot.block.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, ENVELOPE_MAGIC, true);
  view.setUint16(4, WIRE_FORMAT_VERSION, true);
  view.setFloat64(8, snapshot.version, true);
  view.setFloat64(16, snapshot.term, true);
  view.setFloat64(24, snapshot.ingestedAtMs, true);
  view.setUint32(32, snapshot.block.length, true);
  view.setUint32(36, crc32(snapshot.block), true);
  out.set(snapshot.block, ENVELOPE_HEADER_BYTES);
  return out;
}

/** The snapshot in an envelope, checked (magic, format, sizes, CRC, identity fields); the block is not decoded. */
export function decodeSnapshotWire(bytes: Uint8Array): WireResult<SnapshotWire> {
  const fail = (reason: string): WireResult<SnapshotWire> => ({ ok: false, reason: `snapshot wire: ${reason}` });
  if (bytes.length < ENVELOPE_HEADER_BYTES) return fail(`${bytes.length} bytes is shorter than its header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== ENVELOPE_MAGIC) return fail('not a snapshot (bad magic)');
  const format = view.getUint16(4, true);
  if (format !== WIRE_FORMAT_VERSION) return fail(`format version ${format}, this server reads ${WIRE_FORMAT_VERSION}`);
  const version = view.getFloat64(8, true);
  const term = view.getFloat64(16, true);
  const ingestedAtMs = view.getFloat64(24, true);
  const length = view.getUint32(32, true);
  if (!Number.isSafeInteger(version) || version < 1) return fail(`version ${version}`);
  if (!Number.isSafeInteger(term) || term < 0) return fail(`term ${term}`);
  if (!Number.isFinite(ingestedAtMs) || ingestedAtMs < 0) return fail(`ingestion time ${ingestedAtMs}`);
  if (ENVELOPE_HEADER_BYTES + length !== bytes.length) return fail(`${bytes.length} bytes where the header describes ${ENVELOPE_HEADER_BYTES + length} (truncated or padded)`);
  const block = bytes.subarray(ENVELOPE_HEADER_BYTES);
  if (crc32(block) !== view.getUint32(36, true)) return fail('checksum mismatch (corrupt bytes)');
  return { ok: true, value: { version, term, ingestedAtMs, block } };
}
