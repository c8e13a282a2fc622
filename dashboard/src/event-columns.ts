/**
 * Whole snapshots (ListMetrics bodies, stream `snapshot` events) and stream `changes` events
 * (SPEC.md "Streams") turned into typed-array columns. The parse worker (event-worker.ts) runs this
 * off the page's main thread, so the main thread only copies numbers into the model: no JSON.parse
 * of a 1 MB event, no object per switch, nothing that fills the young generation and makes the next
 * collection land in the middle of an update.
 *
 * The parser keeps its own copy of the model's row layout (id → row), so a `changes` event comes
 * back as row numbers, not ids: the main thread does no Map lookups and receives no strings except
 * ids it has never seen. That copy stays right because every layout change passes through here,
 * in order: a whole snapshot sets it, a `changes` event appends the ids it is first to name. Pure:
 * tested under Node.
 *
 * The text is untrusted: ids and metric names are only Map keys and array entries, values that are
 * not finite numbers become NaN, and anything not shaped like the SPEC's JSON gives no switches.
 */
import { field, num } from './api.js';

/** What a text is: a ListMetrics body, or a stream event's data. */
export type TextKind = 'list' | 'snapshot' | 'changes';

/** A text to parse, with what its envelope says. */
export interface ParseRequest {
  readonly kind: TextKind;
  readonly text: string;
  /**
   * The snapshot version known from outside the text: the stream event's id, or the ListMetrics
   * ETag's. A stream event's own `version` field wins over it.
   */
  readonly version: number | undefined;
  /** `performance.now()` on the page's main thread when the text arrived (a worker's clock differs). */
  readonly receivedAt: number;
}

/** A whole snapshot: every switch, in order, and one dense column per metric (NaN where absent). */
export interface WholeColumns {
  readonly kind: 'whole';
  readonly version: number | undefined;
  /** The snapshot's ingestion time, Unix seconds (0 when absent). */
  readonly timestamp: number;
  readonly ids: string[];
  readonly columns: { readonly metric: string; readonly values: Float64Array }[];
}

/** A `changes` event: new switches to append, then per metric the rows it changes and their values. */
export interface ChangeColumns {
  readonly kind: 'changes';
  readonly version: number | undefined;
  readonly timestamp: number;
  /** Ids never seen before, in the order they get rows (after every existing row). */
  readonly added: string[];
  readonly columns: { readonly metric: string; readonly rows: Int32Array; readonly values: Float64Array }[];
}

/** A parsed text, with when it arrived and how long its parse took. */
export interface ParseResult {
  /** Undefined when the text was not JSON (nothing changes, the layout included). */
  readonly parsed: WholeColumns | ChangeColumns | undefined;
  readonly receivedAt: number;
  readonly parseMs: number;
}

/** The per-switch field of a whole snapshot that is not a metric. */
const TIMESTAMP = 'timestamp';

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Own entries of a JSON object (never the prototype chain: `__proto__` is just a key), else none. */
function entriesOf(value: unknown): [string, unknown][] {
  return isObject(value) ? Object.entries(value) : [];
}

/** Parses texts into columns, keeping the row layout the model will have after applying them. */
export class ColumnParser {
  private readonly index = new Map<string, number>();
  private rows = 0;

  /** Takes the model's current layout (when parsing moves here from a worker that held it). */
  seed(ids: readonly string[]): void {
    this.index.clear();
    ids.forEach((id, row) => this.index.set(id, row));
    this.rows = ids.length;
  }

  /** Parses one text; results must be applied to the model in the order of these calls. */
  parse(request: ParseRequest): ParseResult {
    const started = performance.now();
    const parsed = this.parseText(request);
    return { parsed, receivedAt: request.receivedAt, parseMs: performance.now() - started };
  }

  private parseText({ kind, text, version }: ParseRequest): WholeColumns | ChangeColumns | undefined {
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      return undefined;
    }
    // A ListMetrics body has no envelope: its snapshot time is each switch's `timestamp` (the first's).
    if (kind === 'list') return this.whole(data, version, undefined);
    const eventVersion = num(field(data, 'version')) ?? version;
    const timestamp = num(field(data, 'timestamp')) ?? 0;
    const switches = field(data, 'switches');
    return kind === 'snapshot' ? this.whole(switches, eventVersion, timestamp) : this.changes(switches, eventVersion, timestamp);
  }

  /** `timestamp` undefined: take the first switch's `timestamp` field (ListMetrics). */
  private whole(switches: unknown, version: number | undefined, timestamp: number | undefined): WholeColumns {
    const rows = entriesOf(switches);
    let snapshotTime = timestamp;
    const n = rows.length;
    this.index.clear();
    const ids = new Array<string>(n);
    const byMetric = new Map<string, Float64Array>();
    for (let row = 0; row < n; row++) {
      const [id, fields] = rows[row]!;
      ids[row] = id;
      this.index.set(id, row);
      for (const [metric, value] of entriesOf(fields)) {
        if (metric === TIMESTAMP) {
          if (row === 0) snapshotTime ??= num(value);
          continue;
        }
        let column = byMetric.get(metric);
        if (column === undefined) byMetric.set(metric, (column = new Float64Array(n).fill(NaN)));
        column[row] = num(value) ?? NaN;
      }
    }
    this.rows = n;
    return { kind: 'whole', version, timestamp: snapshotTime ?? 0, ids, columns: [...byMetric].map(([metric, values]) => ({ metric, values })) };
  }

  private changes(switches: unknown, version: number | undefined, timestamp: number): ChangeColumns {
    const added: string[] = [];
    const byMetric = new Map<string, { rows: number[]; values: number[] }>();
    for (const [id, fields] of entriesOf(switches)) {
      let row = this.index.get(id);
      if (row === undefined) {
        row = this.rows++;
        this.index.set(id, row);
        added.push(id);
      }
      for (const [metric, value] of entriesOf(fields)) {
        if (metric === TIMESTAMP) continue;
        let column = byMetric.get(metric);
        if (column === undefined) byMetric.set(metric, (column = { rows: [], values: [] }));
        column.rows.push(row);
        column.values.push(num(value) ?? NaN);
      }
    }
    const columns = [...byMetric].map(([metric, c]) => ({ metric, rows: Int32Array.from(c.rows), values: Float64Array.from(c.values) }));
    return { kind: 'changes', version, timestamp, added, columns };
  }
}

/** The buffers of a parse's columns, for `postMessage`'s transfer list (moved, not copied). */
export function transferablesOf(result: ParseResult): ArrayBuffer[] {
  const buffers: ArrayBuffer[] = [];
  const add = (array: Int32Array | Float64Array): void => {
    if (array.buffer instanceof ArrayBuffer) buffers.push(array.buffer);
  };
  if (result.parsed?.kind === 'whole') for (const c of result.parsed.columns) add(c.values);
  else if (result.parsed?.kind === 'changes')
    for (const c of result.parsed.columns) {
      add(c.rows);
      add(c.values);
    }
  return buffers;
}
