/**
 * The dashboard's picture of the fabric: switch ids in snapshot order, an id → row index and one
 * Float64Array per metric (the same column model the server keeps), so the heatmap and the table
 * read numbers by row without touching the JSON objects again. Pure: no DOM, tested under Node.
 *
 * Data from the server is untrusted text: ids and metric names are only ever used as Map keys and
 * array entries (never as keys of plain objects, where `__proto__` or `constructor` would bite),
 * and values that are not finite numbers become NaN (shown as "–").
 */

/** The metric whose 0 means "link down" (SPEC: every other metric of that switch is then 0). */
export const LINK_STATUS = 'link_status';
/** The metric the spike highlight and "worst latency" read. */
export const LATENCY = 'latency_ms';
/** The metric the total bandwidth adds up. */
export const BANDWIDTH = 'bandwidth_mbps';
/** The heatmap's default metric. */
export const UTILIZATION = 'utilization_percent';
/** ListMetrics' per-switch field that is not a metric. */
const TIMESTAMP = 'timestamp';
/** A latency at least this many times the fabric's median (of up links) is a spike. */
export const SPIKE_FACTOR = 5;

/** The parsed JSON of a ListMetrics body, or the `switches` of a stream event. */
export type SwitchRows = ReadonlyMap<string, ReadonlyMap<string, number>>;

/** What the summary panel shows, computed in one pass over the columns. */
export interface FabricSummary {
  readonly switches: number;
  readonly linksDown: number;
  /** Sum of `bandwidth_mbps`, or undefined when the fabric has no such metric. */
  readonly totalBandwidthMbps: number | undefined;
  /** The highest `latency_ms` and its switch, or undefined when there is none. */
  readonly worstLatency: { readonly id: string; readonly value: number } | undefined;
}

/** A JSON value's object form: own enumerable keys only (never the prototype chain). */
function entriesOf(value: unknown): [string, unknown][] {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? Object.entries(value) : [];
}

/** A JSON number as a value; anything else (strings, null, objects) as NaN. */
function numberOf(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : NaN;
}

/**
 * Turns a parsed `{"sw1": {"latency_ms": 1.4, ...}}` object into rows, dropping the per-switch
 * `timestamp` and anything that is not an object of numbers.
 */
export function rowsFromJson(json: unknown): Map<string, Map<string, number>> {
  const rows = new Map<string, Map<string, number>>();
  for (const [id, fields] of entriesOf(json)) {
    const row = new Map<string, number>();
    for (const [metric, value] of entriesOf(fields)) if (metric !== TIMESTAMP) row.set(metric, numberOf(value));
    rows.set(id, row);
  }
  return rows;
}

/** The fabric as columns; `revision` counts every change so views can tell when to redraw. */
export class FabricModel {
  ids: string[] = [];
  readonly index = new Map<string, number>();
  metrics: string[] = [];
  readonly columns = new Map<string, Float64Array>();
  /** The snapshot version shown (from the ETag or the stream event id), when known. */
  version: number | undefined;
  /** The snapshot's ingestion time, Unix seconds. */
  timestamp = 0;
  revision = 0;
  /** The latency at or above which a cell is a spike (SPIKE_FACTOR × the median of up links). */
  spikeThresholdMs = Infinity;

  /** Replaces everything with a whole snapshot (a ListMetrics body or a stream `snapshot` event). */
  replace(rows: SwitchRows, version: number | undefined, timestamp: number, metricNames?: readonly string[]): void {
    const metrics = metricNames !== undefined && metricNames.length > 0 ? [...metricNames] : this.metricsOf(rows);
    const n = rows.size;
    this.ids = new Array<string>(n);
    this.index.clear();
    this.metrics = metrics;
    this.columns.clear();
    const columns = metrics.map((m) => {
      const column = new Float64Array(n).fill(NaN);
      this.columns.set(m, column);
      return column;
    });
    let row = 0;
    for (const [id, values] of rows) {
      this.ids[row] = id;
      this.index.set(id, row);
      for (let c = 0; c < metrics.length; c++) {
        const v = values.get(metrics[c]!);
        if (v !== undefined) columns[c]![row] = v;
      }
      row++;
    }
    this.finish(version, timestamp);
  }

  /**
   * Applies a stream `changes` event: only the switches and metrics that changed. A switch not
   * seen before is appended; a metric not seen before gets a column. Returns the rows touched.
   */
  applyChanges(rows: SwitchRows, version: number | undefined, timestamp: number): number {
    // Hot at 10,000 switches a second: one id lookup per switch, and a metric's column found by
    // position (every switch of an event lists its metrics in the same order, and JSON.parse gives
    // equal keys as the same string), so the per-value Map lookup happens only when the order breaks.
    let added: string[] | undefined;
    const names: string[] = [];
    const targets: Float64Array[] = [];
    for (const [id, values] of rows) {
      const row = this.index.get(id);
      if (row === undefined) {
        (added ??= []).push(id);
        continue;
      }
      let m = 0;
      for (const [metric, value] of values) {
        if (names[m] !== metric) {
          names[m] = metric;
          targets[m] = this.columns.get(metric) ?? this.addMetric(metric);
        }
        targets[m]![row] = value;
        m++;
      }
    }
    // Switches not seen before (rare: a fabric that grew) are appended, then written like the rest.
    if (added !== undefined) {
      this.grow(added, rows);
      for (const id of added) {
        const row = this.index.get(id)!;
        for (const [metric, value] of rows.get(id)!) this.columns.get(metric)![row] = value;
      }
    }
    this.finish(version, timestamp);
    return rows.size;
  }

  /** A metric's value at `row`, NaN when absent. */
  value(metric: string, row: number): number {
    return this.columns.get(metric)?.[row] ?? NaN;
  }

  /** True when the switch at `row` reports its link down. */
  isDown(row: number): boolean {
    return this.columns.get(LINK_STATUS)?.[row] === 0;
  }

  /** True when the switch at `row` has a latency spike (see SPIKE_FACTOR). */
  isSpike(row: number): boolean {
    const latency = this.columns.get(LATENCY)?.[row] ?? NaN;
    return latency >= this.spikeThresholdMs;
  }

  /** The summary panel's numbers, in one pass. */
  summary(): FabricSummary {
    const n = this.ids.length;
    const link = this.columns.get(LINK_STATUS);
    const bandwidth = this.columns.get(BANDWIDTH);
    const latency = this.columns.get(LATENCY);
    let linksDown = 0;
    let total = 0;
    let worstRow = -1;
    let worst = -Infinity;
    for (let row = 0; row < n; row++) {
      if (link !== undefined && link[row] === 0) linksDown++;
      if (bandwidth !== undefined) {
        const b = bandwidth[row]!;
        if (b === b) total += b;
      }
      if (latency !== undefined) {
        const l = latency[row]!;
        if (l > worst) {
          worst = l;
          worstRow = row;
        }
      }
    }
    return {
      switches: n,
      linksDown,
      totalBandwidthMbps: bandwidth === undefined ? undefined : total,
      worstLatency: worstRow === -1 ? undefined : { id: this.ids[worstRow]!, value: worst },
    };
  }

  private metricsOf(rows: SwitchRows): string[] {
    const first = rows.values().next();
    return first.done === true ? [] : [...first.value.keys()];
  }

  private addMetric(metric: string): Float64Array {
    const column = new Float64Array(this.ids.length).fill(NaN);
    this.metrics.push(metric);
    this.columns.set(metric, column);
    return column;
  }

  /** Appends rows for `added` ids; a metric only they have gets its column first. */
  private grow(added: readonly string[], rows: SwitchRows): void {
    for (const id of added) for (const metric of rows.get(id)!.keys()) if (!this.columns.has(metric)) this.addMetric(metric);
    const n = this.ids.length + added.length;
    for (const [metric, column] of this.columns) {
      const grown = new Float64Array(n).fill(NaN);
      grown.set(column);
      this.columns.set(metric, grown);
    }
    for (const id of added) {
      this.index.set(id, this.ids.length);
      this.ids.push(id);
    }
  }

  private finish(version: number | undefined, timestamp: number): void {
    this.version = version;
    this.timestamp = timestamp;
    this.spikeThresholdMs = spikeThreshold(this.columns.get(LATENCY), this.columns.get(LINK_STATUS));
    this.revision++;
  }
}

/** At most this many values are sampled for the median and the colour range (enough for 2 digits). */
const SAMPLE = 2048;

/** Evenly spaced finite values of a column (up links only when `link` is given), sorted. */
export function sortedSample(column: Float64Array, link?: Float64Array): Float64Array {
  const n = column.length;
  const step = Math.max(1, Math.floor(n / SAMPLE));
  const out: number[] = [];
  for (let row = 0; row < n; row += step) {
    const v = column[row]!;
    if (v === v && (link === undefined || link[row] !== 0)) out.push(v);
  }
  return Float64Array.from(out).sort();
}

/** SPIKE_FACTOR × the median latency of up links (Infinity when there is nothing to judge by). */
export function spikeThreshold(latency: Float64Array | undefined, link: Float64Array | undefined): number {
  if (latency === undefined) return Infinity;
  const sample = sortedSample(latency, link);
  const median = sample[Math.floor(sample.length / 2)];
  return median === undefined || median <= 0 ? Infinity : median * SPIKE_FACTOR;
}
