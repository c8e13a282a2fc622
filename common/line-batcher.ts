/**
 * Batches log lines before they reach the asynchronous writer: lines are appended to one pending
 * string, handed on once it holds `batchChars` characters or `flushMs` after the first line of a
 * batch, whichever comes first.
 *
 * Why not sonic-boom's own `minLength` batching (what the logger used before): its `write` measures
 * the byte length of the whole pending buffer on every call (`Buffer.byteLength(bufs[last])`), so at
 * thousands of request lines per second each line paid for re-reading up to 16 KiB. A perf profile
 * of the metrics server under GetMetric load showed `v8::String::Utf8Length` as the largest
 * user-space symbol. Handing sonic-boom one string per batch leaves it one measurement per batch.
 * Its periodic flush also wrote zero-byte buffers ten times a second when idle; this timer only runs
 * while something is pending.
 */
import type { LogSink } from './log-sink.js';

/** Collects lines and hands them to the writer in batches (by size or after a delay). */
export class LineBatcher implements LogSink {
  private pending = '';
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly target: LogSink,
    private readonly batchChars: number,
    private readonly flushMs: number,
  ) {}

  write(line: string): boolean {
    this.pending += line;
    if (this.pending.length >= this.batchChars) this.drain();
    else this.timer ??= setTimeout(this.onTimer, this.flushMs).unref();
    return true;
  }

  /** Hands on what is pending and asks the target to write out synchronously (before exit). */
  flushSync(): void {
    this.drain();
    this.target.flushSync?.();
  }

  private readonly onTimer = (): void => {
    this.timer = undefined;
    this.drain();
  };

  private drain(): void {
    if (this.pending === '') return;
    const chunk = this.pending;
    this.pending = '';
    this.target.write(chunk);
  }
}
