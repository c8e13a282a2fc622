/**
 * The history's checkpoint on disk (the edge around checkpoint-codec.ts): loaded once at start,
 * written every `checkpoint_interval_seconds` and on graceful shutdown.
 *
 * - Written atomically: into `<path>.tmp` (fsynced), then renamed over `<path>`; a crash or a kill
 *   during the write leaves the previous checkpoint as it was.
 * - A missing file is normal (first start). A file that cannot be read, is truncated, corrupt (CRC)
 *   or of another format version is logged with its reason and set aside as `<path>.bad-<time>`
 *   (never overwritten), and the server starts with an empty history.
 * - A write that fails (unwritable directory, full disk) is logged with its reason; the server carries
 *   on and tries again at the next interval. Nothing here throws into the caller.
 */
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from '../../../common/logger.js';
import { decodeCheckpoint, encodeCheckpoint } from './checkpoint-codec.js';
import type { HistoryStore } from './history-store.js';
import { runSliced } from './slices.js';

/** What Status shows of the checkpoint. */
export interface CheckpointStatus {
  readonly path: string;
  readonly interval_seconds: number;
  /** What happened at start: `loaded`, `missing`, `set_aside` (with `reason` and `set_aside_as`), `failed`. */
  readonly load: Readonly<Record<string, unknown>> | null;
  readonly last_saved_at: number | null;
  readonly last_save_bytes: number | null;
  readonly last_save_duration_ms: number | null;
  readonly last_error: { readonly message: string; readonly at: number } | null;
  readonly saves: number;
}

const errorText = (err: unknown): string => (err instanceof Error ? ((err as NodeJS.ErrnoException).code !== undefined ? `${(err as NodeJS.ErrnoException).code}: ${err.message}` : err.message) : String(err));

/** Loads, saves and schedules one history's checkpoint file. */
export class Checkpointer {
  private loadOutcome: Record<string, unknown> | null = null;
  private lastSavedAtMs: number | null = null;
  private lastSaveBytes: number | null = null;
  private lastSaveMs: number | null = null;
  private lastError: { message: string; at: number } | null = null;
  private saves = 0;
  private timer: NodeJS.Timeout | undefined;
  private saving: Promise<void> | undefined;

  constructor(
    private readonly history: HistoryStore,
    readonly path: string,
    private readonly intervalMs: number,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Reads the checkpoint into the (empty) history. Never throws: the outcome is logged and kept for Status. */
  async load(): Promise<void> {
    let bytes: Buffer;
    try {
      bytes = await readFile(this.path);
    } catch (err) {
      // No file there (ENOTDIR: a parent is not a directory; the write will say so): nothing to set aside.
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        this.loadOutcome = { outcome: 'missing' };
        this.logger.info(`no history checkpoint at ${this.path}: starting with an empty history`);
        return;
      }
      await this.setAside(`unreadable (${errorText(err)})`);
      return;
    }
    const started = performance.now();
    const decoded = decodeCheckpoint(bytes);
    if (!decoded.ok) {
      await this.setAside(decoded.reason);
      return;
    }
    this.history.restore(decoded.chunks, Math.floor(this.now() / 1000));
    const stats = this.history.stats();
    const ms = Math.round((performance.now() - started) * 100) / 100;
    this.loadOutcome = { outcome: 'loaded', bytes: bytes.byteLength, samples: stats.samples, written_at: Math.floor(decoded.writtenAtMs / 1000), duration_ms: ms };
    this.logger.info(`loaded the history checkpoint ${this.path}`, { bytes: bytes.byteLength, samples: stats.samples, oldest: stats.oldest, duration_ms: ms });
  }

  /** Renames a bad file out of the way (so it is kept for a look and never overwritten) and says why. */
  private async setAside(reason: string): Promise<void> {
    const aside = `${this.path}.bad-${new Date(this.now()).toISOString().replace(/[:.]/g, '-')}`;
    try {
      await rename(this.path, aside);
      this.loadOutcome = { outcome: 'set_aside', reason, set_aside_as: aside };
      this.logger.warning(`history checkpoint ${this.path} not loaded: ${reason}; set aside as ${aside}; starting with an empty history`);
    } catch (err) {
      // Not even renamable: checkpoints stay off rather than overwrite what may be the only copy.
      this.loadOutcome = { outcome: 'failed', reason, set_aside_error: errorText(err) };
      this.logger.error(`history checkpoint ${this.path} not loaded: ${reason}; could not set it aside (${errorText(err)}); checkpoints are off until restart`);
    }
  }

  /** True unless a bad file could not be set aside (then nothing is written over it). */
  private get mayWrite(): boolean {
    return this.loadOutcome?.['outcome'] !== 'failed';
  }

  /** Saves every `intervalMs` from now on (the timer never keeps the process alive). */
  start(): void {
    this.timer = setInterval(() => void this.save(), this.intervalMs);
    this.timer.unref();
  }

  /**
   * Writes the history now (waits for a save in flight instead of starting a second one). Never
   * throws: a failure is logged and kept for Status.
   */
  save(): Promise<void> {
    this.saving ??= this.write().finally(() => {
      this.saving = undefined;
    });
    return this.saving;
  }

  /** Stops the timer, then writes a last checkpoint once the history has taken every queued snapshot. */
  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    await this.saving;
    await this.history.idle();
    await this.save();
  }

  private async write(): Promise<void> {
    if (!this.mayWrite) return;
    const started = performance.now();
    const tmp = `${this.path}.tmp`;
    try {
      // Committed samples only, taken between appends.
      await this.history.idle();
      const parts = await runSliced(encodeCheckpoint(this.history.view(), this.now()));
      await mkdir(dirname(this.path), { recursive: true });
      const file = await open(tmp, 'w');
      let bytes = 0;
      try {
        for (const part of parts) {
          await file.write(part);
          bytes += part.byteLength;
        }
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(tmp, this.path);
      await syncDirectory(dirname(this.path));
      this.saves += 1;
      this.lastSavedAtMs = this.now();
      this.lastSaveBytes = bytes;
      this.lastSaveMs = Math.round((performance.now() - started) * 100) / 100;
      this.logger.debug(`history checkpoint written to ${this.path}`, { bytes, duration_ms: this.lastSaveMs });
    } catch (err) {
      this.lastError = { message: errorText(err), at: Math.floor(this.now() / 1000) };
      this.logger.error(`could not write the history checkpoint ${this.path}: ${errorText(err)}; the previous checkpoint, if any, is unchanged`);
      await unlink(tmp).catch(() => undefined);
    }
  }

  /** Status's `checkpoint` section. */
  status(): CheckpointStatus {
    return {
      path: this.path,
      interval_seconds: this.intervalMs / 1000,
      load: this.loadOutcome,
      last_saved_at: this.lastSavedAtMs === null ? null : Math.floor(this.lastSavedAtMs / 1000),
      last_save_bytes: this.lastSaveBytes,
      last_save_duration_ms: this.lastSaveMs,
      last_error: this.lastError,
      saves: this.saves,
    };
  }
}

/** fsync of a directory, so the rename itself survives a power cut (best effort: not every platform allows it). */
async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Not supported here: the rename is still atomic, only its durability is weaker.
  }
}
