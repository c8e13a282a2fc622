/**
 * Bits in a byte array, most significant bit first: the lowest layer of the history's chunk codec.
 * Pure and allocation-free: a writer appends into a buffer the caller owns (its bytes past the write
 * position must be zero), a reader walks one from a bit position. Fields wider than 26 bits are split
 * in two, so every piece fits the 32-bit integer operations and values up to 2^53 stay exact.
 */

/** 2^26: the widest piece written or read in one step. */
const PIECE = 67_108_864;

/**
 * Writes the low `n` bits (n ≤ 53) of the non-negative integer `value` at bit `pos` of `buf`;
 * returns the position after them. The caller makes sure `buf` has room.
 */
export function writeBits(buf: Uint8Array, pos: number, value: number, n: number): number {
  if (n > 26) {
    const high = Math.floor(value / PIECE);
    pos = writeSmall(buf, pos, high, n - 26);
    return writeSmall(buf, pos, value - high * PIECE, 26);
  }
  return writeSmall(buf, pos, value, n);
}

function writeSmall(buf: Uint8Array, pos: number, value: number, n: number): number {
  let remaining = n;
  while (remaining > 0) {
    const byte = pos >>> 3;
    const free = 8 - (pos & 7);
    const take = remaining < free ? remaining : free;
    const bits = (value >>> (remaining - take)) & ((1 << take) - 1);
    buf[byte] = buf[byte]! | (bits << (free - take));
    pos += take;
    remaining -= take;
  }
  return pos;
}

/** A read position in a byte array (one object per decode, reused across the samples of a series). */
export class BitReader {
  buf: Uint8Array = new Uint8Array(0);
  pos = 0;

  /** Points the reader at bit `pos` of `buf`. */
  reset(buf: Uint8Array, pos: number): void {
    this.buf = buf;
    this.pos = pos;
  }

  /** The next `n` bits (n ≤ 53) as a non-negative integer. */
  read(n: number): number {
    if (n > 26) {
      const high = this.readSmall(n - 26);
      return high * PIECE + this.readSmall(26);
    }
    return this.readSmall(n);
  }

  private readSmall(n: number): number {
    const buf = this.buf;
    let pos = this.pos;
    let value = 0;
    let remaining = n;
    while (remaining > 0) {
      const avail = 8 - (pos & 7);
      const take = remaining < avail ? remaining : avail;
      const bits = (buf[pos >>> 3]! >>> (avail - take)) & ((1 << take) - 1);
      value = value * (1 << take) + bits;
      pos += take;
      remaining -= take;
    }
    this.pos = pos;
    return value;
  }
}
