/**
 * The fabric telemetry of one snapshot as Prometheus text exposition: one gauge family per metric,
 * one series per switch, named by Prometheus conventions (base units, ratios instead of percent, no
 * `_total` since none of these is a counter) with a `switch` label. The same text is valid
 * OpenMetrics (gauges, no UNIT lines), so one rendering serves both formats. Rendered lazily: at
 * most once per snapshot, in the ingestion worker, when the first scrape of that snapshot asks for
 * it (views/fabric-exposition.ts), and kept gzip-compressed until a newer snapshot replaces it.
 */
import { gzipSync } from 'node:zlib';
import { SWITCH_ID_MAX_LENGTH, isMetricName, type MetricName } from '../../../common/telemetry-schema.js';
import type { ParsedColumns } from '../ingest/csv-parser.js';
import type { SwitchIndexData } from '../snapshot/switch-index.js';
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
 * What the byte renderer reads: the parsed columns (ids, values and the CSV tokens they came from),
 * or a snapshot's exported ids and values with no tokens (every sample text then made by `String`).
 */
export type FabricColumns = Pick<ParsedColumns, 'metrics' | 'rowCount' | 'values' | 'source' | 'tokenStart' | 'tokenLength'> & {
  readonly index: Pick<SwitchIndexData, 'idText' | 'idEnds'>;
};

/** A snapshot's ids and values, as `Snapshot#exportColumns` gives them (copies, transferable). */
export interface SnapshotColumns {
  readonly metrics: readonly string[];
  readonly values: Float64Array;
  readonly idText: Uint8Array;
  readonly idEnds: Int32Array;
}

/** Columns without CSV tokens: the renderer falls back to `String(convert(value))` for every sample. */
export function columnsWithoutTokens(columns: SnapshotColumns): FabricColumns {
  return {
    metrics: columns.metrics,
    rowCount: columns.idEnds.length,
    values: columns.values,
    index: { idText: columns.idText, idEnds: columns.idEnds },
    source: new Uint8Array(0),
    tokenStart: new Int32Array(0),
    tokenLength: new Uint8Array(columns.values.length),
  };
}

/**
 * The same text as `renderFabricExposition`, byte for byte, written into buffers of at most
 * `maxChunkBytes` (whole lines only): ids are copied from the parsed bytes and each sample's text is
 * made once by `buildValueTexts` (token copied, decimal point moved, or integer digits; `convert` +
 * `String` for anything else). When the whole text fits in one chunk it is one exactly sized buffer
 * of its own; otherwise every chunk is a view of one scratch buffer, valid only until the next
 * chunk is asked for, so a consumer that compresses each chunk holds one chunk of text at a time,
 * never the whole 33 MB of a 100,000-switch fabric. A generator, so a caller can pause between
 * chunks (the worker lets waiting ingestion jobs run).
 */
export function* fabricChunks(parsed: FabricColumns, maxChunkBytes: number = Number.POSITIVE_INFINITY): Generator<Uint8Array, void, undefined> {
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
  const idBytes = rowCount === 0 ? 0 : idText.length - (rowCount - 1);
  let size = 0;
  let longestHeader = 0;
  for (let c = 0; c < width; c++) {
    size += headers[c]!.length + rowCount * (prefixes[c]!.length + 4) + idBytes + texts.columnBytes[c]!;
    longestHeader = Math.max(longestHeader, headers[c]!.length);
  }
  if (size === 0) return;
  const whole = size <= maxChunkBytes;
  // A Buffer, so the long constant prefix of each line is one native copy (Buffer#copy takes
  // offsets, no subarray per line): on a slow core that is about twice as fast as a byte loop.
  // A chunk holds at least one header and one line: ids are at most 64 bytes (the schema's pattern)
  // and a number's text at most 24 (`String(-1.2345678901234567e-308)`).
  const longestPrefix = Math.max(0, ...prefixes.map((prefix) => prefix.length));
  const capacity = whole ? size : Math.max(maxChunkBytes, longestHeader + longestPrefix + SWITCH_ID_MAX_LENGTH + 64);
  const out = Buffer.allocUnsafeSlow(capacity);
  const text = texts.bytes;
  const ends = texts.ends;
  let p = 0;
  let written = 0;
  for (let c = 0; c < width; c++) {
    const header = headers[c]!;
    if (p + header.length > capacity) {
      yield out.subarray(0, p);
      written += p;
      p = 0;
    }
    p = putAscii(out, p, header);
    const prefix = prefixes[c]!;
    const prefixLength = prefix.length;
    for (let row = 0, k = c; row < rowCount; row++, k += width) {
      const idStart = row === 0 ? 0 : idEnds[row - 1]! + 1;
      const idEnd = idEnds[row]!;
      const textStart = k === 0 ? 0 : ends[k - 1]!;
      const textEnd = ends[k]!;
      if (p + prefixLength + (idEnd - idStart) + (textEnd - textStart) + 4 > capacity) {
        yield out.subarray(0, p);
        written += p;
        p = 0;
      }
      prefix.copy(out, p, 0, prefixLength);
      p += prefixLength;
      for (let i = idStart; i < idEnd; i++) out[p++] = idText[i]!;
      out[p++] = 34; // "
      out[p++] = 125; // }
      out[p++] = 32;
      for (let i = textStart; i < textEnd; i++) out[p++] = text[i]!;
      out[p++] = 10;
    }
  }
  if (written + p !== size) throw new Error(`fabric exposition size ${written + p} does not match the computed ${size}`);
  yield whole ? out : out.subarray(0, p);
}

/** The whole fabric text in one exactly sized buffer (tests and the benchmark's codec figures). */
export function renderFabricExpositionBytes(parsed: FabricColumns): Uint8Array {
  for (const chunk of fabricChunks(parsed)) return chunk;
  return new Uint8Array(0);
}

/** Text per gzip member: large enough that the 18-byte member framing is noise, small enough to stay cache- and GC-friendly. */
export const FABRIC_GZIP_CHUNK_BYTES = 1 << 20;
/** zlib level 1: at 100,000 switches 33 MB of text becomes 2.7 MB in about 80 ms (level 6 is several times slower for ~20% less). */
export const FABRIC_GZIP_LEVEL = 1;

/**
 * The fabric text gzip-compressed, as a series of gzip members (one per chunk of text) joined in one
 * buffer that owns its memory (transferable). Concatenated members are one valid gzip stream
 * (RFC 1952 section 2.2); Go's gzip reader (Prometheus), Node's zlib and fetch decode them whole.
 * `pause` runs between members (the worker uses it to let queued ingestion jobs go first).
 */
export async function renderFabricGzip(parsed: FabricColumns, pause?: () => Promise<void>): Promise<Uint8Array> {
  const members: Buffer[] = [];
  let total = 0;
  for (const chunk of fabricChunks(parsed, FABRIC_GZIP_CHUNK_BYTES)) {
    const member = gzipSync(chunk, { level: FABRIC_GZIP_LEVEL });
    members.push(member);
    total += member.length;
    if (pause !== undefined) await pause();
  }
  const out = Buffer.allocUnsafeSlow(total);
  let p = 0;
  for (const member of members) p += member.copy(out, p);
  return out;
}
