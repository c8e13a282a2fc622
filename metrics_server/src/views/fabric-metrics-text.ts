/**
 * The fabric telemetry of one snapshot as Prometheus exposition: one gauge family per metric of the
 * schema, one series per switch, named by Prometheus conventions (base units, ratios instead of
 * percent) with a `switch` label; generator columns outside the schema as one family,
 * `fabric_switch_column_value`, with the column name as a label (a column name can be anything the
 * pattern allows, `_total` or `fooMs` included, and no metric name built from it is safe from
 * promtool's lints); and the cumulative `fabric_switch_packet_errors_total` counter, accumulated
 * across snapshots (views/counter-totals.ts). Gauges read the same in text format 0.0.4 and in
 * OpenMetrics; the counter family's HELP/TYPE lines do not (`x_total` in 0.0.4, `x` in OpenMetrics),
 * so each format is its own view. Rendered at most once per snapshot and format, in the render
 * worker, on the first scrape, and kept gzip-compressed until a newer snapshot replaces it. The test
 * suite holds it byte for byte to the straightforward string version
 * (`test/reference/fabric-metrics-text.ts`).
 */
import { gzipSync } from 'node:zlib';
import { SWITCH_ID_MAX_LENGTH, isMetricName, type MetricName } from '../../../common/telemetry-schema.js';
import type { TelemetryColumns } from '../snapshot/columns.js';
import { MAX_VALUE_TEXT, scaleFactor, scalePlaces, writeValue } from '../snapshot/value-text.js';

export { convert } from '../snapshot/value-text.js';

/** The two exposition formats a scraper can ask for. */
export type ExpositionFormat = 'text' | 'openmetrics';

/** A per-switch running total kept across snapshots, rendered as a counter family. */
export interface CounterColumn {
  /** The schema metric it counts (`packet_errors`). */
  readonly metric: MetricName;
  /** One total per row of the snapshot it was made for. */
  readonly values: Float64Array;
  /** The number kind of the totals (columns.ts), the counted column's. */
  readonly decimals: number;
}

/** How a running total becomes a counter family. */
export interface CounterSeriesMapping {
  /** The family name in OpenMetrics; samples (and the 0.0.4 family) add `_total`. */
  readonly family: string;
  readonly help: string;
}

/** Counters kept for schema metrics that count events per interval. */
export const COUNTER_SERIES: Readonly<Partial<Record<MetricName, CounterSeriesMapping>>> = {
  packet_errors: {
    family: 'fabric_switch_packet_errors',
    help: 'Packet errors counted since the server started, summed from each new snapshot (a tick the server never saw is not counted).',
  },
};

/** The family of generator columns outside the schema. */
export const OTHER_COLUMNS_SERIES = 'fabric_switch_column_value';

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
    // Not fabric_switch_packet_errors: in OpenMetrics that is the counter's family name.
    name: 'fabric_switch_interval_packet_errors',
    help: 'Packet errors seen during the last generator interval (a per-interval count; for rates use fabric_switch_packet_errors_total).',
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

/** The mapping of a schema column, or undefined for a column outside the schema (OTHER_COLUMNS_SERIES). */
export function seriesFor(metric: string): FabricSeriesMapping | undefined {
  return isMetricName(metric) ? FABRIC_SERIES[metric] : undefined;
}

/** HELP and TYPE lines of a family. */
function familyHeader(name: string, help: string, type: 'gauge' | 'counter'): string {
  return `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n`;
}

/** One family of the exposition: its header, then one run of lines per column it holds. */
interface Family {
  readonly header: Uint8Array;
  readonly runs: readonly { readonly linePrefix: Uint8Array; readonly values: Float64Array; readonly decimals: number; readonly scale: number }[];
}

const bytes = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'utf8'));

/** The families of an exposition, in order: schema gauges (column order), other columns, counters. */
function families(columns: TelemetryColumns, format: ExpositionFormat, counters: readonly CounterColumn[]): Family[] {
  const out: Family[] = [];
  const others: Family['runs'][number][] = [];
  for (const metric of columns.metrics) {
    const series = seriesFor(metric.name);
    if (series === undefined) {
      others.push({ linePrefix: bytes(`${OTHER_COLUMNS_SERIES}{column="${metric.name}",switch="`), values: metric.values, decimals: metric.decimals, scale: 1 });
      continue;
    }
    out.push({ header: bytes(familyHeader(series.name, series.help, 'gauge')), runs: [{ linePrefix: bytes(`${series.name}{switch="`), values: metric.values, decimals: metric.decimals, scale: series.scale }] });
  }
  if (others.length > 0) out.push({ header: bytes(familyHeader(OTHER_COLUMNS_SERIES, 'Generator columns outside the telemetry schema, by column name, as reported (unit unknown).', 'gauge')), runs: others });
  for (const counter of counters) {
    const series = COUNTER_SERIES[counter.metric];
    if (series === undefined) continue;
    const header = familyHeader(format === 'openmetrics' ? series.family : `${series.family}_total`, series.help, 'counter');
    out.push({ header: bytes(header), runs: [{ linePrefix: bytes(`${series.family}_total{switch="`), values: counter.values, decimals: counter.decimals, scale: 1 }] });
  }
  return out;
}

/**
 * The fabric text of `columns`, written into buffers of at most `maxChunkBytes` (whole lines only):
 * ids copied from the id text, sample values written digit by digit (value-text.ts;
 * `String(convert(value))` for whatever the fast paths skip). Each chunk is a view of one scratch
 * buffer, valid only until the next chunk is asked for, so a consumer that compresses each chunk holds
 * one chunk of text at a time, never the whole 33 MB of a 100,000-switch fabric. A generator, so a
 * caller can pause between chunks (the render worker lets other renders run).
 */
export function* fabricChunks(columns: TelemetryColumns, maxChunkBytes: number, format: ExpositionFormat = 'text', counters: readonly CounterColumn[] = []): Generator<Uint8Array, void, undefined> {
  const { rowCount } = columns;
  const { idText, idEnds } = columns.ids;
  const all = families(columns, format, counters);
  // A chunk holds at least one header and one line: ids are at most 64 bytes (the schema's pattern).
  const longestLine = Math.max(...all.flatMap((f) => f.runs.map((r) => r.linePrefix.length))) + SWITCH_ID_MAX_LENGTH + 4 + MAX_VALUE_TEXT;
  const capacity = Math.max(maxChunkBytes, Math.max(...all.map((f) => f.header.length)) + longestLine);
  const out = new Uint8Array(capacity);
  let p = 0;
  for (const family of all) {
    if (p + family.header.length > capacity) {
      yield out.subarray(0, p);
      p = 0;
    }
    out.set(family.header, p);
    p += family.header.length;
    for (const run of family.runs) {
      const { scale } = run;
      for (let row = 0; row < rowCount; ) {
        p = writeLines(out, p, capacity - longestLine, run.linePrefix, idText, idEnds, run.values, row, rowCount, run.decimals, scalePlaces(scale), scaleFactor(scale), scale);
        row = linesWritten;
        if (row < rowCount) {
          yield out.subarray(0, p);
          p = 0;
        }
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
export function renderFabricText(columns: TelemetryColumns, format: ExpositionFormat = 'text', counters: readonly CounterColumn[] = []): Buffer {
  const chunks: Buffer[] = [];
  for (const chunk of fabricChunks(columns, FABRIC_GZIP_CHUNK_BYTES, format, counters)) chunks.push(Buffer.from(chunk));
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
export async function renderFabricGzip(columns: TelemetryColumns, pause?: () => Promise<void>, format: ExpositionFormat = 'text', counters: readonly CounterColumn[] = []): Promise<Buffer> {
  const members: Buffer[] = [];
  let total = 0;
  for (const chunk of fabricChunks(columns, FABRIC_GZIP_CHUNK_BYTES, format, counters)) {
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
