/** Where log lines go, in a module of its own so the logger and its line batcher both name it. */

/** Anything with `write(string)`: a sonic-boom destination, the line batcher, a test's array. */
export interface LogSink {
  write(line: string): unknown;
  flushSync?(): void;
}
