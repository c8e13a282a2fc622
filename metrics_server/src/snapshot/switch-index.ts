/**
 * The switch id → row index of a snapshot, built in the ingestion worker and handed to the main
 * thread as three transferable typed arrays, so the main thread never does work proportional to the
 * fabric: no 100,000 strings to split, no 100,000 map inserts, even when the set of ids changes.
 *
 * - `idText`: the accepted ids in CSV order, ASCII, joined with `\n` (ids cannot contain it);
 * - `idEnds[row]`: where id `row` ends in `idText` (it starts one byte after the previous end);
 * - `table`: an open-addressing hash table (FNV-1a, linear probing, power-of-two size, at most half
 *   full) holding `row + 1`, or 0 for an empty slot.
 *
 * Ids are validated against the schema pattern (ASCII only) before they get here, so hashing a
 * query string by its UTF-16 code units gives the same hash as hashing the id's bytes.
 */
export interface SwitchIndexData {
  readonly idText: Uint8Array;
  readonly idEnds: Int32Array;
  readonly table: Int32Array;
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

export function hashBytes(bytes: Uint8Array, start: number, end: number): number {
  let h = FNV_OFFSET;
  for (let i = start; i < end; i++) h = Math.imul(h ^ bytes[i]!, FNV_PRIME);
  return h >>> 0;
}

export function hashString(text: string): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), FNV_PRIME);
  return h >>> 0;
}

/** A table size for `rows` entries: a power of two, at least twice as large. */
export function tableSizeFor(rows: number): number {
  let size = 16;
  while (size < rows * 2) size *= 2;
  return size;
}

/** The row of the id at `bytes[start..end)`, or -1. */
export function findRow(data: SwitchIndexData, bytes: Uint8Array, start: number, end: number, hash: number): number {
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

export class SwitchIndex {
  readonly #data: SwitchIndexData;
  #ids: readonly string[] | undefined;

  constructor(data: SwitchIndexData) {
    if (data.table.length === 0 || (data.table.length & (data.table.length - 1)) !== 0) throw new Error('switch index table size must be a power of two');
    this.#data = data;
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

  /** The ids in CSV order; decoded on first use (not on the ingestion path), then cached. */
  ids(): readonly string[] {
    if (this.#ids === undefined) {
      const { idText } = this.#data;
      const text = Buffer.from(idText.buffer, idText.byteOffset, idText.byteLength).toString('latin1');
      this.#ids = Object.freeze(this.count === 0 ? [] : text.split('\n'));
    }
    return this.#ids;
  }

  /** Copies of the id text and row ends (transferable; the index itself is never mutated). */
  exportIds(): { idText: Uint8Array; idEnds: Int32Array } {
    return { idText: this.#data.idText.slice(), idEnds: this.#data.idEnds.slice() };
  }

  /** True when `other` holds exactly the same ids in the same order (one memcmp). */
  sameIds(other: SwitchIndexData): boolean {
    const a = this.#data.idText;
    const b = other.idText;
    return a.byteLength === b.byteLength && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
  }
}
