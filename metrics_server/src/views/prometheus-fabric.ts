/**
 * The fabric telemetry of one snapshot as Prometheus text exposition: one gauge family per metric,
 * one series per switch, named by Prometheus conventions (base units, ratios instead of percent, no
 * `_total` since none of these is a counter) with a `switch` label. The same text is valid
 * OpenMetrics (gauges, no UNIT lines), so one rendering serves both formats. Rendered once per
 * snapshot in the ingestion worker, never per scrape.
 */
import { isMetricName, type MetricName } from '../../../common/telemetry-schema.js';
import type { ParsedColumns } from '../ingest/csv-parser.js';
import { buildValueTexts, putAscii } from './value-text.js';

export interface FabricSeriesMapping {
  /** Prometheus metric name. */
  readonly name: string;
  readonly help: string;
  /** Converts the CSV value into the series' base unit. */
  readonly scale: number;
}

/** The CSV column → Prometheus series mapping (README: "Prometheus"). */
export const FABRIC_SERIES: Readonly<Record<MetricName, FabricSeriesMapping>> = {
  bandwidth_mbps: {
    name: 'fabric_switch_bandwidth_bytes_per_second',
    help: 'Transmit bandwidth in use, in bytes per second (CSV bandwidth_mbps x 125000).',
    scale: 1_000_000 / 8,
  },
  latency_ms: {
    name: 'fabric_switch_latency_seconds',
    help: 'Port-to-port latency in seconds (CSV latency_ms / 1000).',
    scale: 1 / 1000,
  },
  packet_errors: {
    name: 'fabric_switch_packet_errors',
    help: 'Packet errors seen during the generator interval (a per-interval count, not a running total).',
    scale: 1,
  },
  link_status: {
    name: 'fabric_switch_link_up',
    help: 'Link state: 1 up, 0 down. While 0, every other series of the switch is 0.',
    scale: 1,
  },
  tx_queue_depth: {
    name: 'fabric_switch_tx_queue_depth_packets',
    help: 'Transmit queue depth in packets.',
    scale: 1,
  },
  utilization_percent: {
    name: 'fabric_switch_utilization_ratio',
    help: 'Bandwidth as a ratio of link capacity, 0 to 1 (CSV utilization_percent / 100).',
    scale: 1 / 100,
  },
};

/** The mapping for a column; columns outside the schema are exported as-is under a prefix. */
export function seriesFor(metric: string): FabricSeriesMapping {
  if (isMetricName(metric)) return FABRIC_SERIES[metric];
  return { name: `fabric_switch_${metric}`, help: `Generator column ${metric}, as reported (unit unknown).`, scale: 1 };
}

/**
 * Scales into the base unit without binary noise: 1.42 ms → 0.00142 s, not 0.0014199999999999998.
 * Rounding to 15 significant digits (what a double holds exactly) removes the noise that dividing a
 * decimal by a power of ten leaves.
 */
export function convert(value: number, scale: number): number {
  if (scale === 1) return value;
  return Number((value * scale).toPrecision(15));
}

/** Prometheus text for a value: integers and decimals as JS prints them (valid in both formats). */
function sampleValue(value: number): string {
  return String(value);
}

export function renderFabricExposition(switchIds: readonly string[], metrics: readonly string[], values: Float64Array): string {
  const width = metrics.length;
  const parts: string[] = [];
  for (let column = 0; column < width; column++) {
    const series = seriesFor(metrics[column]!);
    let chunk = `# HELP ${series.name} ${series.help}\n# TYPE ${series.name} gauge\n`;
    const prefix = `${series.name}{switch="`;
    for (let row = 0; row < switchIds.length; row++) {
      // Switch ids match the schema pattern (no quote, backslash or newline): no label escaping needed.
      chunk += `${prefix}${switchIds[row]}"} ${sampleValue(convert(values[row * width + column]!, series.scale))}\n`;
      if (row % 4096 === 4095) {
        parts.push(chunk);
        chunk = '';
      }
    }
    parts.push(chunk);
  }
  return parts.join('');
}

/**
 * The same text as `renderFabricExposition`, byte for byte, written into one exactly sized buffer:
 * ids are copied from the parsed bytes and each sample's text is made once by `buildValueTexts`
 * (token copied, decimal point moved, or integer digits; `convert` + `String` for anything else).
 * This is what ingestion uses; the string function above stays as the reference.
 */
export function renderFabricExpositionBytes(parsed: ParsedColumns): Uint8Array {
  const { metrics, rowCount } = parsed;
  const { idText, idEnds } = parsed.index;
  const width = metrics.length;
  const series = metrics.map(seriesFor);
  const texts = buildValueTexts(
    parsed,
    series.map((s) => s.scale),
    (value, column) => sampleValue(convert(value, series[column]!.scale)),
  );
  const headers = series.map((s) => new Uint8Array(Buffer.from(`# HELP ${s.name} ${s.help}\n# TYPE ${s.name} gauge\n`, 'utf8')));
  const prefixes = series.map((s) => Buffer.from(`${s.name}{switch="`, 'latin1'));
  const idBytes = idText.length - (rowCount - 1);
  let size = 0;
  for (let c = 0; c < width; c++) size += headers[c]!.length + rowCount * (prefixes[c]!.length + 4) + idBytes + texts.columnBytes[c]!;
  // A Buffer, so the long constant prefix of each line is one native copy (Buffer#copy takes
  // offsets, no subarray per line): on a slow core that is about twice as fast as a byte loop.
  const out = Buffer.allocUnsafeSlow(size);
  const text = texts.bytes;
  const ends = texts.ends;
  let p = 0;
  for (let c = 0; c < width; c++) {
    p = putAscii(out, p, headers[c]!);
    const prefix = prefixes[c]!;
    const prefixLength = prefix.length;
    for (let row = 0, k = c; row < rowCount; row++, k += width) {
      prefix.copy(out, p, 0, prefixLength);
      p += prefixLength;
      const idEnd = idEnds[row]!;
      for (let i = row === 0 ? 0 : idEnds[row - 1]! + 1; i < idEnd; i++) out[p++] = idText[i]!;
      out[p++] = 34; // "
      out[p++] = 125; // }
      out[p++] = 32;
      const end = ends[k]!;
      for (let i = k === 0 ? 0 : ends[k - 1]!; i < end; i++) out[p++] = text[i]!;
      out[p++] = 10;
    }
  }
  if (p !== size) throw new Error(`fabric exposition size ${p} does not match the computed ${size}`);
  return out;
}
