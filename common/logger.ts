/**
 * The logger both services use. Levels carry the seed's Python names. Two output forms:
 * - `text`, the default: `<ISO time> <LEVEL> <message> [key=value …]`, so a request line ends in the
 *   seed's form `INFO /telemetry/ListMetrics 200 0.19ms`;
 * - `json`: one object per line through pino, for log shippers.
 * Both write through pino.destination (sonic-boom, asynchronous), so a log line costs a string
 * append on the request path and the write to the file or terminal happens in batches.
 */
import { pino, type Logger as PinoLogger } from 'pino';
import { LineBatcher } from './line-batcher.js';
import type { LogSink } from './log-sink.js';

/** The level names, Python's, lowest first. */
export const LOG_LEVELS = ['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL'] as const;
/** One of LOG_LEVELS. */
export type LogLevel = (typeof LOG_LEVELS)[number];
/** `text` (the seed's line) or `json` (one object per line). */
export const LOG_FORMATS = ['text', 'json'] as const;
/** One of LOG_FORMATS. */
export type LogFormat = (typeof LOG_FORMATS)[number];

const LEVEL_VALUES: Readonly<Record<LogLevel, number>> = {
  DEBUG: 10,
  INFO: 20,
  WARNING: 30,
  ERROR: 40,
  CRITICAL: 50,
};

/** Extra fields of a line (`key=value` in text, properties in JSON). */
export type LogFields = Readonly<Record<string, unknown>>;

export type { LogSink } from './log-sink.js';

/** What every component logs through. */
export interface Logger {
  readonly level: LogLevel;
  /** `text` or `json`: callers that add fields only machines read (the request log) ask. */
  readonly format: LogFormat;
  isEnabled(level: LogLevel): boolean;
  log(level: LogLevel, message: string, fields?: LogFields): void;
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warning(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  critical(message: string, fields?: LogFields): void;
  /** A logger for one component; its lines name the component. */
  child(component: string): Logger;
  /** Writes out anything buffered; call before exit. */
  flush(): void;
}

/** How to make a logger. */
export interface LoggerOptions {
  level: LogLevel;
  format: LogFormat;
  /** Defaults to an asynchronous sonic-boom writer on stdout. */
  sink?: LogSink;
}

/** True for one of LOG_LEVELS, exactly. */
export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === 'string' && (LOG_LEVELS as readonly string[]).includes(value);
}

/** `WARN` and lower-case names are accepted too, as Python's logging accepts them. */
export function parseLogLevel(value: string): LogLevel | undefined {
  const upper = value.trim().toUpperCase();
  if (upper === 'WARN') return 'WARNING';
  if (upper === 'FATAL') return 'CRITICAL';
  return isLogLevel(upper) ? upper : undefined;
}

/**
 * Lines are batched (line-batcher.ts): handed to the writer once 8192 characters are pending, or
 * 100 ms after the first line of a batch, whichever comes first. Under load that turns one write
 * syscall (and one libuv thread-pool round trip) per request into one per ~80 lines; at rest a line
 * reaches the file or terminal within 100 ms. `flush()` (called on stop) writes out the rest.
 */
export const LOG_BATCH_BYTES = 8192;
/** A pending batch is written at most this long after its first line. */
export const LOG_FLUSH_INTERVAL_MS = 100;

/** A logger writing `format` lines at `level` and above to `sink` (default: stdout, batched, asynchronous). */
export function createLogger(options: LoggerOptions): Logger {
  const sink = options.sink ?? new LineBatcher(pino.destination({ fd: 1, sync: false }), LOG_BATCH_BYTES, LOG_FLUSH_INTERVAL_MS);
  return options.format === 'json'
    ? new JsonLogger(options.level, createPino(options.level, sink), sink)
    : new TextLogger(options.level, sink, undefined);
}

abstract class BaseLogger implements Logger {
  private readonly threshold: number;
  protected constructor(
    readonly level: LogLevel,
    protected readonly sink: LogSink,
  ) {
    this.threshold = LEVEL_VALUES[level];
  }
  isEnabled(level: LogLevel): boolean {
    return LEVEL_VALUES[level] >= this.threshold;
  }
  log(level: LogLevel, message: string, fields?: LogFields): void {
    if (LEVEL_VALUES[level] >= this.threshold) this.write(level, message, fields);
  }
  debug(message: string, fields?: LogFields): void {
    this.log('DEBUG', message, fields);
  }
  info(message: string, fields?: LogFields): void {
    this.log('INFO', message, fields);
  }
  warning(message: string, fields?: LogFields): void {
    this.log('WARNING', message, fields);
  }
  error(message: string, fields?: LogFields): void {
    this.log('ERROR', message, fields);
  }
  critical(message: string, fields?: LogFields): void {
    this.log('CRITICAL', message, fields);
  }
  flush(): void {
    try {
      this.sink.flushSync?.();
    } catch {
      // sonic-boom throws if the fd is not ready yet; nothing was buffered then.
    }
  }
  abstract readonly format: LogFormat;
  protected abstract write(level: LogLevel, message: string, fields: LogFields | undefined): void;
  abstract child(component: string): Logger;
}

class TextLogger extends BaseLogger {
  readonly format = 'text';
  constructor(
    level: LogLevel,
    sink: LogSink,
    private readonly component: string | undefined,
  ) {
    super(level, sink);
  }
  protected write(level: LogLevel, message: string, fields: LogFields | undefined): void {
    let line = `${isoNow()} ${level} `;
    if (this.component !== undefined) line += `[${this.component}] `;
    line += message;
    if (fields !== undefined) line += formatFields(fields);
    this.sink.write(line + '\n');
  }
  child(component: string): Logger {
    return new TextLogger(this.level, this.sink, component);
  }
}

/** Hands each line, unformatted, to a function; no sink of its own. */
class ForwardingLogger extends BaseLogger {
  readonly format = 'text';
  constructor(private readonly forward: (level: LogLevel, message: string, fields: LogFields | undefined) => void) {
    super('DEBUG', { write: () => undefined });
  }
  protected write(level: LogLevel, message: string, fields: LogFields | undefined): void {
    this.forward(level, message, fields);
  }
  child(): Logger {
    return this;
  }
}

/**
 * A logger that hands every line, at every level, to `forward` unformatted: a worker thread's
 * logger, whose lines the main thread filters, formats and writes with its own level and format.
 */
export function forwardingLogger(forward: (level: LogLevel, message: string, fields: LogFields | undefined) => void): Logger {
  return new ForwardingLogger(forward);
}

class JsonLogger extends BaseLogger {
  readonly format = 'json';
  constructor(
    level: LogLevel,
    private readonly pinoLogger: PinoLogger<PinoLevel>,
    sink: LogSink,
  ) {
    super(level, sink);
  }
  protected write(level: LogLevel, message: string, fields: LogFields | undefined): void {
    const method = PINO_METHOD[level];
    if (fields === undefined) this.pinoLogger[method](message);
    else this.pinoLogger[method](serializeErrors(fields), message);
  }
  child(component: string): Logger {
    return new JsonLogger(this.level, this.pinoLogger.child({ component }), this.sink);
  }
}

type PinoLevel = 'debug' | 'info' | 'warning' | 'error' | 'critical';
const PINO_METHOD: Readonly<Record<LogLevel, PinoLevel>> = {
  DEBUG: 'debug',
  INFO: 'info',
  WARNING: 'warning',
  ERROR: 'error',
  CRITICAL: 'critical',
};

function createPino(level: LogLevel, sink: LogSink): PinoLogger<PinoLevel> {
  return pino<PinoLevel>(
    {
      level: PINO_METHOD[level],
      customLevels: { debug: 20, info: 30, warning: 40, error: 50, critical: 60 },
      useOnlyCustomLevels: true,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label.toUpperCase() }) },
    },
    sink as pino.DestinationStream,
  );
}

function serializeErrors(fields: LogFields): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    out[key] = value instanceof Error ? value.message : value;
  }
  return out;
}

let lastMs = -1;
let lastIso = '';
/** The current time in ISO form, formatted at most once per millisecond (many lines share one). */
function isoNow(): string {
  const now = Date.now();
  if (now !== lastMs) {
    lastMs = now;
    lastIso = new Date(now).toISOString();
  }
  return lastIso;
}

const NEEDS_QUOTING = /[\s"=\\]|^$/;

/** ` key=value` pairs; strings with spaces or quotes are JSON-quoted so a line stays one line. */
export function formatFields(fields: LogFields): string {
  let out = '';
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    let text: string;
    if (value instanceof Error) text = JSON.stringify(value.message);
    else if (typeof value === 'string') text = NEEDS_QUOTING.test(value) ? JSON.stringify(value) : value;
    else text = JSON.stringify(value) ?? String(value);
    out += ` ${key}=${text}`;
  }
  return out;
}

/** Collects lines in memory: for tests. */
export class MemorySink implements LogSink {
  readonly lines: string[] = [];
  write(chunk: string): boolean {
    for (const line of chunk.split('\n')) if (line !== '') this.lines.push(line);
    return true;
  }
}
