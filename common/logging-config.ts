/**
 * The `logging` section both services share, and the variables that override it. One definition,
 * so `LOG_LEVEL=warn` and `LOG_FORMAT=JSON` mean the same to the generator and the metrics server.
 */
import { choiceOf, section, type OverrideBinding } from './config-schema.js';
import { LOG_FORMATS, LOG_LEVELS, parseLogLevel, type LogFormat, type LogLevel } from './logger.js';

/** Level and format of a service's log. */
export interface LoggingConfig {
  readonly level: LogLevel;
  readonly format: LogFormat;
}

/** The `logging` section's schema. `WARN` and `FATAL` are Python logging's own aliases. */
export const loggingSection = section(
  {
    level: choiceOf([...LOG_LEVELS, 'WARN', 'FATAL'], 'Lowest level written: DEBUG, INFO, WARNING, ERROR or CRITICAL.', 'INFO'),
    format: choiceOf(LOG_FORMATS, 'text: the seed\'s line; json: one object per line, for log shippers.', 'text'),
  },
  'Log level and format.',
);

/** `LOG_LEVEL` and `LOG_FORMAT`, honoured by both services. */
export const LOGGING_ENV_BINDINGS: readonly OverrideBinding[] = [
  { name: 'LOG_LEVEL', key: 'logging.level', kind: 'string' },
  { name: 'LOG_FORMAT', key: 'logging.format', kind: 'string' },
];

/** The canonical level and format from a validated section (the schema already refused anything else). */
export function resolveLogging(logging: { readonly level?: string; readonly format?: string } | undefined): LoggingConfig {
  const level = parseLogLevel(logging?.level ?? 'INFO') ?? 'INFO';
  const formatText = (logging?.format ?? 'text').toLowerCase();
  const format = LOG_FORMATS.find((f) => f === formatText) ?? 'text';
  return { level, format };
}
