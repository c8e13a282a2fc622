/**
 * The switch id → row index of a snapshot, built by the parser (in the ingestion worker) and carried
 * in the snapshot's wire form as three typed arrays, so the main thread never does work proportional
 * to the fabric: no 100,000 strings to split, no 100,000 map inserts, even when the set of ids changes.
 *
 * - `idText`: the accepted ids in CSV order, ASCII, joined with `\n` (ids cannot contain it);
 * - `idEnds[row]`: where id `row` ends in `idText` (it starts one byte after the previous end);
 * - `table`: an open-addressing hash table (FNV-1a, linear probing, power-of-two size, at most half
 *   full) holding `row + 1`, or 0 for an empty slot.
 *
 * Ids are validated against the schema pattern (ASCII only) before they get here, so hashing a
 * query string by its UTF-16 code units gives the same hash as hashing the id's bytes.
 */
import { SWITCH_ID_MAX_LENGTH } from '../../../common/telemetry-schema.js';

/** The three arrays above; together the ids of one snapshot and their index. */
export interface SwitchIdIndexData {
  readonly idText: Uint8Array;
  readonly idEnds: Int32Array;
  readonly table: Int32Array;
}

/** FNV-1a offset basis of the index hash (exported for parsers that hash while they copy). */
export const FNV_OFFSET = 0x811c9dc5;
/** FNV-1a prime of the index hash. */
export const FNV_PRIME = 0x01000193;

/** FNV-1a of `bytes[start..end)`, the hash the index is built with. */
export function hashBytes(bytes: Uint8Array, start: number, end: number): number {
  let h = FNV_OFFSET;
  for (let i = start; i < end; i++) h = Math.imul(h ^ bytes[i]!, FNV_PRIME);
  return h >>> 0;
}

/** FNV-1a of a string's UTF-16 code units: equal to `hashBytes` of an ASCII id's bytes. */
export function hashString(text: string): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), FNV_PRIME);
  return h >>> 0;
}

/** Character classes of the switch id pattern `^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$`. */
const ID_FIRST = 1;
const ID_REST = 2;
const ID_CLASS = new Uint8Array(256);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  if (/[A-Za-z0-9]/.test(ch)) ID_CLASS[c] = ID_FIRST | ID_REST;
  else if (/[_.:-]/.test(ch)) ID_CLASS[c] = ID_REST;
}

/** True when `bytes[start..end)` is a switch id by the schema's pattern. Ids reach the index only through this check. */
export function isSwitchIdBytes(bytes: Uint8Array, start: number, end: number): boolean {
  const length = end - start;
  if (start < 0 || length < 1 || length > SWITCH_ID_MAX_LENGTH) return false;
  if ((ID_CLASS[bytes[start]!]! & ID_FIRST) === 0) return false;
  for (let i = start + 1; i < end; i++) if ((ID_CLASS[bytes[i]!]! & ID_REST) === 0) return false;
  return true;
}

/** A table size for `rows` entries: a power of two, at least twice as large. */
export function tableSizeFor(rows: number): number {
  let size = 16;
  while (size < rows * 2) size *= 2;
  return size;
}

/** The row of the id at `bytes[start..end)` (hash `hash`), or -1. */
export function findRow(data: SwitchIdIndexData, bytes: Uint8Array, start: number, end: number, hash: number): number {
  const { idText, idEnds, table } = data;
  const mask = table.length - 1;
  const length = end - start;
  for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
    const entry = table[slot]!;
    if (entry === 0) return -1;
    const row = entry - 1;
    const idEnd = idEnds[row]!;
    const idStart = row === 0 ? 0 : idEnds[row - 1]! + 1;
    if (idEnd - idStart !== length) continue;
    let i = 0;
    while (i < length && idText[idStart + i] === bytes[start + i]) i++;
    if (i === length) return row;
  }
}

/** Inserts row `row` (hash `hash`) into `table`; the table must have a free slot. */
export function insertRow(table: Int32Array, hash: number, row: number): void {
  const mask = table.length - 1;
  let slot = hash & mask;
  while (table[slot] !== 0) slot = (slot + 1) & mask;
  table[slot] = row + 1;
}

/** The hash table for ids already joined in `idText`/`idEnds` (for data that came without one). */
export function buildTable(idText: Uint8Array, idEnds: Int32Array): Int32Array {
  const table = new Int32Array(tableSizeFor(idEnds.length));
  for (let row = 0; row < idEnds.length; row++) {
    const start = row === 0 ? 0 : idEnds[row - 1]! + 1;
    insertRow(table, hashBytes(idText, start, idEnds[row]!), row);
  }
  return table;
}

/**
 * Read-only access to a snapshot's ids: lookup by id (allocation-free) and the ids as strings
 * (decoded on first use, then cached). Never mutated, so snapshots with identical ids may share the
 * decoded list (`SwitchIndex.over`).
 */
export class SwitchIndex {
  readonly #data: SwitchIdIndexData;
  /** The decoded ids, shared by every index over the same ids (filled by whichever decodes first). */
  readonly #decoded: { ids: readonly string[] | undefined };

  constructor(data: SwitchIdIndexData, decoded: { ids: readonly string[] | undefined } = { ids: undefined }) {
    if (data.table.length === 0 || (data.table.length & (data.table.length - 1)) !== 0) throw new Error('switch index table size must be a power of two');
    this.#data = data;
    this.#decoded = decoded;
  }

  /**
   * An index over `data` that shares `previous`'s decoded id list when the ids are the same (one
   * memcmp), so the usual snapshot, whose switches did not change, decodes no strings at all. Only
   * the list is shared, never the arrays: an old snapshot's memory is not held by a newer one.
   */
  static over(data: SwitchIdIndexData, previous: SwitchIndex | undefined): SwitchIndex {
    return new SwitchIndex(data, previous !== undefined && previous.sameIds(data) ? previous.#decoded : undefined);
  }

  get count(): number {
    return this.#data.idEnds.length;
  }

  /** The row of a switch id, or -1. Allocation-free: a hash of the string and a byte comparison. */
  lookup(id: string): number {
    const { idText, idEnds, table } = this.#data;
    const mask = table.length - 1;
    const length = id.length;
    for (let slot = hashString(id) & mask; ; slot = (slot + 1) & mask) {
      const entry = table[slot]!;
      if (entry === 0) return -1;
      const row = entry - 1;
      const idEnd = idEnds[row]!;
      const idStart = row === 0 ? 0 : idEnds[row - 1]! + 1;
      if (idEnd - idStart !== length) continue;
      let i = 0;
      while (i < length && idText[idStart + i] === id.charCodeAt(i)) i++;
      if (i === length) return row;
    }
  }

  /** The ids in source order; decoded on first use (not on the ingestion path), then cached. */
  ids(): readonly string[] {
    if (this.#decoded.ids === undefined) {
      const { idText } = this.#data;
      const text = Buffer.from(idText.buffer, idText.byteOffset, idText.byteLength).toString('latin1');
      this.#decoded.ids = Object.freeze(this.count === 0 ? [] : text.split('\n'));
    }
    return this.#decoded.ids;
  }

  /** True when `other` holds exactly the same ids in the same order (one memcmp). */
  sameIds(other: Pick<SwitchIdIndexData, 'idText'>): boolean {
    const a = this.#data.idText;
    const b = other.idText;
    return a.byteLength === b.byteLength && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
  }
}
