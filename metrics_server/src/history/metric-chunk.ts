/**
 * One metric's samples within one history chunk: for every switch row, a bit stream of the series
 * codec (series-codec.ts) and its summary (min, max and sum of the chunk's samples; the count is the
 * chunk's). Values are stored as integers scaled by 10^decimals; a column whose values do not all
 * fit that (exponents, more than 15 significant digits) is kept as raw doubles instead.
 *
 * While its chunk is open, series sit in fixed-size slots of one arena (sized from the previous
 * chunk's 99th percentile); a series that outgrows its slot moves to a buffer of its own. Closing
 * the chunk packs every series tightly into one arena with an offset table. Readers decode only the
 * samples the chunk has committed, so bits an append in progress has written past them are ignored.
 */
import { selectKth } from './aggregate-fns.js';
import type { SlicedJob } from './slices.js';
import { MAX_SAMPLE_BITS, MAX_SCALED, READ_PADDING_BYTES, RICE_INITIAL_A, decodeDeltas, decodeSeries, decoded, nextA, riceK, riceN, writeDelta, writeFirst, zigzag } from './series-codec.js';

/** Slot bytes per sample of a chunk with no predecessor to learn from (16 bits a sample). */
const FIRST_SLOT_BYTES_PER_SAMPLE = 2;
/** Room kept in every slot beyond the estimate: one worst-case sample. */
const SLOT_HEADROOM_BYTES = Math.ceil(MAX_SAMPLE_BITS / 8) + 2;

/**
 * Largest samples kept per series of a closed chunk once a high percentile has needed them (its
 * "tail"): p99 of a window up to about 3,000 samples (4 hours at 5 s) then never decodes the chunks
 * the window covers whole, and p95 of an hour rarely does (percentiles.ts).
 */
export const TAIL_VALUES = 32;
/**
 * Samples per block of a closed chunk's block summaries (suffixSummary): a window that cuts a chunk
 * decodes only the block the cut falls in, from that block's restart point (the decoder's state at
 * its first sample), and reads the blocks after it from their summaries.
 */
export const BLOCK_SAMPLES = 30;

/**
 * A closed chunk's value histogram may take this many bytes even when that is more than
 * HISTOGRAM_SHARE of its encoded samples (a small chunk's).
 */
const HISTOGRAM_MIN_BYTES = 64 * 1024;
/** Otherwise at most this share of the chunk's encoded bytes (a cache must not outweigh what it caches). */
const HISTOGRAM_SHARE = 1 / 4;
/** Series decoded between two yields while a histogram is made. */
const HISTOGRAM_ROWS_PER_YIELD = 16;

/** Every sample of a closed chunk's metric counted by value: `counts[v − lo]` samples of stored value v. */
export interface ValueHistogram {
  readonly lo: number;
  readonly counts: Uint32Array;
}

/** Which closed chunks keep a value histogram: by size (the default), all that fit a counting range (tests), or none. */
export type HistogramPolicy = 'auto' | 'always' | 'never';

/** Series sizes above this many bytes count as this many in the slot estimate. */
const P99_BUCKETS = 4096;

/** True when every value is an exact integer of magnitude at most MAX_SCALED once multiplied by `scale`. */
export function fitsScale(values: Float64Array, scale: number): boolean {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    const m = Math.round(v * scale);
    if (m / scale !== v || m > MAX_SCALED || m < -MAX_SCALED) return false;
  }
  return true;
}

/** The slot size for a series of a chunk of `capacity` samples, from the bytes its predecessor used. */
export function slotBytesFor(capacity: number, previous?: { readonly p99Bytes: number; readonly samples: number }): number {
  if (previous === undefined || previous.samples === 0) return capacity * FIRST_SLOT_BYTES_PER_SAMPLE + SLOT_HEADROOM_BYTES;
  return Math.ceil((previous.p99Bytes * capacity * 1.1) / previous.samples) + SLOT_HEADROOM_BYTES;
}

/** A metric's stored form, as a checkpoint carries it (always packed). */
export type PackedMetric =
  | { readonly kind: 'encoded'; readonly min: Float64Array; readonly max: Float64Array; readonly sum: Float64Array; readonly offsets: Uint32Array; readonly data: Uint8Array }
  | { readonly kind: 'raw'; readonly min: Float64Array; readonly max: Float64Array; readonly sum: Float64Array; readonly raw: Float64Array };

/** min, max and sum of each series of a chunk (stored units). */
export interface Summaries {
  readonly min: Float64Array;
  readonly max: Float64Array;
  readonly sum: Float64Array;
}

/** One metric of one chunk. */
export class MetricChunk {
  /** Decimal places of the scaled integers, or -1 for raw doubles. */
  readonly decimals: number;
  /** 10^decimals (1 for raw doubles): a stored unit is value × scale. */
  readonly scale: number;
  readonly min: Float64Array;
  readonly max: Float64Array;
  readonly sum: Float64Array;
  /**
   * How many samples min, max and sum cover exactly: the committed count, or -1 while an append is
   * writing them (they then count a sample readers do not see yet). Lets a query use the open chunk's
   * summaries when it reads the whole chunk as committed, checked in the same step as the read.
   */
  summaryCount = 0;
  private readonly raw: Float64Array | undefined;
  private arena: Uint8Array;
  private slotBytes: number;
  private offsets: Uint32Array | undefined;
  private overflow: Map<number, Uint8Array> | undefined;
  private bitPos: Uint32Array | undefined;
  private prev: Float64Array | undefined;
  private riceA: Float64Array | undefined;
  /** Bit position of the series `locate` found (set by `locate`). */
  private at = 0;
  /**
   * The tails: for series s, TAIL_VALUES slots from s × TAIL_VALUES holding max[s] − value (an exact
   * integer in stored units; 16 bits while every kept offset fits, else 32, else a double).
   * Made on first need (a percentile query), never written for a series again.
   */
  private tails: Uint16Array | Uint32Array | Float64Array | undefined;
  /** 1 for a series whose tail is kept. */
  private tailKept: Uint8Array | undefined;
  /** The smallest value the last `tailInto` wrote (stored units). */
  tailMin = NaN;
  /** Set when the tails were given up for memory (`dropTails`): none are made again. */
  private tailsOff = false;
  /**
   * Block summaries of a closed chunk: for series s, min, max and sum of each block of BLOCK_SAMPLES
   * samples at s × blocks + b. Made per series on first need (a window that cuts the chunk: the
   * oldest edge of a sliding hour), so only a chunk at a window's edge ever holds them.
   */
  private blockMin: Float64Array | undefined;
  private blockMax: Float64Array | undefined;
  private blockSum: Float64Array | undefined;
  private blockKept: Uint8Array | undefined;
  /**
   * Restart points, beside the block summaries: for series s and block b ≥ 1, at s × (blocks − 1) +
   * b − 1, the decoder's state before the block's first sample (bit position, previous value, Rice
   * sum), so the block decodes alone (block 0 starts at the series' start). Positions count from the
   * series' first bit: packing a closed chunk moves whole series, byte-aligned, so they stay true.
   */
  private restartPos: Uint32Array | undefined;
  private restartValue: Float64Array | undefined;
  private restartA: Float64Array | undefined;
  /**
   * The value histogram of a closed chunk (fabric percentiles add it instead of decoding the chunk):
   * made on first need, a cache like the tails (freed with them under the memory limit).
   */
  private histogram: ValueHistogram | undefined;
  /** Blocks per series of the block summaries and restart points (set when they are made). */
  private blocks = 0;

  constructor(
    readonly name: string,
    decimals: number,
    private readonly rows: number,
    private readonly capacity: number,
    slotBytes: number,
    restored?: PackedMetric,
  ) {
    this.decimals = decimals;
    this.scale = decimals < 0 ? 1 : 10 ** decimals;
    if (restored !== undefined) {
      // From a checkpoint: packed, closed, summaries as saved (of every sample: the count is the capacity).
      this.summaryCount = capacity;
      this.min = restored.min;
      this.max = restored.max;
      this.sum = restored.sum;
      this.slotBytes = 0;
      if (restored.kind === 'raw') {
        this.raw = restored.raw;
        this.arena = new Uint8Array(0);
      } else {
        this.arena = new Uint8Array(restored.data.length + READ_PADDING_BYTES);
        this.arena.set(restored.data);
        this.offsets = restored.offsets;
      }
      return;
    }
    this.min = new Float64Array(rows);
    this.max = new Float64Array(rows);
    this.sum = new Float64Array(rows);
    if (decimals < 0) {
      this.raw = new Float64Array(rows * capacity);
      this.arena = new Uint8Array(0);
      this.slotBytes = 0;
    } else {
      this.arena = new Uint8Array(rows * slotBytes + READ_PADDING_BYTES);
      this.slotBytes = slotBytes;
      this.bitPos = new Uint32Array(rows);
      this.prev = new Float64Array(rows);
      this.riceA = new Float64Array(rows);
    }
  }

  /** True for a chunk of raw doubles (no exact sums). */
  get isRaw(): boolean {
    return this.raw !== undefined;
  }

  /**
   * Appends sample `index` of rows [from, to) from `values` (the snapshot's column; every value
   * passed `fitsScale` for this chunk's scale unless raw).
   */
  appendRange(values: Float64Array, index: number, from: number, to: number): void {
    this.summaryCount = -1;
    const { min, max, sum } = this;
    if (this.raw !== undefined) {
      const raw = this.raw;
      for (let s = from; s < to; s++) {
        const v = values[s]!;
        raw[s * this.capacity + index] = v;
        if (index === 0) {
          min[s] = v;
          max[s] = v;
          sum[s] = v;
        } else {
          if (v < min[s]!) min[s] = v;
          if (v > max[s]!) max[s] = v;
          sum[s] = sum[s]! + v;
        }
      }
      return;
    }
    const scale = this.scale;
    const bitPos = this.bitPos!;
    const prev = this.prev!;
    const riceA = this.riceA!;
    const n = riceN(index);
    const slotBits = this.slotBytes * 8;
    for (let s = from; s < to; s++) {
      const m = Math.round(values[s]! * scale);
      let buf = this.arena;
      let base = s * slotBits;
      let room = slotBits;
      const moved = this.overflow?.get(s);
      if (moved !== undefined) {
        buf = moved;
        base = 0;
        room = moved.length * 8;
      }
      const used = bitPos[s]!;
      // Room for the worst sample and the decoder's read-ahead past it.
      if (used + MAX_SAMPLE_BITS + READ_PADDING_BYTES * 8 > room) {
        buf = this.relocate(s, buf, base, used);
        base = 0;
      }
      let end: number;
      if (index === 0) {
        end = writeFirst(buf, base, m);
        min[s] = m;
        max[s] = m;
        sum[s] = m;
        riceA[s] = RICE_INITIAL_A;
      } else {
        const zz = zigzag(m - prev[s]!);
        const a = riceA[s]!;
        end = writeDelta(buf, base + used, zz, riceK(a, n));
        riceA[s] = nextA(a, zz, index);
        if (m < min[s]!) min[s] = m;
        if (m > max[s]!) max[s] = m;
        sum[s] = sum[s]! + m;
      }
      bitPos[s] = end - base;
      prev[s] = m;
    }
  }

  /** Moves series `s` to a buffer of its own, twice what it needs; returns the buffer. */
  private relocate(s: number, buf: Uint8Array, base: number, usedBits: number): Uint8Array {
    const usedBytes = Math.ceil(usedBits / 8);
    const next = new Uint8Array(Math.max(this.slotBytes, usedBytes) * 2 + SLOT_HEADROOM_BYTES);
    next.set(buf.subarray(base / 8, base / 8 + usedBytes));
    (this.overflow ??= new Map()).set(s, next);
    return next;
  }

  /** The buffer of series `s`; its first bit is then in `this.at`. */
  private locate(s: number): Uint8Array {
    if (this.offsets !== undefined) {
      this.at = this.offsets[s]! * 8;
      return this.arena;
    }
    const moved = this.overflow?.get(s);
    if (moved !== undefined) {
      this.at = 0;
      return moved;
    }
    this.at = s * this.slotBytes * 8;
    return this.arena;
  }

  /** Bytes series `s` takes. */
  usedBytes(s: number): number {
    if (this.offsets !== undefined) return this.offsets[s + 1]! - this.offsets[s]!;
    return this.bitPos === undefined ? 0 : Math.ceil(this.bitPos[s]! / 8);
  }

  /** Decodes the first `count` samples of series `s` into `out` from `outAt`, in stored units (value × scale). */
  decode(s: number, count: number, out: Float64Array, outAt: number): void {
    if (this.raw !== undefined) {
      const start = s * this.capacity;
      out.set(this.raw.subarray(start, start + count), outAt);
      return;
    }
    const buf = this.locate(s);
    decodeSeries(buf, this.at, count, out, outAt);
  }

  /**
   * Writes the tail of series `s` (its min(TAIL_VALUES, count) largest samples, stored units, in no
   * order) into `out` from `outAt` and sets `tailMin`; returns how many, or -1 when it is not kept.
   * For a closed chunk whose summaries are trusted, with `count` its sample count.
   */
  tailInto(s: number, count: number, out: Float64Array, outAt: number): number {
    const tails = this.tails;
    if (tails === undefined || this.tailKept![s] === 0) return -1;
    const kept = Math.min(TAIL_VALUES, count);
    const top = this.max[s]!;
    const base = s * TAIL_VALUES;
    let deepest = 0;
    for (let i = 0; i < kept; i++) {
      const offset = tails[base + i]!;
      out[outAt + i] = top - offset;
      if (offset > deepest) deepest = offset;
    }
    this.tailMin = top - deepest;
    return kept;
  }

  /**
   * Keeps the tail of series `s` from all its `count` samples, decoded in `values[0, count)` (stored
   * units), which it rearranges: afterwards `values[count − kept, count)` is the tail. Same conditions
   * as `tailInto` (the summaries are final: max[s] is the series' largest sample).
   */
  keepTail(s: number, values: Float64Array, count: number): void {
    if (this.tailsOff) return;
    const kept = Math.min(TAIL_VALUES, count);
    if (kept < count) selectKth(values, count, count - kept);
    const top = this.max[s]!;
    let deepest = 0;
    for (let i = count - kept; i < count; i++) deepest = Math.max(deepest, top - values[i]!);
    // 16 bits an offset while they fit; the first series whose tail is deeper widens them all (once).
    const width = deepest <= 0xffff ? 1 : deepest <= 0xffffffff ? 2 : 3;
    const held = this.tails === undefined ? 0 : this.tails instanceof Uint16Array ? 1 : this.tails instanceof Uint32Array ? 2 : 3;
    if (width > held) {
      const size = this.rows * TAIL_VALUES;
      const wider = width === 1 ? new Uint16Array(size) : width === 2 ? new Uint32Array(size) : new Float64Array(size);
      const kept = (this.tailKept ??= new Uint8Array(this.rows));
      const narrow = this.tails;
      // Only the tails kept so far move (widening comes early, with few kept): no pass over every slot.
      if (narrow !== undefined) for (let r = 0; r < this.rows; r++) if (kept[r] === 1) for (let i = r * TAIL_VALUES; i < (r + 1) * TAIL_VALUES; i++) wider[i] = narrow[i]!;
      this.tails = wider;
    }
    const base = s * TAIL_VALUES;
    for (let i = 0; i < kept; i++) this.tails![base + i] = top - values[count - kept + i]!;
    this.tailKept![s] = 1;
  }

  /**
   * Frees the tails and makes no more (the memory limit wants the bytes back: tails are a cache, and
   * giving them up costs only speed, never samples). Percentiles then decode this chunk.
   */
  dropTails(): void {
    this.tails = undefined;
    this.tailKept = undefined;
    this.tailsOff = true;
    // Block summaries are a cache too: freed, and made again only when asked (they are small).
    this.blockMin = this.blockMax = this.blockSum = undefined;
    this.blockKept = undefined;
    this.restartPos = undefined;
    this.restartValue = this.restartA = undefined;
    this.histogram = undefined;
  }

  /** The value histogram, when one was made. */
  get valueHistogram(): ValueHistogram | undefined {
    return this.histogram;
  }

  /**
   * The stored-value range [lo, hi] a histogram of this packed chunk would count, when `policy` allows
   * one of at most `maxRange` values: by default when its counts take at most HISTOGRAM_SHARE of the
   * encoded bytes (or HISTOGRAM_MIN_BYTES), so a metric whose values span few units (latency, errors,
   * link status) gets one and one whose values spread over more units than it has samples does not.
   */
  histogramRange(policy: HistogramPolicy, maxRange: number): { readonly lo: number; readonly hi: number } | undefined {
    if (policy === 'never' || this.raw !== undefined || this.offsets === undefined || this.tailsOff) return undefined;
    let lo = Infinity;
    let hi = -Infinity;
    for (let r = 0; r < this.rows; r++) {
      if (this.min[r]! < lo) lo = this.min[r]!;
      if (this.max[r]! > hi) hi = this.max[r]!;
    }
    const range = hi - lo + 1;
    if (!(range >= 1) || range > maxRange) return undefined;
    if (policy === 'auto' && range * 4 > Math.max(HISTOGRAM_MIN_BYTES, this.arena.byteLength * HISTOGRAM_SHARE)) return undefined;
    return { lo, hi };
  }

  /**
   * Makes and keeps the value histogram of this closed chunk's `count` samples over `range`
   * (histogramRange's), decoding every series once, yielding between groups of them. Two queries that
   * both make it give equal ones; a chunk whose caches were dropped meanwhile keeps none.
   */
  *makeHistogram(count: number, range: { readonly lo: number; readonly hi: number }, scratch: Float64Array): SlicedJob<ValueHistogram> {
    const counts = new Uint32Array(range.hi - range.lo + 1);
    const lo = range.lo;
    for (let r = 0; r < this.rows; r++) {
      this.decode(r, count, scratch, 0);
      for (let i = 0; i < count; i++) counts[scratch[i]! - lo]! += 1;
      if (r % HISTOGRAM_ROWS_PER_YIELD === HISTOGRAM_ROWS_PER_YIELD - 1) yield;
    }
    const made = { lo, counts };
    if (!this.tailsOff) this.histogram = made;
    return made;
  }

  /**
   * Adds to `into` (min, max, sum in stored units) the samples [from, count) of series `s` of this
   * closed chunk of `count` samples (trusted summaries): whole blocks from their summaries, the
   * samples of the block the cut falls in decoded from its restart point (`scratch` holds at least
   * `count` values). The first call for a series decodes it all once, to make its block summaries and
   * restart points.
   */
  suffixSummary(s: number, from: number, count: number, scratch: Float64Array, into: { min: number; max: number; sum: number }): void {
    const blocks = Math.ceil(count / BLOCK_SAMPLES);
    if (this.blockKept === undefined) {
      this.blocks = blocks;
      this.blockMin = new Float64Array(this.rows * blocks);
      this.blockMax = new Float64Array(this.rows * blocks);
      this.blockSum = new Float64Array(this.rows * blocks);
      this.blockKept = new Uint8Array(this.rows);
      if (this.raw === undefined) {
        const points = this.rows * (blocks - 1);
        this.restartPos = new Uint32Array(points);
        this.restartValue = new Float64Array(points);
        this.restartA = new Float64Array(points);
      }
    }
    const bmin = this.blockMin!;
    const bmax = this.blockMax!;
    const bsum = this.blockSum!;
    const base = s * blocks;
    const firstWhole = Math.ceil(from / BLOCK_SAMPLES);
    const cutEnd = Math.min(count, firstWhole * BLOCK_SAMPLES);
    if (this.blockKept[s] === 0) {
      this.decodeKeepingRestarts(s, count, blocks, scratch);
      for (let b = 0; b < blocks; b++) {
        let lo = Infinity;
        let hi = -Infinity;
        let sum = 0;
        for (let i = b * BLOCK_SAMPLES, end = Math.min(count, i + BLOCK_SAMPLES); i < end; i++) {
          const v = scratch[i]!;
          if (v < lo) lo = v;
          if (v > hi) hi = v;
          sum += v;
        }
        bmin[base + b] = lo;
        bmax[base + b] = hi;
        bsum[base + b] = sum;
      }
      this.blockKept[s] = 1;
    } else if (from < cutEnd) {
      this.decodeRange(s, from, cutEnd, scratch);
    }
    for (let i = from; i < cutEnd; i++) {
      const v = scratch[i]!;
      if (v < into.min) into.min = v;
      if (v > into.max) into.max = v;
      into.sum += v;
    }
    for (let b = firstWhole; b < blocks; b++) {
      if (bmin[base + b]! < into.min) into.min = bmin[base + b]!;
      if (bmax[base + b]! > into.max) into.max = bmax[base + b]!;
      into.sum += bsum[base + b]!;
    }
  }

  /**
   * Decodes samples [from, to) of series `s` into `out` at their own indexes (`out[i]` is sample i),
   * from the restart point of the block `from` falls in when the series has them (a chunk at a
   * window's oldest edge), else from the series' start (samples before `from` are then written too;
   * raw doubles are copied from there).
   */
  decodeRange(s: number, from: number, to: number, out: Float64Array): void {
    const b = Math.floor(from / BLOCK_SAMPLES);
    if (b === 0 || this.raw !== undefined || this.blockKept === undefined || this.blockKept[s] === 0) {
      this.decode(s, to, out, 0);
      return;
    }
    const buf = this.locate(s);
    const point = s * (this.blocks - 1) + b - 1;
    decoded.pos = this.at + this.restartPos![point]!;
    decoded.value = this.restartValue![point]!;
    decoded.a = this.restartA![point]!;
    decodeDeltas(buf, decoded, b * BLOCK_SAMPLES, to, out, b * BLOCK_SAMPLES);
  }

  /** Decodes all `count` samples of series `s` into `scratch[0, count)`, keeping its restart point at every block boundary. */
  private decodeKeepingRestarts(s: number, count: number, blocks: number, scratch: Float64Array): void {
    if (this.raw !== undefined) {
      this.decode(s, count, scratch, 0);
      return;
    }
    const buf = this.locate(s);
    decodeSeries(buf, this.at, Math.min(count, BLOCK_SAMPLES), scratch, 0);
    const at = s * (blocks - 1) - 1;
    for (let b = 1; b < blocks; b++) {
      this.restartPos![at + b] = decoded.pos - this.at;
      this.restartValue![at + b] = decoded.value;
      this.restartA![at + b] = decoded.a;
      const first = b * BLOCK_SAMPLES;
      decodeDeltas(buf, decoded, first, Math.min(count, first + BLOCK_SAMPLES), scratch, first);
    }
  }

  /** The 99th percentile of the bytes a series takes (the next chunk's slot estimate), found when packing. */
  p99Bytes = 0;

  /** The 99th percentile of `usedBytes` over the series (a counting pass: no sort, no map). */
  private usedBytesP99(): number {
    const counts = new Uint32Array(P99_BUCKETS);
    for (let s = 0; s < this.rows; s++) counts[Math.min(P99_BUCKETS - 1, this.usedBytes(s))]! += 1;
    let seen = 0;
    for (let size = 0; size < P99_BUCKETS; size++) {
      seen += counts[size]!;
      if (seen >= this.rows * 0.99) return size;
    }
    return P99_BUCKETS - 1;
  }

  /**
   * Packs every series tightly (the chunk is full or closed): yields every `batch` series so the
   * caller can cut the work into slices; the packed arena replaces the slots in one assignment.
   */
  *pack(batch = 4096): Generator<void, void, void> {
    if (this.raw !== undefined || this.offsets !== undefined) return;
    this.p99Bytes = this.usedBytesP99();
    const offsets = new Uint32Array(this.rows + 1);
    let total = 0;
    for (let s = 0; s < this.rows; s++) {
      offsets[s] = total;
      total += this.usedBytes(s);
    }
    offsets[this.rows] = total;
    const packed = new Uint8Array(total + READ_PADDING_BYTES);
    for (let s = 0; s < this.rows; s++) {
      const buf = this.locate(s);
      const start = this.at / 8;
      packed.set(buf.subarray(start, start + offsets[s + 1]! - offsets[s]!), offsets[s]!);
      if (s % batch === batch - 1) yield;
    }
    this.arena = packed;
    this.offsets = offsets;
    this.overflow = undefined;
    this.bitPos = undefined;
    this.prev = undefined;
    this.riceA = undefined;
    this.slotBytes = 0;
  }

  /**
   * The summaries as they are now: the arrays themselves once packed (never written again), else
   * copies. A checkpoint takes them for every chunk at once, between two appends.
   */
  summaries(): Summaries {
    if (this.offsets !== undefined) return { min: this.min, max: this.max, sum: this.sum };
    return { min: this.min.slice(), max: this.max.slice(), sum: this.sum.slice() };
  }

  /**
   * The packed form of the first `count` samples with `summaries` taken at the same moment, for a
   * checkpoint: the arrays themselves when the chunk is packed, else a copy made in slices. Bits an
   * append adds past `count` meanwhile may be copied too; a decoder never reads them.
   */
  *packedCopy(count: number, summaries: Summaries, batch = 4096): Generator<void, PackedMetric, void> {
    const { min, max, sum } = summaries;
    if (this.raw !== undefined) {
      // Series-major with a stride of `count`: the restored chunk's capacity is its count.
      const raw = new Float64Array(this.rows * count);
      for (let s = 0; s < this.rows; s++) raw.set(this.raw.subarray(s * this.capacity, s * this.capacity + count), s * count);
      return { kind: 'raw', min, max, sum, raw };
    }
    if (this.offsets !== undefined) return { kind: 'encoded', min, max, sum, offsets: this.offsets, data: this.arena.subarray(0, this.offsets[this.rows]!) };
    const sizes = new Uint32Array(this.rows);
    for (let s = 0; s < this.rows; s++) sizes[s] = this.usedBytes(s);
    const offsets = new Uint32Array(this.rows + 1);
    let total = 0;
    for (let s = 0; s < this.rows; s++) {
      offsets[s] = total;
      total += sizes[s]!;
    }
    offsets[this.rows] = total;
    const data = new Uint8Array(total);
    for (let s = 0; s < this.rows; s++) {
      const buf = this.locate(s);
      const start = this.at / 8;
      data.set(buf.subarray(start, start + sizes[s]!), offsets[s]!);
      if (s % batch === batch - 1) yield;
    }
    return { kind: 'encoded', min, max, sum, offsets, data };
  }

  /** Bytes held: encoded data, offsets, summaries, tails and the encoder's state. */
  get bytes(): number {
    let total = this.arena.byteLength + this.min.byteLength + this.max.byteLength + this.sum.byteLength;
    if (this.raw !== undefined) total += this.raw.byteLength;
    if (this.offsets !== undefined) total += this.offsets.byteLength;
    if (this.bitPos !== undefined) total += this.bitPos.byteLength + this.prev!.byteLength + this.riceA!.byteLength;
    if (this.overflow !== undefined) for (const buf of this.overflow.values()) total += buf.byteLength;
    if (this.tails !== undefined) total += this.tails.byteLength + this.tailKept!.byteLength;
    if (this.blockKept !== undefined) total += this.blockMin!.byteLength * 3 + this.blockKept.byteLength;
    if (this.restartPos !== undefined) total += this.restartPos.byteLength + this.restartValue!.byteLength + this.restartA!.byteLength;
    if (this.histogram !== undefined) total += this.histogram.counts.byteLength;
    return total;
  }
}
