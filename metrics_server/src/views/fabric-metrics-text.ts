/**
 * The fabric telemetry of one snapshot as Prometheus text exposition: one gauge family per metric,
 * one series per switch, named by Prometheus conventions (base units, ratios instead of percent, no
 * `_total` since none of these is a counter) with a `switch` label. The same text is valid
 * OpenMetrics (gauges, no UNIT lines), so one rendering serves both formats. Rendered at most once
 * per snapshot, in the render worker, when the first scrape of that snapshot asks for it (the view
 * registry), and kept gzip-compressed until a newer snapshot replaces it. The test suite holds it
 * byte for byte to the straightforward string version (`test/reference/fabric-metrics-text.ts`).
 */
import { gzipSync } from 'node:zlib';
import { SWITCH_ID_MAX_LENGTH, isMetricName, type MetricName } from '../../../common/telemetry-schema.js';
import type { TelemetryColumns } from '../snapshot/columns.js';
import { MAX_VALUE_TEXT, scaleFactor, scalePlaces, writeValue } from './value-text.js';

export { convert } from './value-text.js';

/** How one CSV column becomes a Prometheus gauge family. */
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
 * The fabric text of `columns`, written into buffers of at most `maxChunkBytes` (whole lines only):
 * ids copied from the id text, sample values written digit by digit (value-text.ts; `String(convert(value))`
 * for whatever the fast paths skip: integers and decimals as JS prints them, valid in both formats). Each chunk is a view of one scratch buffer, valid only
 * until the next chunk is asked for, so a consumer that compresses each chunk holds one chunk of text
 * at a time, never the whole 33 MB of a 100,000-switch fabric. A generator, so a caller can pause
 * between chunks (the render worker lets other renders run).
 */
export function* fabricChunks(columns: TelemetryColumns, maxChunkBytes: number): Generator<Uint8Array, void, undefined> {
  const { rowCount, metrics } = columns;
  const { idText, idEnds } = columns.ids;
  const series = metrics.map((m) => seriesFor(m.name));
  const headers = series.map((s) => new Uint8Array(Buffer.from(`# HELP ${s.name} ${s.help}\n# TYPE ${s.name} gauge\n`, 'utf8')));
  const prefixes = series.map((s) => new Uint8Array(Buffer.from(`${s.name}{switch="`, 'latin1')));
  // A chunk holds at least one header and one line: ids are at most 64 bytes (the schema's pattern).
  const longestLine = Math.max(...prefixes.map((prefix) => prefix.length)) + SWITCH_ID_MAX_LENGTH + 4 + MAX_VALUE_TEXT;
  const capacity = Math.max(maxChunkBytes, Math.max(...headers.map((h) => h.length)) + longestLine);
  const out = new Uint8Array(capacity);
  let p = 0;
  for (let c = 0; c < metrics.length; c++) {
    const header = headers[c]!;
    if (p + header.length > capacity) {
      yield out.subarray(0, p);
      p = 0;
    }
    out.set(header, p);
    p += header.length;
    const scale = series[c]!.scale;
    for (let row = 0; row < rowCount; ) {
      p = writeLines(out, p, capacity - longestLine, prefixes[c]!, idText, idEnds, metrics[c]!.values, row, rowCount, metrics[c]!.decimals, scalePlaces(scale), scaleFactor(scale), scale);
      row = linesWritten;
      if (row < rowCount) {
        yield out.subarray(0, p);
        p = 0;
      }
    }
  }
  if (p > 0) yield out.subarray(0, p);
}

/** Where the last `writeLines` stopped (a module variable: no result object per call). */
let linesWritten = 0;

/**
 * Lines `row`, `row + 1`, ... of one column into `out` from `p`, until the rows end or `p` passes
 * `limit`; returns the position and leaves the next row in `linesWritten`. Only typed arrays and
 * numbers come in, so the loop stays optimized whichever view ran before (see list-metrics-json.ts).
 */
function writeLines(
  out: Uint8Array,
  p: number,
  limit: number,
  prefix: Uint8Array,
  idText: Uint8Array,
  idEnds: Int32Array,
  values: Float64Array,
  row: number,
  rowCount: number,
  decimals: number,
  places: number,
  factor: number,
  scale: number,
): number {
  const prefixLength = prefix.length;
  for (; row < rowCount && p <= limit; row++) {
    // A native copy: a byte loop over the ~40-byte prefix took most of the render in a profile.
    out.set(prefix, p);
    p += prefixLength;
    const idEnd = idEnds[row]!;
    for (let i = row === 0 ? 0 : idEnds[row - 1]! + 1; i < idEnd; i++) out[p++] = idText[i]!;
    out[p++] = 34; // "
    out[p++] = 125; // }
    out[p++] = 32;
    p = writeValue(out, p, values[row]!, decimals, places, factor, scale);
    out[p++] = 10;
  }
  linesWritten = row;
  return p;
}

/** The whole fabric text in one buffer (tests and the benchmark's codec figures). */
export function renderFabricText(columns: TelemetryColumns): Buffer {
  const chunks: Buffer[] = [];
  for (const chunk of fabricChunks(columns, FABRIC_GZIP_CHUNK_BYTES)) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

/** Text per gzip member: large enough that the 18-byte member framing is noise, small enough to stay cache- and GC-friendly. */
export const FABRIC_GZIP_CHUNK_BYTES = 1 << 20;
/** zlib level 1: at 100,000 switches 33 MB of text becomes 2.7 MB in about 80 ms (level 6 is several times slower for ~20% less). */
export const FABRIC_GZIP_LEVEL = 1;

/**
 * The fabric text gzip-compressed, as a series of gzip members (one per chunk of text) joined in one
 * buffer that owns its memory (transferable). Concatenated members are one valid gzip stream
 * (RFC 1952 section 2.2); Go's gzip reader (Prometheus), Node's zlib and fetch decode them whole.
 * `pause` runs between members (the render worker lets other renders waiting for it go first).
 */
export async function renderFabricGzip(columns: TelemetryColumns, pause?: () => Promise<void>): Promise<Buffer> {
  const members: Buffer[] = [];
  let total = 0;
  for (const chunk of fabricChunks(columns, FABRIC_GZIP_CHUNK_BYTES)) {
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
