/**
 * The heatmap's colours: a 256-step scale from calm (dark blue) to hot (red), a colour no value can
 * take for a down link (magenta), and grey for a switch with no value. Packed as RGBA words in the
 * byte order of ImageData on little-endian machines (every browser target), so a redraw is one
 * table lookup per switch. Pure: no DOM.
 */

/** Scale stops, low to high: dark blue, blue, teal, yellow, orange, red. */
const STOPS: readonly (readonly [number, number, number])[] = [
  [23, 37, 84],
  [33, 102, 172],
  [67, 162, 160],
  [240, 220, 90],
  [245, 140, 50],
  [215, 25, 28],
];

/** RGB of a down link: outside the scale, unmistakable. */
export const DOWN_RGB: readonly [number, number, number] = [255, 0, 255];
/** RGB of a switch without a value for the metric. */
export const MISSING_RGB: readonly [number, number, number] = [90, 90, 90];

/** The scale's colour at t in [0, 1], as [r, g, b]. */
export function scaleRgb(t: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, t)) * (STOPS.length - 1);
  const i = Math.min(STOPS.length - 2, Math.floor(x));
  const f = x - i;
  const a = STOPS[i]!;
  const b = STOPS[i + 1]!;
  return [Math.round(a[0] + (b[0] - a[0]) * f), Math.round(a[1] + (b[1] - a[1]) * f), Math.round(a[2] + (b[2] - a[2]) * f)];
}

/** An [r, g, b] as a CSS colour. */
export function cssRgb([r, g, b]: readonly [number, number, number]): string {
  return `rgb(${r}, ${g}, ${b})`;
}

/** [r, g, b] packed as an opaque little-endian ImageData word. */
export function packRgba([r, g, b]: readonly [number, number, number]): number {
  return ((255 << 24) | (b << 16) | (g << 8) | r) >>> 0;
}

/** The 256 packed scale colours, index = round(t × 255). */
export const SCALE_WORDS: Uint32Array = Uint32Array.from({ length: 256 }, (_, i) => packRgba(scaleRgb(i / 255)));

/**
 * The value range a metric is coloured over: utilization is a percentage (0–100 whatever the
 * fabric does); link status reversed (up is calm); any other metric from 0 to the 99th percentile of up links, so
 * one spike does not wash the rest of the fabric into one colour.
 */
export function colourDomain(metric: string, sortedUpSample: Float64Array): [number, number] {
  if (metric === 'utilization_percent') return [0, 100];
  // Up (1) is the calm end, down (0) the hot one (down cells are drawn magenta anyway).
  if (metric === 'link_status') return [1, 0];
  const p99 = sortedUpSample[Math.min(sortedUpSample.length - 1, Math.floor(sortedUpSample.length * 0.99))] ?? 1;
  const low = Math.min(0, sortedUpSample[0] ?? 0);
  return [low, p99 > low ? p99 : low + 1];
}
