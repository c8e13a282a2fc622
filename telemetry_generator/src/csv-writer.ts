/**
 * Renders one tick's values as the `/counters` CSV. Pure: no clock, no I/O. The number formats and
 * the header come from the shared schema, so the metrics server's parser and this writer cannot
 * disagree about them; the server's tests import this function to check that they round-trip.
 *
 * Speed matters here: 100,000 switches are 600,000 numbers per tick. Building the text with string
 * concatenation and `String(number)` took ~360 ms at that size (measured under tsx); this writer
 * puts ASCII digits straight into a reused byte buffer instead (~55 ms under tsx, ~27 ms
 * compiled). Every value still follows the schema's rules (`roundToFormat`, then `formatValue`'s
 * shortest form): the digit writer is used only where it provably gives the same bytes (fewer than
 * 15 significant digits, which a double represents exactly, and no exponent notation), and
 * anything else falls back to the schema's functions themselves. A property test compares the two
 * on arbitrary doubles.
 */
import { METRICS, csvHeader, formatValue, roundToFormat, switchIdFor, type MetricFormat, type MetricName } from '../../common/telemetry-schema.js';

/** Anything that holds one numeric column per metric, indexed by switch (0 is `sw1`). */
export interface CsvSource {
  readonly switchCount: number;
  readonly columns: Readonly<Partial<Record<MetricName, ArrayLike<number>>>>;
}

/**
 * `switch_id,<metrics…>\n` then one line per switch, `sw1` … `swN`, columns in `metrics` order, each
 * value rounded to and written in its schema format (`6.8`, not `6.80`). Lines end in `\n`, the last
 * one included. The result is ASCII and owns its memory. With `rows` (switch indexes, ascending),
 * only those switches' lines follow the header: a stream's delta event is the same writer's output.
 *
 * @throws RangeError if a requested column is missing or shorter than `switchCount`.
 */
export function renderCsv(source: CsvSource, metrics: readonly MetricName[], rows?: ArrayLike<number>): Buffer {
  return writeCsv(source, metrics, rows, undefined);
}

/** `renderCsv`, and with `lineStarts` where each line after the header starts (`lineStarts[count]` is the end). */
function writeCsv(source: CsvSource, metrics: readonly MetricName[], rows: ArrayLike<number> | undefined, lineStarts: Int32Array | undefined): Buffer {
  const n = source.switchCount;
  const columns: ArrayLike<number>[] = [];
  const formats: MetricFormat[] = [];
  for (const metric of metrics) {
    const column = source.columns[metric];
    if (column === undefined || column.length < n) {
      throw new RangeError(`column ${metric} has ${column?.length ?? 0} values, ${n} needed`);
    }
    columns.push(column);
    formats.push(METRICS[metric].format);
  }
  const width = columns.length;
  const decimals = formats.map((f) => (f.kind === 'integer' ? 0 : f.decimals));

  const writer = new AsciiWriter();
  writer.text(csvHeader(metrics));
  writer.byte(NEWLINE);
  const count = rows === undefined ? n : rows.length;
  for (let r = 0; r < count; r++) {
    const i = rows === undefined ? r : rows[r]!;
    if (lineStarts !== undefined) lineStarts[r] = writer.position;
    writer.reserve(ROW_BASE_BYTES + width * VALUE_MAX_BYTES);
    writer.text(switchIdFor(i));
    for (let c = 0; c < width; c++) {
      writer.byte(COMMA);
      writer.value(columns[c]![i]!, formats[c]!, decimals[c]!);
    }
    writer.byte(NEWLINE);
  }
  if (lineStarts !== undefined) lineStarts[count] = writer.position;
  return writer.finish();
}

/** A tick's whole CSV and its delta (the changed switches' lines after the header). */
export interface CsvWithDelta {
  readonly body: Buffer;
  readonly delta: Buffer;
}

/**
 * `renderCsv(source, metrics)` and `renderCsv(source, metrics, rows)` in one render: the delta's
 * lines are the body's own bytes, copied in runs of consecutive rows, not written a second time.
 * At the simulator's default churn nearly every switch changes each tick, and rendering 100,000
 * lines twice was a third of the generator's tick (npm run bench:generator).
 */
export function renderCsvWithDelta(source: CsvSource, metrics: readonly MetricName[], rows: ArrayLike<number>): CsvWithDelta {
  const n = source.switchCount;
  const lineStarts = new Int32Array(n + 1);
  const body = writeCsv(source, metrics, undefined, lineStarts);
  let bytes = lineStarts[0]!;
  for (let r = 0; r < rows.length; r++) bytes += lineStarts[rows[r]! + 1]! - lineStarts[rows[r]!]!;
  const delta = Buffer.allocUnsafe(bytes);
  let pos = body.copy(delta, 0, 0, lineStarts[0]!);
  for (let r = 0; r < rows.length; ) {
    const first = rows[r]!;
    let last = first;
    while (r + 1 < rows.length && rows[r + 1] === last + 1) last = rows[++r]!;
    r++;
    pos += body.copy(delta, pos, lineStarts[first]!, lineStarts[last + 1]!);
  }
  return { body, delta };
}

/** The same bytes as `renderCsv`, as a string. */
export function renderCsvText(source: CsvSource, metrics: readonly MetricName[]): string {
  return renderCsv(source, metrics).toString('latin1');
}

const COMMA = 0x2c;
const NEWLINE = 0x0a;
const DOT = 0x2e;
const MINUS = 0x2d;
const ZERO = 0x30;
/** Room for a switch id and a newline; ids are at most 64 characters. */
const ROW_BASE_BYTES = 80;
/** The longest a value can be written: a fallback double such as `-1.2345678901234567e+308`. */
const VALUE_MAX_BYTES = 32;
/** Below this, a scaled value has at most 15 digits: exact in a double, written without exponent. */
const FAST_LIMIT = 1e15;
const POWERS_OF_TEN = [1, 10, 100, 1000, 10_000, 100_000, 1_000_000];

/** A growable byte buffer, reused across renders so a tick does not allocate megabytes twice. */
class AsciiWriter {
  private static scratch = Buffer.allocUnsafe(1 << 16);
  private buf = AsciiWriter.scratch;
  private pos = 0;

  /** Bytes written so far. */
  get position(): number {
    return this.pos;
  }

  reserve(bytes: number): void {
    if (this.pos + bytes <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + bytes));
    this.buf.copy(bigger, 0, 0, this.pos);
    this.buf = bigger;
    AsciiWriter.scratch = bigger;
  }

  byte(b: number): void {
    this.reserve(1);
    this.buf[this.pos++] = b;
  }

  /** ASCII text only (switch ids and metric names are checked against ASCII-only patterns). */
  text(s: string): void {
    this.reserve(s.length);
    for (let k = 0; k < s.length; k++) this.buf[this.pos++] = s.charCodeAt(k);
  }

  value(v: number, format: MetricFormat, decimals: number): void {
    const factor = POWERS_OF_TEN[decimals];
    // Same arithmetic as roundToFormat: round the magnitude, half away from zero for decimals.
    const scaled = factor === undefined ? NaN : decimals === 0 ? Math.round(v) : Math.round(Math.abs(v) * factor);
    if (!(Math.abs(scaled) < FAST_LIMIT)) {
      // NaN, infinities, huge values, many decimals: let the schema write it.
      this.text(formatValue(roundToFormat(v, format)));
      return;
    }
    if (scaled === 0) {
      this.buf[this.pos++] = ZERO; // formatValue writes -0 as 0
      return;
    }
    if (v < 0) this.buf[this.pos++] = MINUS;
    if (decimals === 0) {
      this.digits(Math.abs(scaled));
      return;
    }
    const whole = Math.floor(scaled / factor!);
    let fraction = scaled - whole * factor!;
    this.digits(whole);
    if (fraction === 0) return;
    // Trailing zeros are dropped, as String() does: 6.80 -> 6.8.
    let places = decimals;
    while (fraction % 10 === 0) {
      fraction /= 10;
      places--;
    }
    this.buf[this.pos++] = DOT;
    const end = this.pos + places;
    for (let p = end - 1; p >= this.pos; p--) {
      this.buf[p] = ZERO + (fraction % 10);
      fraction = Math.floor(fraction / 10);
    }
    this.pos = end;
  }

  /** A non-negative integer below 1e15, in decimal. */
  private digits(x: number): void {
    let len = 1;
    for (let t = x; t >= 10; t = Math.floor(t / 10)) len++;
    const end = this.pos + len;
    for (let p = end - 1; p >= this.pos; p--) {
      this.buf[p] = ZERO + (x % 10);
      x = Math.floor(x / 10);
    }
    this.pos = end;
  }

  /** A copy of exactly the bytes written, so the scratch buffer can be reused. */
  finish(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }
}
