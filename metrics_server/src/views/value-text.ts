/**
 * The text of every value of a parsed snapshot, as bytes, made once per view and then copied into
 * the view's body. Each text is exactly what the string renderers write (`String(value)` for JSON,
 * `String(convert(value, scale))` for Prometheus), but produced without a string per value wherever
 * the CSV token allows it:
 * - identity (JSON, and Prometheus columns with scale 1): a token that is already its value's
 *   shortest form is copied byte for byte;
 * - scale 10^-k (ms → s, percent → ratio): such a token's decimal point is moved k places. With at
 *   most 15 significant digits, `convert`'s rounding to 15 digits gives exactly that shifted decimal
 *   (the product's error, about 3 units in the 17th digit, is below half a unit of the 15th), and
 *   `String` prints it in the same plain notation as long as it is not below 1e-6;
 * - integer scales (Mb/s → bytes/s): an integer value whose product stays below 1e15 is exact and
 *   printed digit by digit.
 * Everything else falls back to the string functions themselves. Property tests compare the results
 * with the string renderers on random input.
 */
import type { ParsedColumns } from '../ingest/csv-parser.js';

export interface ValueTexts {
  readonly bytes: Uint8Array;
  /** `ends[k]`: where the text of value k ends; it starts at `ends[k - 1]` (or 0). */
  readonly ends: Int32Array;
  /** Total text bytes per column. */
  readonly columnBytes: Float64Array;
}

/** Converts a value the slow, exact way; for Prometheus this is `convert` from prometheus-fabric. */
export type SlowFormat = (value: number, column: number) => string;

type Kind = { readonly kind: 'identity' } | { readonly kind: 'shift'; readonly places: number } | { readonly kind: 'integer'; readonly factor: number } | { readonly kind: 'slow' };

/** How a scale factor can be applied to the token text. */
export function scaleKind(scale: number): Kind {
  if (scale === 1) return { kind: 'identity' };
  for (let places = 1; places <= 9; places++) if (scale === 1 / 10 ** places) return { kind: 'shift', places };
  if (Number.isInteger(scale) && scale > 0 && scale < 2 ** 31) return { kind: 'integer', factor: scale };
  return { kind: 'slow' };
}

class ByteWriter {
  bytes: Uint8Array;
  length = 0;
  constructor(capacity: number) {
    this.bytes = new Uint8Array(Math.max(64, capacity));
  }
  ensure(extra: number): void {
    if (this.length + extra <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < this.length + extra) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
  }
  latin1(text: string): void {
    this.ensure(text.length);
    const out = this.bytes;
    let p = this.length;
    for (let i = 0; i < text.length; i++) out[p++] = text.charCodeAt(i);
    this.length = p;
  }
}

const MAX_FAST_TEXT = 48;
const digits = new Uint8Array(32);

/**
 * @param scales one scale factor per metric column (1 everywhere for JSON).
 * @param slow the exact string form of a value in column `column`, for whatever the fast paths skip.
 */
export function buildValueTexts(parsed: Pick<ParsedColumns, 'metrics' | 'rowCount' | 'values' | 'source' | 'tokenStart' | 'tokenLength'>, scales: readonly number[], slow: SlowFormat): ValueTexts {
  const width = parsed.metrics.length;
  const count = parsed.rowCount * width;
  const { values, source, tokenStart, tokenLength } = parsed;
  const kinds = scales.map(scaleKind);
  const kindCode = new Int32Array(width);
  const param = new Float64Array(width);
  for (let c = 0; c < width; c++) {
    const k = kinds[c]!;
    kindCode[c] = k.kind === 'identity' ? 0 : k.kind === 'shift' ? 1 : k.kind === 'integer' ? 2 : 3;
    param[c] = k.kind === 'shift' ? k.places : k.kind === 'integer' ? k.factor : 0;
  }
  const ends = new Int32Array(count);
  const columnBytes = new Float64Array(width);
  const w = new ByteWriter(count * 8);
  let k = 0;
  for (let row = 0; row < parsed.rowCount; row++) {
    for (let c = 0; c < width; c++, k++) {
      w.ensure(MAX_FAST_TEXT);
      const before = w.length;
      const value = values[k]!;
      const length = tokenLength[k]!;
      const code = kindCode[c]!;
      let done = false;
      if (code === 0) {
        if (length > 0) {
          const out = w.bytes;
          const from = tokenStart[k]!;
          for (let i = 0; i < length; i++) out[before + i] = source[from + i]!;
          w.length = before + length;
          done = true;
        }
      } else if (value === 0) {
        w.bytes[w.length++] = 48; // every zero, -0 included, prints as "0"
        done = true;
      } else if (code === 1) {
        if (length > 0) done = writeShifted(w, source, tokenStart[k]!, length, param[c]!);
      } else if (code === 2) {
        const product = value * param[c]!;
        if (Number.isInteger(value) && Math.abs(product) < 1e15) {
          writeInteger(w, product);
          done = true;
        }
      }
      if (!done) {
        w.length = before;
        w.latin1(code === 0 ? String(value) : slow(value, c));
      }
      ends[k] = w.length;
      columnBytes[c] = columnBytes[c]! + w.length - before;
    }
  }
  return { bytes: w.bytes, ends, columnBytes };
}

/** An integer below 1e15 in magnitude, as `String` prints it. */
function writeInteger(w: ByteWriter, value: number): void {
  let v = Math.abs(value);
  let n = 0;
  do {
    const q = Math.floor(v / 10);
    digits[n++] = 48 + (v - q * 10);
    v = q;
  } while (v > 0);
  const out = w.bytes;
  let p = w.length;
  if (value < 0) out[p++] = 45;
  while (n > 0) out[p++] = digits[--n]!;
  w.length = p;
}

/**
 * A canonical, non-zero decimal token divided by 10^places, in `String`'s plain notation. Returns
 * false (writing nothing) when the result would be below 1e-6, where `String` uses an exponent.
 */
function writeShifted(w: ByteWriter, source: Uint8Array, start: number, length: number, places: number): boolean {
  const end = start + length;
  let i = start;
  const negative = source[i] === 45;
  if (negative) i++;
  const intStart = i;
  while (i < end && source[i] !== 46) i++;
  const intEnd = i;
  const fracStart = i < end ? i + 1 : end;
  // The significant digits, and the position of the decimal point relative to their start.
  let n = 0;
  let point: number;
  if (intEnd - intStart === 1 && source[intStart] === 48) {
    let j = fracStart;
    while (j < end && source[j] === 48) j++;
    point = -(j - fracStart);
    for (; j < end; j++) digits[n++] = source[j]!;
  } else {
    for (let j = intStart; j < intEnd; j++) digits[n++] = source[j]!;
    point = intEnd - intStart;
    for (let j = fracStart; j < end; j++) digits[n++] = source[j]!;
    while (n > 1 && digits[n - 1] === 48) n--; // an integer's trailing zeros (a fraction has none)
  }
  point -= places;
  if (point <= -6) return false;
  const out = w.bytes;
  let p = w.length;
  if (negative) out[p++] = 45;
  if (point >= n) {
    for (let j = 0; j < n; j++) out[p++] = digits[j]!;
    for (let j = n; j < point; j++) out[p++] = 48;
  } else if (point > 0) {
    for (let j = 0; j < point; j++) out[p++] = digits[j]!;
    out[p++] = 46;
    for (let j = point; j < n; j++) out[p++] = digits[j]!;
  } else {
    out[p++] = 48;
    out[p++] = 46;
    for (let j = 0; j < -point; j++) out[p++] = 48;
    for (let j = 0; j < n; j++) out[p++] = digits[j]!;
  }
  w.length = p;
  return true;
}

/** Copies ASCII text into `out` at `pos`; returns the new position. */
export function putAscii(out: Uint8Array, pos: number, text: Uint8Array): number {
  for (let i = 0; i < text.length; i++) out[pos + i] = text[i]!;
  return pos + text.length;
}
