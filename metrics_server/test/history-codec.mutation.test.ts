/**
 * The history's chunk codec (history/series-codec.ts over history/bit-stream.ts) bit for bit. The
 * round-trip property in history-store.test.ts cannot see a mistake the writer and the reader share
 * (a wrong Rice parameter, a wrong reset point, a wrong zigzag used on both sides): the data still
 * decodes. But the bits are a format: checkpoints (checkpoint-codec.ts) store them, so a checkpoint
 * written by one build must decode in the next, and the sizes the memory budget counts depend on the
 * parameter rule. So these tests pin the rules against their definitions and the bits of known
 * samples. Written for `npm run mutation -- history-codec`.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BitReader, writeBits } from '../src/history/bit-stream.js';
import {
  ESCAPE_ONES,
  MAX_SAMPLE_BITS,
  READ_PADDING_BYTES,
  RICE_INITIAL_A,
  RICE_RESET,
  bitLength,
  decodeDeltas,
  decodeSeries,
  decoded,
  nextA,
  riceK,
  riceN,
  unzigzag,
  writeDelta,
  writeFirst,
  zigzag,
} from '../src/history/series-codec.js';

/** Bits `[from, to)` of `buf` as a string of 0s and 1s, most significant bit of each byte first. */
function bitsOf(buf: Uint8Array, from: number, to: number): string {
  let s = '';
  for (let p = from; p < to; p++) s += String((buf[p >>> 3]! >>> (7 - (p & 7))) & 1);
  return s;
}

test('zigzag maps 0, -1, 1, -2, 2 … to 0, 1, 2, 3, 4 …, beyond 32 bits too; unzigzag inverts it', () => {
  assert.deepEqual([0, -1, 1, -2, 2, -3, 3].map(zigzag), [0, 1, 2, 3, 4, 5, 6]);
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6].map(unzigzag), [0, -1, 1, -2, 2, -3, 3]);
  for (const d of [2 ** 31, -(2 ** 31), 2 ** 40 + 3, -(2 ** 51), 2 ** 51]) {
    assert.equal(zigzag(d), d >= 0 ? 2 * d : -2 * d - 1);
    assert.equal(unzigzag(zigzag(d)), d);
  }
});

test('bitLength is the number of bits, 0 for 0, up to 53', () => {
  assert.deepEqual([0, 1, 2, 3, 4, 7, 8, 255, 256].map(bitLength), [0, 1, 2, 2, 3, 3, 4, 8, 9]);
  for (let b = 1; b <= 53; b++) {
    assert.equal(bitLength(2 ** b - 1), b, `2^${b} - 1`);
    assert.equal(bitLength(2 ** (b - 1)), b, `2^${b - 1}`);
  }
});

test('riceK is the smallest k with n·2^k ≥ a (LOCO-I), for small and for very large sums', () => {
  const smallest = (a: number, n: number): number => {
    let k = 0;
    while (n * 2 ** k < a) k++;
    return k;
  };
  for (let n = 1; n <= RICE_RESET; n++) {
    for (let a = 0; a <= 4200; a++) assert.equal(riceK(a, n), smallest(a, n), `a=${a} n=${n}`);
    for (const a of [2 ** 31 - 1, 2 ** 31, 2 ** 31 + 1, 3 * 2 ** 33, 2 ** 40, 2 ** 40 + 1, 2 ** 52 + 2]) assert.equal(riceK(a, n), smallest(a, n), `a=${a} n=${n}`);
  }
});

test('N counts the deltas from 1 and halves when it reaches RICE_RESET; A halves (rounding down) with it', () => {
  // The rule simulated step by step, as the encoder's comment states it.
  let n = 1;
  let a = RICE_INITIAL_A;
  for (let index = 1; index <= 5 * RICE_RESET; index++) {
    assert.equal(riceN(index), n, `N before sample ${index}`);
    const zz = (index * 7) % 5;
    let expectedA = a + zz;
    n++;
    if (n === RICE_RESET) {
      n = RICE_RESET / 2;
      expectedA = Math.floor(expectedA / 2);
    }
    assert.equal(nextA(a, zz, index), expectedA, `A after sample ${index}`);
    a = expectedA;
  }
  assert.equal(RICE_INITIAL_A, 4);
  assert.equal(riceK(RICE_INITIAL_A, 1), 2, 'k starts at 2');
});

test('the first sample: 6 bits of length, then the zigzagged value', () => {
  const buf = new Uint8Array(16);
  assert.equal(writeFirst(buf, 0, 5), 10);
  assert.equal(bitsOf(buf, 0, 10), '000100' + '1010');
  const zero = new Uint8Array(16);
  assert.equal(writeFirst(zero, 3, 0), 9, 'zero: a length of 0 and no value bits');
  assert.equal(bitsOf(zero, 0, 16), '0'.repeat(16));
  const negative = new Uint8Array(16);
  assert.equal(writeFirst(negative, 0, -3), 6 + 3);
  assert.equal(bitsOf(negative, 0, 9), '000011' + '101');
});

test('a delta: the quotient in unary ended by a zero, then k low bits; escape at ESCAPE_ONES ones', () => {
  const cases: [zz: number, k: number, bits: string][] = [
    [0, 0, '0'],
    [3, 0, '1110'],
    [6, 2, '10' + '10'],
    [3, 2, '0' + '11'],
    [15, 0, '1'.repeat(15) + '0'],
    // q = 16: the escape, 16 ones, 6 bits of length, the value.
    [16, 0, '1'.repeat(16) + '000101' + '10000'],
    [20, 0, '1'.repeat(16) + '000101' + '10100'],
    [64, 2, '1'.repeat(16) + '000111' + '1000000'],
    [63, 2, '1'.repeat(15) + '0' + '11'],
  ];
  for (const [zz, k, bits] of cases) {
    const buf = new Uint8Array(32);
    const end = writeDelta(buf, 5, zz, k);
    assert.equal(bitsOf(buf, 5, end), bits, `zz=${zz} k=${k}`);
    assert.equal(end - 5, bits.length);
    assert.equal(bitsOf(buf, 0, 5) + bitsOf(buf, end, 256), '0'.repeat(5 + 256 - end), 'nothing written outside the field');
  }
  // The longest code fits MAX_SAMPLE_BITS.
  const longest = writeDelta(new Uint8Array(32), 0, 2 ** 53 - 1, 0);
  assert.equal(longest, ESCAPE_ONES + 6 + 53);
  assert.ok(longest <= MAX_SAMPLE_BITS);
  assert.equal(MAX_SAMPLE_BITS, ESCAPE_ONES + 6 + 54);
});

test('writeDelta takes q + 1 + k bits below the escape, ESCAPE_ONES + 6 + the value\'s bit length from it, for every k', () => {
  for (let k = 0; k <= 30; k++) {
    for (const q of [0, 1, 2, ESCAPE_ONES - 1, ESCAPE_ONES, ESCAPE_ONES + 1, 1000]) {
      for (const r of [0, 1, 2 ** k - 1]) {
        const zz = q * 2 ** k + Math.min(r, 2 ** k - 1);
        const buf = new Uint8Array(64);
        assert.equal(writeDelta(buf, 0, zz, k), q < ESCAPE_ONES ? q + 1 + k : ESCAPE_ONES + 6 + bitLength(zz), `zz=${zz} k=${k}`);
      }
    }
  }
});

/** `values` encoded as one series from bit `start` (first sample, then deltas): the bytes, the end and A after the last sample. */
function encodeSeries(values: readonly number[], start: number): { buf: Uint8Array; end: number; a: number } {
  const buf = new Uint8Array(values.length * 10 + READ_PADDING_BYTES);
  let end = writeFirst(buf, start, values[0]!);
  let a = RICE_INITIAL_A;
  for (let i = 1; i < values.length; i++) {
    const zz = zigzag(values[i]! - values[i - 1]!);
    end = writeDelta(buf, end, zz, riceK(a, riceN(i)));
    a = nextA(a, zz, i);
  }
  return { buf, end, a };
}

test('a series decodes into out from outAt, from any bit position; count 0 reads nothing', () => {
  // Values chosen to take each path of the decoder: k = 0 (unchanged), a quotient with k bits in the
  // 32-bit window, an escape (a link going down), and a k above 26 (a very noisy series).
  const values = [100000, 100000, 100000, 100000, 100003, 99990, 0, 100000, 5, 2 ** 45, -(2 ** 45), 2 ** 44, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3];
  for (const start of [0, 3, 8, 13]) {
    const { buf, end: pos } = encodeSeries(values, start);
    const out = new Float64Array(values.length + 2).fill(-7);
    assert.equal(decodeSeries(buf, start, values.length, out, 2), pos);
    assert.deepEqual([...out], [-7, -7, ...values]);
    // A prefix decodes alone and stops where its last sample ends.
    const prefix = new Float64Array(5);
    const afterFive = decodeSeries(buf, start, 5, prefix, 0);
    assert.deepEqual([...prefix], values.slice(0, 5));
    assert.ok(afterFive > start && afterFive < pos);
    const none = new Float64Array(1).fill(-7);
    assert.equal(decodeSeries(buf, start, 0, none, 0), start);
    assert.equal(none[0], -7);
  }
});

test('a quotient and remainder that do not fit the decoder\'s 32-bit window still decode (k about 20, quotient 13)', () => {
  // Deltas of about ±2^19 drive k to about 20; then a delta 13 times larger has a quotient of 13:
  // 14 bits of unary and 20 of remainder, 34 bits, past the one-word fast path (which, taken anyway,
  // would read the remainder's last bits as zeros).
  const values = [0];
  for (let i = 1; i < 40; i++) values.push(values[i - 1]! + (i % 2 === 0 ? 2 ** 19 : -(2 ** 19)));
  const buf = new Uint8Array(64 * 12 + READ_PADDING_BYTES);
  let a = RICE_INITIAL_A;
  let pos = writeFirst(buf, 0, values[0]!);
  const encode = (i: number): { q: number; k: number } => {
    const zz = zigzag(values[i]! - values[i - 1]!);
    const k = riceK(a, riceN(i));
    pos = writeDelta(buf, pos, zz, k);
    a = nextA(a, zz, i);
    return { q: Math.floor(zz / 2 ** k), k };
  };
  for (let i = 1; i < values.length; i++) encode(i);
  values.push(values[values.length - 1]! + 13 * 2 ** 19 + 3); // + 3: low remainder bits that are not zero
  const { q, k } = encode(values.length - 1);
  assert.ok(q < ESCAPE_ONES && q + 1 + k > 32 && k <= 26, `the case is exercised: q=${q} k=${k}`);
  for (let i = 0; i < 5; i++) {
    values.push(values[values.length - 1]! + 1000);
    encode(values.length - 1);
  }
  const out = new Float64Array(values.length);
  assert.equal(decodeSeries(buf, 0, values.length, out, 0), pos);
  assert.deepEqual([...out], values);
});

test('a long series crosses many resets of N and A and still decodes; an unchanged tail costs 1 bit a sample', () => {
  const values = Array.from({ length: 400 }, (_, i) => (i < 200 ? (i * 7919) % 1000 : 42));
  const buf = new Uint8Array(values.length * 10 + READ_PADDING_BYTES);
  let pos = writeFirst(buf, 0, values[0]!);
  let a = RICE_INITIAL_A;
  let tailStart = 0;
  for (let i = 1; i < values.length; i++) {
    const zz = zigzag(values[i]! - values[i - 1]!);
    pos = writeDelta(buf, pos, zz, riceK(a, riceN(i)));
    a = nextA(a, zz, i);
    if (i === 300) tailStart = pos;
  }
  const out = new Float64Array(values.length);
  assert.equal(decodeSeries(buf, 0, values.length, out, 0), pos);
  assert.deepEqual([...out], values);
  assert.equal(pos - tailStart, 99, 'k has settled to 0 long before sample 300');
});

test('bit stream: fields up to 53 bits at any position, most significant bit first, without touching neighbours', () => {
  const fields: [value: number, n: number][] = [
    [1, 1],
    [0, 3],
    [0b101, 3],
    [0xab, 8],
    [2 ** 26 - 1, 26],
    [2 ** 27 - 2, 27],
    [2 ** 53 - 1, 53],
    [2 ** 40 + 12345, 41],
    [0, 0],
    [0x3ffff, 18],
  ];
  for (const start of [0, 1, 7, 9]) {
    const buf = new Uint8Array(64);
    let pos = start;
    const expected: string[] = [];
    for (const [value, n] of fields) {
      const end = writeBits(buf, pos, value, n);
      assert.equal(end, pos + n);
      expected.push(n === 0 ? '' : value.toString(2).padStart(n, '0'));
      pos = end;
    }
    assert.equal(bitsOf(buf, 0, start), '0'.repeat(start));
    assert.equal(bitsOf(buf, start, pos), expected.join(''));
    assert.equal(bitsOf(buf, pos, 512), '0'.repeat(512 - pos));
    const reader = new BitReader();
    reader.reset(buf, start);
    for (const [value, n] of fields) assert.equal(reader.read(n), value, `${n} bits at ${reader.pos}`);
    assert.equal(reader.pos, pos);
  }
});


test('decoding resumes from a saved state: every split point of a long series gives the same samples and the same end', () => {
  // The state at a block boundary is what a restart point keeps (metric-chunk.ts): position, the
  // value before and A before. N is not kept: it follows from the index, resets included (16, 24 …).
  const values = Array.from({ length: 70 }, (_, i) => (i === 40 ? 0 : i > 50 ? 7 : 1000 + ((i * 7919) % 97) - 48));
  values[30] = 2 ** 40; // an escape and a k above 26 after it
  const { buf, end: pos, a } = encodeSeries(values, 5);
  const whole = new Float64Array(values.length);
  assert.equal(decodeSeries(buf, 5, values.length, whole, 0), pos);
  assert.deepEqual([...whole], values);
  assert.deepEqual({ ...decoded }, { pos, value: values[values.length - 1], a }, 'decodeSeries leaves the state after its last sample');
  for (let split = 1; split < values.length; split++) {
    const head = new Float64Array(split);
    decodeSeries(buf, 5, split, head, 0);
    const state = { ...decoded };
    assert.equal(state.value, values[split - 1]);
    const tail = new Float64Array(values.length - split + 3).fill(-7);
    assert.equal(decodeDeltas(buf, state, split, values.length, tail, 3), pos, `split ${split}`);
    assert.deepEqual([...tail], [-7, -7, -7, ...values.slice(split)], `split ${split}`);
    assert.deepEqual(state, { pos, value: values[values.length - 1], a }, `split ${split}: the state moves to the end`);
    // Two hops (split → split + 7 → end) read the same as one.
    if (split + 7 < values.length) {
      decodeSeries(buf, 5, split, head, 0);
      const hop = { ...decoded };
      const part = new Float64Array(7);
      decodeDeltas(buf, hop, split, split + 7, part, 0);
      assert.deepEqual([...part], values.slice(split, split + 7));
      decodeDeltas(buf, hop, split + 7, values.length, tail, 0);
      assert.deepEqual([...tail.subarray(0, values.length - split - 7)], values.slice(split + 7));
    }
  }
});
