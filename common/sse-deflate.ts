/**
 * Event streams sent with `Content-Encoding: deflate` (a zlib stream, RFC 1950) where every event
 * is compressed once and the same bytes go to every client, as the plain events are.
 *
 * Each event is deflated on its own (no window shared with earlier events) and ends in a sync flush,
 * never a final block, so any sequence of such chunks after a zlib header is one valid deflate
 * stream that a client can decode event by event. What differs per client is only the Adler-32 of
 * everything it was sent, which the zlib trailer needs when the stream ends: it is combined from
 * each chunk's own Adler-32 and length (zlib's `adler32_combine`), a few operations per write.
 *
 * At the simulator's default churn a whole-fabric `changes` event of 0.96 MB deflates to 0.15 MB at
 * level 1 in about 4 ms, in libuv's thread pool (npm run bench:streams, payload rows).
 */
import { constants, deflateRaw, deflateRawSync } from 'node:zlib';

/** A deflated chunk of an event stream, with what the zlib trailer needs of the bytes it holds. */
export interface DeflatedChunk {
  /** Raw deflate blocks, ending in a sync flush (no final block). */
  readonly bytes: Buffer;
  /** Adler-32 of the uncompressed bytes. */
  readonly adler: number;
  /** Length of the uncompressed bytes. */
  readonly rawLength: number;
}

/** zlib's header: deflate with a 32 KiB window, fastest-compression flag (level 1), no dictionary. */
export const ZLIB_HEADER = Buffer.from([0x78, 0x01]);
/** Adler-32 of nothing. */
export const ADLER32_EMPTY = 1;

const ADLER_BASE = 65521;
/** Bytes summed before the sums are reduced: the most for which they stay below 2^32 (zlib's NMAX). */
const ADLER_NMAX = 5552;
/** Level 1: 6.3x smaller at about 4 ms a MB, against 7.4x at three times the time for level 6. */
const LEVEL = 1;

/** Adler-32 of `bytes` (RFC 1950). */
export function adler32(bytes: Uint8Array): number {
  let a = 1;
  let b = 0;
  const n = bytes.length;
  let i = 0;
  while (i < n) {
    const end = Math.min(n, i + ADLER_NMAX);
    for (; i < end; i++) {
      a += bytes[i]!;
      b += a;
    }
    a %= ADLER_BASE;
    b %= ADLER_BASE;
  }
  return ((b << 16) | a) >>> 0;
}

/** The Adler-32 of two byte runs one after the other, from each one's Adler-32 and the second's length. */
export function adler32Combine(first: number, second: number, secondLength: number): number {
  const rem = secondLength % ADLER_BASE;
  let sum1 = first & 0xffff;
  let sum2 = (rem * sum1) % ADLER_BASE;
  sum1 += (second & 0xffff) + ADLER_BASE - 1;
  sum2 += (first >>> 16) + (second >>> 16) + ADLER_BASE - rem;
  if (sum1 >= ADLER_BASE) sum1 -= ADLER_BASE;
  if (sum1 >= ADLER_BASE) sum1 -= ADLER_BASE;
  if (sum2 >= 2 * ADLER_BASE) sum2 -= 2 * ADLER_BASE;
  if (sum2 >= ADLER_BASE) sum2 -= ADLER_BASE;
  return ((sum2 << 16) | sum1) >>> 0;
}

/** Each chunk ends in a sync flush, so chunks deflated apart join into one stream. */
const CHUNK_OPTIONS = { level: LEVEL, finishFlush: constants.Z_SYNC_FLUSH } as const;

/** Deflates one event's bytes in libuv's thread pool (off the event loop). */
export function deflateChunk(raw: Uint8Array): Promise<DeflatedChunk> {
  return new Promise((resolve, reject) => {
    deflateRaw(raw, CHUNK_OPTIONS, (err, bytes) => {
      if (err !== null) reject(err);
      else resolve({ bytes, adler: adler32(raw), rawLength: raw.length });
    });
  });
}

/** Deflates small bytes (the preamble, keep-alives, small filtered events) on this thread. */
export function deflateChunkSync(raw: Uint8Array): DeflatedChunk {
  return { bytes: deflateRawSync(raw, CHUNK_OPTIONS), adler: adler32(raw), rawLength: raw.length };
}

/** The end of a zlib stream whose uncompressed bytes have Adler-32 `adler`: a final empty block, then the checksum. */
export function zlibTrailer(adler: number): Buffer {
  const trailer = Buffer.alloc(6);
  // A final (BFINAL=1) block with fixed Huffman codes holding only end-of-block: bits 1, 01, 0000000.
  trailer[0] = 0x03;
  trailer[1] = 0x00;
  trailer.writeUInt32BE(adler, 2);
  return trailer;
}
