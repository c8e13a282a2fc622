/**
 * The one shared definition of the telemetry contract: metric names, their number formats, the CSV
 * header, and the patterns that switch ids and metric names must match. Both services import it;
 * nothing else may restate these facts.
 */

/** How a metric's value is written in CSV and JSON. */
export type MetricFormat =
  | { readonly kind: 'integer' }
  | { readonly kind: 'decimal'; readonly decimals: number };

/** One metric of the contract: its name, number format, unit and meaning. */
export interface MetricDefinition {
  readonly name: MetricName;
  readonly format: MetricFormat;
  readonly unit: string;
  readonly description: string;
}

/** The six metrics of the seed, in the seed's column order. */
export const METRIC_NAMES = [
  'bandwidth_mbps',
  'latency_ms',
  'packet_errors',
  'link_status',
  'tx_queue_depth',
  'utilization_percent',
] as const;

/** One of the six metric names. */
export type MetricName = (typeof METRIC_NAMES)[number];

/** Every metric of the contract, by name. */
export const METRICS: Readonly<Record<MetricName, MetricDefinition>> = Object.freeze({
  bandwidth_mbps: {
    name: 'bandwidth_mbps',
    format: { kind: 'integer' },
    unit: 'megabits per second',
    description: 'Transmit bandwidth currently used on the switch uplink.',
  },
  latency_ms: {
    name: 'latency_ms',
    format: { kind: 'decimal', decimals: 2 },
    unit: 'milliseconds',
    description: 'Port-to-port latency; rises with load and has occasional spikes.',
  },
  packet_errors: {
    name: 'packet_errors',
    format: { kind: 'integer' },
    unit: 'packets',
    description: 'Packet errors seen during the last interval; mostly 0, with bursts.',
  },
  link_status: {
    name: 'link_status',
    format: { kind: 'integer' },
    unit: '1 up, 0 down',
    description: 'Link state. While 0, every other metric of the switch is 0.',
  },
  tx_queue_depth: {
    name: 'tx_queue_depth',
    format: { kind: 'integer' },
    unit: 'packets',
    description: 'Transmit queue depth; rises with utilization.',
  },
  utilization_percent: {
    name: 'utilization_percent',
    format: { kind: 'decimal', decimals: 1 },
    unit: 'percent',
    description: 'Bandwidth as a share of link capacity, 0 to 100.',
  },
});

/** The first CSV column: the switch identifier. */
export const SWITCH_ID_COLUMN = 'switch_id';

/** The field that ListMetrics adds to every switch object; never a metric name. */
export const TIMESTAMP_FIELD = 'timestamp';

/** True for one of the six metrics of the contract. */
export function isMetricName(name: string): name is MetricName {
  return Object.prototype.hasOwnProperty.call(METRICS, name);
}

/**
 * Switch ids: letters, digits and `_ - . :`, starting with a letter or digit, 1 to 64 characters.
 * This keeps ids safe to echo in JSON, log lines and Prometheus label values without escaping.
 */
export const SWITCH_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;
/** The longest switch id the pattern allows. */
export const SWITCH_ID_MAX_LENGTH = 64;

/**
 * Metric names: a letter or underscore, then letters, digits and underscores, at most 64
 * characters. That is the Prometheus metric-name alphabet (without `:`), so any metric the
 * generator can be configured with maps to a valid series name.
 */
export const METRIC_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
/** The longest metric name the pattern allows. */
export const METRIC_NAME_MAX_LENGTH = 64;

/** Character classes of both patterns, by char code below 128: a table lookup per character. */
const FIRST_OF_ID = 1;
const REST_OF_ID = 2;
const FIRST_OF_NAME = 4;
const REST_OF_NAME = 8;
const CHAR_CLASS = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  if (/[A-Za-z0-9]/.test(ch)) CHAR_CLASS[c] = FIRST_OF_ID | REST_OF_ID | REST_OF_NAME;
  else if (/[.:-]/.test(ch)) CHAR_CLASS[c] = REST_OF_ID;
  if (ch === '_') CHAR_CLASS[c] = REST_OF_ID | FIRST_OF_NAME | REST_OF_NAME;
  if (/[A-Za-z]/.test(ch)) CHAR_CLASS[c] = CHAR_CLASS[c]! | FIRST_OF_NAME;
}

/** True when every character of `text` is in the class `rest` and the first in `first`, within `max` characters. */
function matchesClasses(text: string, first: number, rest: number, max: number): boolean {
  const length = text.length;
  if (length === 0 || length > max) return false;
  const c0 = text.charCodeAt(0);
  if (c0 >= 128 || (CHAR_CLASS[c0]! & first) === 0) return false;
  for (let i = 1; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 128 || (CHAR_CLASS[c]! & rest) === 0) return false;
  }
  return true;
}

/**
 * True when `id` matches SWITCH_ID_PATTERN. A character-table scan rather than the regular
 * expression (it runs on every request); a property test holds the two to the same answers.
 */
export function isValidSwitchId(id: string): boolean {
  return matchesClasses(id, FIRST_OF_ID, REST_OF_ID, SWITCH_ID_MAX_LENGTH);
}

/** True when `name` matches METRIC_NAME_PATTERN (same scan) and is not a reserved column name. */
export function isValidMetricName(name: string): boolean {
  return matchesClasses(name, FIRST_OF_NAME, REST_OF_NAME, METRIC_NAME_MAX_LENGTH) && name !== TIMESTAMP_FIELD && name !== SWITCH_ID_COLUMN;
}

/**
 * A CSV/JSON number: optional sign, digits, optional fraction, optional exponent. Deliberately
 * stricter than `Number()`, which would also take hex, `Infinity`, whitespace and the empty string.
 */
export const DECIMAL_NUMBER_PATTERN = /^[+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/** Parses a CSV value; returns undefined for anything that is not a finite decimal number. */
export function parseDecimalNumber(text: string): number | undefined {
  if (!DECIMAL_NUMBER_PATTERN.test(text)) return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}

/**
 * Rounds a value to its metric's format. Decimals are rounded half away from zero and then written
 * by `String()`, which gives the shortest form the seed shows (`6.8`, not `6.80`).
 */
export function roundToFormat(value: number, format: MetricFormat): number {
  if (format.kind === 'integer') return Math.round(value);
  const factor = 10 ** format.decimals;
  const rounded = Math.round(Math.abs(value) * factor) / factor;
  return value < 0 ? -rounded : rounded;
}

/** Writes a value already rounded by `roundToFormat`. `-0` is written as `0`. */
export function formatValue(value: number): string {
  return value === 0 ? '0' : String(value);
}

/** `switch_id,<metrics…>`, the CSV header for a set of metrics in the given order. */
export function csvHeader(metrics: readonly string[]): string {
  return [SWITCH_ID_COLUMN, ...metrics].join(',');
}

/** Switch ids `sw1` … `swN`, the generator's naming. */
export function switchIdFor(index: number): string {
  return `sw${index + 1}`;
}
