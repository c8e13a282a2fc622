/**
 * Number text for the views, written as bytes straight into a view's buffer. Each text is exactly
 * what the string renderers write (`String(value)` for JSON, `String(convert(value, scale))` for
 * Prometheus), made without a string per value wherever the column's number kind allows it:
 *
 * A column with `decimals` d ≥ 0 holds values that are exact decimals with at most d fractional
 * digits and at most 15 significant digits (columns.ts). For such a value v, m = round(v × 10^d) is
 * an integer below 10^15, and the check m / 10^d === v proves it (both sides are the correctly
 * rounded double of the same decimal). A decimal of at most 15 significant digits is the shortest
 * text that reads back as its double, so `String(v)` prints m with its decimal point d places from
 * the right, trailing zeros dropped, as long as it uses plain notation (|v| ≥ 1e-6).
 *
 * - JSON: that text.
 * - Prometheus with scale 10^-k (ms → s, percent → ratio): the same digits with d + k places.
 *   `convert` rounds v × 10^-k to 15 significant digits; the product's error (a few units in the
 *   17th digit) is below half a unit of the 15th, so the rounding gives exactly that decimal.
 * - Prometheus with an integer scale f (Mb/s → bytes/s): m × f with d places, while m × f < 10^15,
 *   by the same argument.
 *
 * Anything else (ANY_DECIMALS columns, a value that fails the check, results below 1e-6 or of 16 or
 * more digits) falls back to `String` itself. Property tests compare every path with
 * the string renderers on random input.
 */

/** Powers of ten that are exact doubles (up to 10^22). */
const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);

/**
 * How `scale` (1 for JSON) is applied to a column's digits, as two plain numbers (objects here made
 * the callers polymorphic): `places` ≥ 0 moves the decimal point that many places left, and `factor`
 * multiplies the integer; `places` -1 means neither works and `String` is used.
 */
export function scalePlaces(scale: number): number {
  for (let places = 0; places <= 9; places++) if (scale === 1 / 10 ** places) return places;
  return Number.isInteger(scale) && scale > 0 && scale < 2 ** 31 ? 0 : -1;
}

/** The integer factor of `scale` (1 when scalePlaces moves the point instead). */
export function scaleFactor(scale: number): number {
  return Number.isInteger(scale) && scale > 0 && scale < 2 ** 31 ? scale : 1;
}

/** ASCII text into `out` at `p`; returns the position after it. */
function writeLatin1(out: Uint8Array, p: number, text: string): number {
  for (let i = 0; i < text.length; i++) out[p++] = text.charCodeAt(i);
  return p;
}

/**
 * Writes the integer m (|m| < 10^15) divided by 10^places, as `String` prints it, or returns -1
 * (writing nothing) when that would be below 1e-6, where `String` switches to an exponent. Digits
 * are written from the right, so no scratch array and no reversal.
 */
function writeDecimal(out: Uint8Array, p: number, m: number, places: number): number {
  if (m === 0) {
    out[p] = 48;
    return p + 1;
  }
  const negative = m < 0;
  let v = negative ? -m : m;
  // Trailing zeros of the fraction are not printed.
  while (places > 0 && v % 10 === 0) {
    v = v / 10;
    places--;
  }
  let n = 1;
  while (n < 16 && v >= POW10[n]!) n++;
  // n digits with the decimal point `places` from the right: the first significant digit is at
  // 10^(n - places - 1), which must be at least 10^-6.
  if (n - places - 1 < -6) return -1;
  const length = (negative ? 1 : 0) + (places === 0 ? n : n > places ? n + 1 : places + 2);
  const end = p + length;
  let q = end - 1;
  for (let fraction = places; fraction > 0; fraction--) {
    const next = Math.floor(v / 10);
    out[q--] = 48 + v - next * 10;
    v = next;
  }
  if (places > 0) out[q--] = 46;
  if (v === 0) out[q--] = 48;
  while (v > 0) {
    const next = Math.floor(v / 10);
    out[q--] = 48 + v - next * 10;
    v = next;
  }
  if (negative) out[q] = 45;
  return end;
}

/** At most this many bytes per value text (the longest `String` of a double is 24 characters). */
export const MAX_VALUE_TEXT = 24;

/**
 * Scales into a base unit without binary noise: 1.42 ms → 0.00142 s, not 0.0014199999999999998.
 * Rounding to 15 significant digits (what a double holds exactly) removes the noise that dividing a
 * decimal by a power of ten leaves. The Prometheus fabric series are `String(convert(value, scale))`.
 */
export function convert(value: number, scale: number): number {
  if (scale === 1) return value;
  return Number((value * scale).toPrecision(15));
}

/**
 * Writes `String(convert(value, scale))` (for scale 1: `String(value)`, the JSON text) for a value of
 * a column with `decimals`, where `places = scalePlaces(scale)` and `factor = scaleFactor(scale)`;
 * returns the position after it. Every argument is a number and there is no callback, so the function
 * stays monomorphic whichever view calls it (a per-render closure here made the callers deoptimize on
 * every render).
 */
export function writeValue(out: Uint8Array, p: number, value: number, decimals: number, places: number, factor: number, scale: number): number {
  if (decimals >= 0 && places >= 0) {
    const p10 = POW10[decimals]!;
    const m = Math.round(value * p10);
    if (m / p10 === value && m < 1e15 && m > -1e15) {
      const scaled = m * factor;
      if (scaled < 1e15 && scaled > -1e15) {
        const end = writeDecimal(out, p, scaled, decimals + places);
        if (end !== -1) return end;
      }
    }
  }
  return writeLatin1(out, p, String(convert(value, scale)));
}
