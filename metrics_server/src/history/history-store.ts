/**
 * The history: every published snapshot appended as one sample per switch and metric, at the
 * snapshot's timestamp, into chunks (history-chunk.ts) kept oldest first. Only snapshots published
 * by the store arrive here, so a failed poll or a `304` adds nothing and an outage stays a gap.
 *
 * Appending is cut into slices of a few milliseconds (slices.ts) so that encoding 600,000 values at
 * 100,000 switches never holds the event loop; readers see a sample only once every series has it
 * (`HistoryChunk.commit`). Retention and the memory limit are applied after each commit, oldest
 * first: retention cuts samples; the memory limit first frees percentile tails (a cache), then drops
 * whole chunks (never the newest), reported as early drops.
 */
import type { Snapshot } from '../snapshot/snapshot.js';
import type { SnapshotReader } from '../store/reader.js';
import { answerJob, type HistoryAnswer, type HistoryQuery, type QueryableHistory } from './answers.js';
import { HistoryChunk, chooseDecimals } from './history-chunk.js';
import { SnapshotIds, type IdSource } from './id-source.js';
import { DEFAULT_SLICE_MS, runNow, runSliced, type SlicedJob } from './slices.js';

/** Samples per series per chunk: 15 minutes at a 5 s poll interval. */
export const DEFAULT_CHUNK_SAMPLES = 180;
/** Snapshots waiting to be appended beyond this are skipped (and counted): the history never falls behind without bound. */
export const MAX_PENDING_APPENDS = 8;
/** Rows appended between two checks of the slice's time budget. */
const APPEND_BATCH = 2048;

/** What the history keeps. */
export interface HistoryOptions {
  readonly retentionSeconds: number;
  readonly maxMemoryBytes: number;
  /** Samples per series per chunk (default DEFAULT_CHUNK_SAMPLES). */
  readonly chunkSamples?: number;
  /** Time budget of one append slice (default DEFAULT_SLICE_MS). */
  readonly sliceMs?: number;
  /** Told when an append failed (a bug, never bad input): the composition root logs it. */
  readonly onError?: (err: unknown) => void;
}

/** Samples dropped before their retention because of the memory limit. */
export interface EarlyDrops {
  readonly samples: number;
  readonly chunks: number;
  /** Unix seconds of the newest snapshot when the last drop happened, or null. */
  readonly lastAt: number | null;
}

/** The history's size, as Status and `/metrics` show it. */
export interface HistoryStats {
  /** Samples retained (switches × metrics × snapshots, over every chunk). */
  readonly samples: number;
  readonly bytes: number;
  readonly chunks: number;
  /** Unix seconds of the oldest and newest retained snapshot, or null. */
  readonly oldest: number | null;
  readonly newest: number | null;
  readonly snapshots: number;
  readonly earlyDrops: EarlyDrops;
  /** Snapshots not appended: older than the newest (clock stepped back) or over MAX_PENDING_APPENDS. */
  readonly skipped: number;
  /** Appends that failed midway (a bug): their snapshot is missing from the history. */
  readonly failedAppends: number;
}

/** The history store. */
export class HistoryStore implements QueryableHistory {
  private chunks: HistoryChunk[] = [];
  private readonly chunkSamples: number;
  private readonly pending: Snapshot[] = [];
  private appending: Promise<void> | undefined;
  private earlyDropSamples = 0;
  private earlyDropChunks = 0;
  private lastEarlyDropAt: number | null = null;
  private skipped = 0;
  private failedAppends = 0;

  constructor(readonly options: HistoryOptions) {
    this.chunkSamples = options.chunkSamples ?? DEFAULT_CHUNK_SAMPLES;
  }

  /** Appends every snapshot `reader` publishes from now on; returns the unsubscribe function. */
  follow(reader: SnapshotReader): () => void {
    return reader.onPublish((snapshot) => void this.append(snapshot));
  }

  /** Queues `snapshot` and appends it in slices; resolves once it is committed (or skipped). */
  append(snapshot: Snapshot): Promise<void> {
    if (this.pending.length >= MAX_PENDING_APPENDS) {
      this.skipped += 1;
      return this.appending ?? Promise.resolve();
    }
    this.pending.push(snapshot);
    this.appending ??= this.drain();
    return this.appending;
  }

  /** Resolves when every queued append is committed. */
  async idle(): Promise<void> {
    while (this.appending !== undefined) await this.appending;
  }

  /** Appends `snapshot` at once, on the calling thread (tests and tools; nothing may be queued). */
  appendNow(snapshot: Snapshot): void {
    if (this.appending !== undefined) throw new Error('appendNow while sliced appends are queued');
    runNow(this.appendSlices(snapshot));
  }

  private async drain(): Promise<void> {
    try {
      for (let next = this.pending.shift(); next !== undefined; next = this.pending.shift()) {
        try {
          await runSliced(this.appendSlices(next), this.options.sliceMs ?? DEFAULT_SLICE_MS);
        } catch (err) {
          this.appendFailed(err);
        }
      }
    } finally {
      this.appending = undefined;
    }
  }

  /** The append of one snapshot as a sliced job (`append` queues and runs it; a benchmark may time its slices). */
  *appendSlices(snapshot: Snapshot): SlicedJob<void> {
    const timestamp = snapshot.timestamp;
    const last = this.chunks[this.chunks.length - 1];
    if (last !== undefined && timestamp < last.newest) {
      // The clock stepped back: samples stay in time order, so this one is left out (and counted).
      this.skipped += 1;
      return;
    }
    // Checked one metric per step: at 100,000 switches each check reads 100,000 values.
    let target = last !== undefined && last.acceptsShape(snapshot) ? last : undefined;
    for (let j = 0; target !== undefined && j < target.metrics.length; j++) {
      yield;
      if (!target.metricFits(j, snapshot)) target = undefined;
    }
    yield;
    if (target === undefined) {
      let ids: IdSource | undefined;
      let hints;
      if (last !== undefined) {
        if (!last.closed) {
          last.closed = true;
          for (const metric of last.metrics) yield* metric.pack();
        }
        if (last.ids.matches(snapshot)) ids = last.ids;
        hints = last.hints();
      }
      const metrics: { name: string; decimals: number }[] = [];
      for (const name of snapshot.metrics) {
        metrics.push({ name, decimals: chooseDecimals(name, snapshot.decimalsOf(name)!, snapshot.columnView(name)!) });
        yield;
      }
      target = new HistoryChunk(ids ?? new SnapshotIds(snapshot), metrics, this.chunkSamples, hints);
    }
    const index = target.count;
    const rows = target.ids.count;
    for (const metric of target.metrics) {
      const values = snapshot.columnView(metric.name)!;
      for (let from = 0; from < rows; from += APPEND_BATCH) {
        metric.appendRange(values, index, from, Math.min(rows, from + APPEND_BATCH));
        yield;
      }
    }
    if (target !== last) this.chunks.push(target);
    target.commit(timestamp);
    if (target.count === target.capacity) {
      // Full: packed now, while nothing waits on it (the next snapshot then starts a chunk at once).
      target.closed = true;
      for (const metric of target.metrics) yield* metric.pack();
    }
    this.trim(timestamp);
  }

  /**
   * An append that threw midway may have moved some series' encoder state past the committed
   * samples: the open chunk is closed where its committed samples end (readers never look further)
   * and its summaries are no longer trusted; the next snapshot starts a new chunk.
   */
  private appendFailed(err: unknown): void {
    this.failedAppends += 1;
    const last = this.chunks[this.chunks.length - 1];
    if (last !== undefined && !last.closed) {
      last.closed = true;
      last.summariesTrusted = false;
    }
    this.options.onError?.(err);
  }

  /** Applies retention (relative to the newest snapshot) and then the memory limit, oldest first. */
  private trim(newest: number): void {
    if (!Number.isFinite(newest)) return;
    const cutoff = newest - this.options.retentionSeconds;
    while (this.chunks.length > 0) {
      const oldest = this.chunks[0]!;
      if (oldest.newest < cutoff) {
        this.chunks.shift();
        continue;
      }
      oldest.start = oldest.lowerBound(cutoff);
      break;
    }
    // Over the limit, percentile tails go first, oldest chunk first: they are a cache, samples are not.
    for (let i = 0; i < this.chunks.length && this.bytes > this.options.maxMemoryBytes; i++) this.chunks[i]!.dropTails();
    // The chunk holding the newest sample is never dropped: a limit below one chunk keeps one chunk.
    while (this.chunks.length > 1 && this.bytes > this.options.maxMemoryBytes) {
      const dropped = this.chunks.shift()!;
      this.earlyDropSamples += (dropped.count - dropped.start) * dropped.ids.count * dropped.metrics.length;
      this.earlyDropChunks += 1;
      this.lastEarlyDropAt = newest;
    }
  }

  /**
   * Replaces the history with chunks read from a checkpoint (before the first append), then applies
   * retention and the memory limit relative to `now` (Unix seconds): a checkpoint a day old holds
   * nothing an hour's retention keeps.
   */
  restore(chunks: readonly HistoryChunk[], now: number): void {
    if (this.chunks.length > 0 || this.appending !== undefined) throw new Error('restore into a history that already has samples');
    this.chunks = [...chunks];
    this.trim(now);
  }

  /** The chunks oldest first, as they are now (a query keeps this list and each chunk's count). */
  view(): readonly HistoryChunk[] {
    return this.chunks.slice();
  }

  /** True when any retained chunk has switch `id`. */
  hasSwitch(id: string): boolean {
    return this.chunks.some((c) => c.ids.rowOf(id) !== -1);
  }

  /** True when any retained chunk has metric `name`. */
  hasMetric(name: string): boolean {
    return this.chunks.some((c) => c.metric(name) !== undefined);
  }

  /** Bytes held: every chunk, and every distinct id source once. */
  get bytes(): number {
    let total = 0;
    const sources = new Set<IdSource>();
    for (const chunk of this.chunks) {
      total += chunk.bytes;
      sources.add(chunk.ids);
    }
    for (const source of sources) total += source.bytes;
    return total;
  }

  /** The answer to `query` (answers.ts), run in slices of `budgetMs` on this thread. */
  answer(query: HistoryQuery, budgetMs?: number): Promise<HistoryAnswer> {
    return runSliced(answerJob(this, query), budgetMs);
  }

  /** Samples, bytes, time span and drops. */
  stats(): HistoryStats {
    let samples = 0;
    let snapshots = 0;
    for (const chunk of this.chunks) {
      const n = chunk.count - chunk.start;
      snapshots += n;
      samples += n * chunk.ids.count * chunk.metrics.length;
    }
    const first = this.chunks.find((c) => c.count > c.start);
    const last = this.chunks[this.chunks.length - 1];
    return {
      samples,
      bytes: this.bytes,
      chunks: this.chunks.length,
      oldest: first === undefined ? null : first.oldest,
      newest: last === undefined || last.count === 0 ? null : last.newest,
      snapshots,
      earlyDrops: { samples: this.earlyDropSamples, chunks: this.earlyDropChunks, lastAt: this.lastEarlyDropAt },
      skipped: this.skipped,
      failedAppends: this.failedAppends,
    };
  }
}
