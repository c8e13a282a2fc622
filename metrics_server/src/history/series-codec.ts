/**
 * The chunk codec of one series: scaled integers (value × 10^decimals, exact by the column model)
 * as an adaptive Rice code of zigzagged deltas, written one sample at a time so a snapshot can be
 * appended without holding raw values.
 *
 * - The first sample of a chunk: 6 bits of length L, then the zigzagged value in L bits.
 * - Every next sample: the delta from the previous one, zigzagged (0, -1, 1, -2 … → 0, 1, 2, 3 …), as
 *   a Rice code with parameter k: the quotient `zz >> k` in unary (ones ended by a zero), then the
 *   low k bits. k follows the series: it is the smallest k with N·2^k ≥ A, where A sums the recent
 *   zigzagged deltas and N counts them (LOCO-I's rule; both halve every RICE_RESET samples, so k
 *   tracks a changing series). A series that stops changing drives k to 0, and an unchanged value
 *   then costs exactly 1 bit: that is the 1-bit path for `link_status` and `packet_errors`.
 * - A quotient of ESCAPE_ONES or more is written as ESCAPE_ONES ones, 6 bits of length and the
 *   zigzagged delta itself (a link going down: 100000 → 0), so no code is longer than 76 bits.
 *
 * The state a decoder needs is the sample index (N is the same for every series of a chunk) and what
 * it decoded so far: a chunk decodes on its own. Pure: no I/O, no clock, no allocation.
 */
import { BitReader, writeBits } from './bit-stream.js';

/** Unary quotients this long switch to the escape form. */
export const ESCAPE_ONES = 16;
/** A and N halve when N reaches this. */
export const RICE_RESET = 16;
/** A's start value for a chunk (with N = 1): k starts at 2. */
export const RICE_INITIAL_A = 4;
/** Bits a sample can take at most (escape: ones, length, 54 bits of value). */
export const MAX_SAMPLE_BITS = ESCAPE_ONES + 6 + 54;
/**
 * Largest |scaled value| a chunk stores: deltas then stay below 2^52 and their zigzag below 2^53,
 * where doubles are still exact integers.
 */
export const MAX_SCALED = 2 ** 51;

const POW2 = Array.from({ length: 64 }, (_, i) => 2 ** i);

/** 0, -1, 1, -2, 2 … → 0, 1, 2, 3, 4 … (arithmetic, not bit operators: values pass 2^31). */
export function zigzag(d: number): number {
  return d >= 0 ? d * 2 : -d * 2 - 1;
}

/** The inverse of `zigzag`. */
export function unzigzag(z: number): number {
  return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
}

/** The number of bits of a non-negative integer (0 for 0). */
export function bitLength(z: number): number {
  let length = 0;
  while (length < 63 && POW2[length]! <= z) length++;
  return length;
}

/** The Rice parameter for a running sum `a` over `n` deltas: the smallest k with n·2^k ≥ a. */
export function riceK(a: number, n: number): number {
  if (a <= n) return 0;
  if (a < 2_147_483_648) {
    // From the bit lengths: a > n gives k ≥ 0, and n·2^k has a's bit length, so n·2^(k−1) < a and
    // k is either enough or one short (n ≤ RICE_RESET, so n·2^k stays small).
    let k = Math.clz32(n) - Math.clz32(a);
    if (n * POW2[k]! < a) k++;
    return k;
  }
  let k = 0;
  let nk = n;
  while (nk < a) {
    nk *= 2;
    k++;
  }
  return k;
}

/** N before the delta of sample `index` (≥ 1) of a chunk. */
export function riceN(index: number): number {
  // N starts at 1 and grows by one per delta; at RICE_RESET it halves to RICE_RESET / 2.
  const n = index;
  if (n < RICE_RESET) return n;
  return RICE_RESET / 2 + ((n - RICE_RESET) % (RICE_RESET / 2));
}

/** A after coding `zz` at sample `index`, from A before it (the halving at the reset included). */
export function nextA(a: number, zz: number, index: number): number {
  const sum = a + zz;
  return riceN(index) + 1 === RICE_RESET ? Math.floor(sum / 2) : sum;
}

/** Writes the first sample of a chunk; returns the bit position after it. */
export function writeFirst(buf: Uint8Array, pos: number, scaled: number): number {
  const zz = zigzag(scaled);
  const length = bitLength(zz);
  pos = writeBits(buf, pos, length, 6);
  return writeBits(buf, pos, zz, length);
}

/** Writes the zigzagged delta `zz` of one sample with parameter `k`; returns the bit position after it. */
export function writeDelta(buf: Uint8Array, pos: number, zz: number, k: number): number {
  const q = Math.floor(zz / POW2[k]!);
  if (q < ESCAPE_ONES) {
    // q ones and the terminating zero, as one field of q + 1 bits.
    pos = writeBits(buf, pos, POW2[q + 1]! - 2, q + 1);
    return k === 0 ? pos : writeBits(buf, pos, zz - q * POW2[k]!, k);
  }
  pos = writeBits(buf, pos, POW2[ESCAPE_ONES]! - 1, ESCAPE_ONES);
  const length = bitLength(zz);
  pos = writeBits(buf, pos, length, 6);
  return writeBits(buf, pos, zz, length);
}

const reader = new BitReader();

/** Bytes a decoder may read past the last written bit (one 32-bit word and one byte beyond it). */
export const READ_PADDING_BYTES = 8;

/** Below this, A's and the Rice parameter's arithmetic stays in 32-bit integers. */
const SMALL_A = 2 ** 30;

/**
 * Where a decoder stands between two samples of a series: the bit position of the next sample, the
 * value before it (scaled) and the Rice sum A before it. `decodeSeries` leaves it after the last
 * sample it read; `decodeDeltas` resumes from it, so a reader that kept it at a block boundary (a
 * restart point, metric-chunk.ts) decodes from there instead of from the chunk's start.
 */
export interface DecodeState {
  pos: number;
  value: number;
  a: number;
}

/** The state `decodeSeries` and `decodeDeltas` leave behind (one per thread: they never interleave). */
export const decoded: DecodeState = { pos: 0, value: 0, a: RICE_INITIAL_A };

/**
 * Decodes the first `count` samples of the chunk at bit `pos` of `buf` into `out` from index
 * `outAt` (scaled integers); returns the bit position after the last one read, and leaves the
 * decoder's state after it in `decoded`.
 */
export function decodeSeries(buf: Uint8Array, pos: number, count: number, out: Float64Array, outAt: number): number {
  if (count <= 0) return pos;
  reader.reset(buf, pos);
  const value = unzigzag(reader.read(reader.read(6)));
  out[outAt] = value;
  decoded.pos = reader.pos;
  decoded.value = value;
  decoded.a = RICE_INITIAL_A;
  return decodeDeltas(buf, decoded, 1, count, out, outAt + 1);
}

/**
 * Decodes samples [from, to) (1 ≤ from) of a series whose decoder stands at `state` before sample
 * `from`, writing sample i at `out[outAt + i − from]`; updates `state` to stand after the last one
 * and returns its bit position.
 *
 * One tight loop, no call per sample: the common sample (quotient below ESCAPE_ONES, remainder of at
 * most 26 bits, both within one 32-bit window) is read from one big-endian 32-bit load and one byte
 * (`DataView`; every buffer keeps READ_PADDING_BYTES past its last bit), its unary quotient is the
 * count of leading ones (`clz32` of the complement), and k, the zigzag and A's update are 32-bit
 * integer operations (k, the smallest with N·2^k ≥ A as in `riceK`, from two `clz32`).
 * Anything else (an escape, a long remainder, a huge A) takes the general path of the same code.
 */
export function decodeDeltas(buf: Uint8Array, state: DecodeState, from: number, to: number, out: Float64Array, outAt: number): number {
  let pos = state.pos;
  let value = state.value;
  let a = state.a;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  // N before sample `from`'s delta is riceN(from): the loop steps it first.
  let n = riceN(from - 1);
  const shift = outAt - from;
  for (let i = from; i < to; i++) {
    // N: 1, 2 … 15, then 8 … 15 over and over (riceN).
    n = n === RICE_RESET - 1 ? RICE_RESET / 2 : n + 1;
    let k = 0;
    if (a > n) {
      if (a < SMALL_A) {
        // n << k has the bit length of a: enough, or one more doubling is.
        k = Math.clz32(n) - Math.clz32(a);
        if (n << k < a) k++;
      } else k = riceK(a, n);
    }
    const byte = pos >>> 3;
    const offset = pos & 7;
    const word = (view.getUint32(byte) << offset) | (buf[byte + 4]! >>> (8 - offset));
    const q = Math.clz32(~word);
    let zz: number;
    if (q < ESCAPE_ONES && k <= 26 && q + 1 + k <= 32) {
      // q < 16 and k ≤ 26: zz < 2^30, a 32-bit integer.
      zz = k === 0 ? q : (q << k) | ((word << (q + 1)) >>> (32 - k));
      pos += q + 1 + k;
      value += (zz >>> 1) ^ -(zz & 1);
    } else {
      if (q < ESCAPE_ONES) {
        reader.reset(buf, pos + q + 1);
        zz = q * POW2[k]! + reader.read(k);
      } else {
        reader.reset(buf, pos + ESCAPE_ONES);
        zz = reader.read(reader.read(6));
      }
      pos = reader.pos;
      value += unzigzag(zz);
    }
    out[shift + i] = value;
    a = n === RICE_RESET - 1 ? Math.floor((a + zz) / 2) : a + zz;
  }
  state.pos = pos;
  state.value = value;
  state.a = a;
  return pos;
}
