/**
 * A finite double as JSON number text. `String()` already gives the shortest round-trip form
 * (8123, 1.42, 1e+21), which is valid JSON; `-0` prints as `0`.
 */
export function jsonNumber(value: number): string {
  return String(value);
}
