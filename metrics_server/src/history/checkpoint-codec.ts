/**
 * The history's checkpoint format: chunks as they are held (packed series, summaries, timestamps)
 * with their switch ids, behind a header with a magic number, a format version and a CRC-32 of
 * everything after it. Pure: no I/O. Decoding never throws on bad bytes; it says why it refused.
 *
 * Little-endian. Header (32 bytes): `0 u32 "FTHC"  4 u16 format version  6 u16 reserved
 * 8 f64 payload bytes  16 u32 CRC-32 of the payload  20 u32 reserved  24 f64 written at (Unix ms)`.
 * Payload: `u32 id lists`, each `u32 n` and n × (`u8 length`, ASCII id); `u32 chunks`, each
 * `u32 id list, u32 samples, u32 start`, samples × `f64 timestamp`, `u32 metrics`, each
 * `u8 name length, name, i8 decimals (-1 raw), u8 kind (0 encoded, 1 raw)`, rows × f64 min, max, sum,
 * then encoded: (rows + 1) × `u32 offset` and the packed bits; raw: rows × samples × f64.
 */
import { crc32 } from 'node:zlib';
import { isValidMetricName, isValidSwitchId } from '../../../common/telemetry-schema.js';
import { HistoryChunk } from './history-chunk.js';
import { ListIds, type IdSource } from './id-source.js';
import type { PackedMetric } from './metric-chunk.js';
import type { SlicedJob } from './slices.js';

/** The version this code writes and the only one it reads. */
export const CHECKPOINT_FORMAT_VERSION = 1;
const MAGIC = 0x43485446; // "FTHC" as a little-endian u32
const HEADER_BYTES = 32;

/** A decoder's answer. */
export type CheckpointResult = { readonly ok: true; readonly chunks: HistoryChunk[]; readonly writtenAtMs: number } | { readonly ok: false; readonly reason: string };

/** Little-endian scalars into a growing list of parts. */
class PartWriter {
  readonly parts: Uint8Array[] = [];
  private scratch = new DataView(new ArrayBuffer(0));
  private at = 0;

  private room(n: number): void {
    if (this.at + n > this.scratch.byteLength) {
      this.flush();
      this.scratch = new DataView(new ArrayBuffer(Math.max(4096, n)));
    }
  }

  private flush(): void {
    if (this.at > 0) this.parts.push(new Uint8Array(this.scratch.buffer, 0, this.at));
    this.at = 0;
    this.scratch = new DataView(new ArrayBuffer(0));
  }

  u8(v: number): void {
    this.room(1);
    this.scratch.setUint8(this.at, v);
    this.at += 1;
  }

  i8(v: number): void {
    this.room(1);
    this.scratch.setInt8(this.at, v);
    this.at += 1;
  }

  u32(v: number): void {
    this.room(4);
    this.scratch.setUint32(this.at, v, true);
    this.at += 4;
  }

  ascii(text: string): void {
    this.u8(text.length);
    this.room(text.length);
    for (let i = 0; i < text.length; i++) this.scratch.setUint8(this.at + i, text.charCodeAt(i));
    this.at += text.length;
  }

  /** A typed array's bytes as they are (little-endian platform: x86, ARM), not copied. */
  bytes(view: ArrayBufferView): void {
    this.flush();
    this.parts.push(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
  }

  done(): Uint8Array[] {
    this.flush();
    return this.parts;
  }
}

/**
 * The checkpoint of `chunks` as a list of byte parts, header first (written in order, they are the
 * file). The chunks' committed samples only; an open chunk is copied in slices. Start it between
 * two appends (after `HistoryStore.idle()`, in the same turn).
 */
export function* encodeCheckpoint(chunks: readonly HistoryChunk[], writtenAtMs: number): SlicedJob<Uint8Array[]> {
  // Taken before the first yield, so between two appends: counts and summaries of one moment.
  const counts = chunks.map((c) => c.count);
  const summaries = chunks.map((c) => c.metrics.map((m) => m.summaries()));
  const w = new PartWriter();
  const sources: IdSource[] = [];
  for (const chunk of chunks) if (!sources.includes(chunk.ids)) sources.push(chunk.ids);
  w.u32(sources.length);
  for (const source of sources) {
    w.u32(source.count);
    for (const id of source.ids) w.ascii(id);
    yield;
  }
  w.u32(chunks.length);
  for (const [c, chunk] of chunks.entries()) {
    const count = counts[c]!;
    w.u32(sources.indexOf(chunk.ids));
    w.u32(count);
    w.u32(chunk.start);
    w.bytes(chunk.timestamps.slice(0, count));
    w.u32(chunk.metrics.length);
    for (const [m, metric] of chunk.metrics.entries()) {
      const packed: PackedMetric = yield* metric.packedCopy(count, summaries[c]![m]!);
      w.ascii(metric.name);
      w.i8(metric.decimals);
      w.u8(packed.kind === 'raw' ? 1 : 0);
      w.bytes(packed.min);
      w.bytes(packed.max);
      w.bytes(packed.sum);
      if (packed.kind === 'raw') w.bytes(packed.raw);
      else {
        w.bytes(packed.offsets);
        w.bytes(packed.data);
      }
      yield;
    }
  }
  const payload = w.done();
  let crc = 0;
  let length = 0;
  for (const part of payload) {
    crc = crc32(part, crc);
    length += part.byteLength;
  }
  const header = new DataView(new ArrayBuffer(HEADER_BYTES));
  header.setUint32(0, MAGIC, true);
  header.setUint16(4, CHECKPOINT_FORMAT_VERSION, true);
  header.setFloat64(8, length, true);
  header.setUint32(16, crc, true);
  header.setFloat64(24, writtenAtMs, true);
  return [new Uint8Array(header.buffer), ...payload];
}

/** Bounds-checked little-endian reads; a read past the end throws `Truncated`. */
class Reader {
  private readonly view: DataView;
  at = 0;
  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  private need(n: number): number {
    if (this.at + n > this.bytes.byteLength) throw new Truncated(`truncated: needs ${n} more bytes at offset ${this.at} of ${this.bytes.byteLength}`);
    const at = this.at;
    this.at += n;
    return at;
  }
  u8(): number {
    return this.view.getUint8(this.need(1));
  }
  i8(): number {
    return this.view.getInt8(this.need(1));
  }
  u32(): number {
    return this.view.getUint32(this.need(4), true);
  }
  ascii(): string {
    const n = this.u8();
    const at = this.need(n);
    return Buffer.from(this.bytes.buffer, this.bytes.byteOffset + at, n).toString('latin1');
  }
  /** A copy (aligned, owned) of the next `n` bytes. */
  copy(n: number): ArrayBuffer {
    const at = this.need(n);
    return this.bytes.buffer.slice(this.bytes.byteOffset + at, this.bytes.byteOffset + at + n) as ArrayBuffer;
  }
  f64s(n: number): Float64Array {
    return new Float64Array(this.copy(n * 8));
  }
}

class Truncated extends Error {}
class Invalid extends Error {}

function check(ok: boolean, reason: string): void {
  if (!ok) throw new Invalid(reason);
}

/** The chunks of a checkpoint file's bytes, or why they were refused. */
export function decodeCheckpoint(bytes: Uint8Array): CheckpointResult {
  if (bytes.byteLength < HEADER_BYTES) return { ok: false, reason: `truncated: ${bytes.byteLength} bytes, shorter than the ${HEADER_BYTES}-byte header` };
  const header = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES);
  if (header.getUint32(0, true) !== MAGIC) return { ok: false, reason: 'not a history checkpoint (bad magic number)' };
  const version = header.getUint16(4, true);
  if (version !== CHECKPOINT_FORMAT_VERSION) return { ok: false, reason: `format version ${version}, this server reads version ${CHECKPOINT_FORMAT_VERSION}` };
  const length = header.getFloat64(8, true);
  const payload = bytes.subarray(HEADER_BYTES);
  if (length > payload.byteLength) return { ok: false, reason: `truncated: the header announces ${length} payload bytes, the file has ${payload.byteLength}` };
  if (length !== payload.byteLength) return { ok: false, reason: `corrupt: ${payload.byteLength - length} bytes after the announced payload` };
  if (crc32(payload) !== header.getUint32(16, true)) return { ok: false, reason: 'corrupt: CRC-32 mismatch' };
  try {
    return { ok: true, chunks: readChunks(new Reader(payload)), writtenAtMs: header.getFloat64(24, true) };
  } catch (err) {
    if (err instanceof Truncated || err instanceof Invalid) return { ok: false, reason: `corrupt: ${err.message}` };
    throw err;
  }
}

function readChunks(r: Reader): HistoryChunk[] {
  const sources: IdSource[] = [];
  const sourceCount = r.u32();
  for (let i = 0; i < sourceCount; i++) {
    const n = r.u32();
    const ids: string[] = [];
    for (let j = 0; j < n; j++) {
      const id = r.ascii();
      check(isValidSwitchId(id), `switch id ${JSON.stringify(id)} is not valid`);
      ids.push(id);
    }
    check(new Set(ids).size === ids.length, 'duplicate switch ids');
    sources.push(new ListIds(ids));
  }
  const chunks: HistoryChunk[] = [];
  const chunkCount = r.u32();
  let previous = -Infinity;
  for (let c = 0; c < chunkCount; c++) {
    const ids = sources[r.u32()];
    check(ids !== undefined, 'a chunk names an id list that does not exist');
    const count = r.u32();
    const start = r.u32();
    check(count > 0 && start < count, `chunk ${c}: ${count} samples from ${start}`);
    const timestamps = r.f64s(count);
    for (let i = 0; i < count; i++) {
      check(Number.isInteger(timestamps[i]) && timestamps[i]! >= previous, `chunk ${c}: timestamps out of order`);
      previous = timestamps[i]!;
    }
    const metricCount = r.u32();
    const metrics: { name: string; decimals: number }[] = [];
    const packed: PackedMetric[] = [];
    const rows = ids!.count;
    for (let m = 0; m < metricCount; m++) {
      const name = r.ascii();
      check(isValidMetricName(name), `metric name ${JSON.stringify(name)} is not valid`);
      const decimals = r.i8();
      const kind = r.u8();
      check(decimals >= -1 && decimals <= 15 && (kind === 1) === (decimals === -1), `metric ${name}: decimals ${decimals} with kind ${kind}`);
      const min = r.f64s(rows);
      const max = r.f64s(rows);
      const sum = r.f64s(rows);
      if (kind === 1) packed.push({ kind: 'raw', min, max, sum, raw: r.f64s(rows * count) });
      else {
        const offsets = new Uint32Array(r.copy((rows + 1) * 4));
        check(offsets[0] === 0, `metric ${name}: offsets do not start at 0`);
        for (let s = 0; s < rows; s++) check(offsets[s]! <= offsets[s + 1]!, `metric ${name}: offsets out of order`);
        packed.push({ kind: 'encoded', min, max, sum, offsets, data: new Uint8Array(r.copy(offsets[rows]!)) });
      }
      metrics.push({ name, decimals });
    }
    chunks.push(new HistoryChunk(ids!, metrics, count, new Map(), { timestamps, start, packed }));
  }
  return chunks;
}
