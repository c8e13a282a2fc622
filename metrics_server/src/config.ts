/**
 * The metrics server's configuration: `metrics_server/config/config.json` (or
 * `METRICS_SERVER_CONFIG`), then environment overrides. Defaults are named constants; every error
 * names the file or variable and the key, and stops start-up.
 */
import { resolve } from 'node:path';
import { ConfigError, ConfigReader, envNumber, projectRoot, readJsonConfigFile } from '../../common/config-file.js';
import { LOG_FORMATS, LOG_LEVELS, parseLogLevel, type LogFormat, type LogLevel } from '../../common/logger.js';

/** Loopback only unless told otherwise. */
export const DEFAULT_HOST = '127.0.0.1';
/** The seed's port. */
export const DEFAULT_PORT = 8080;
/** The generator's default address. */
export const DEFAULT_GENERATOR_URL = 'http://127.0.0.1:9001/counters';
/** Seconds between polls. */
export const DEFAULT_POLL_INTERVAL_SECONDS = 5;
/** Deadline of one whole fetch. */
export const DEFAULT_FETCH_TIMEOUT_SECONDS = 2;
/** 64 MiB: a 100,000-switch CSV is about 4 MB, a 1,000,000-switch one about 40 MB. */
export const DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024;
/** Longest query string accepted (414 beyond). */
export const DEFAULT_MAX_QUERY_BYTES = 2048;
/** Largest request head accepted (431 beyond). */
export const DEFAULT_MAX_HEADER_BYTES = 16 * 1024;
/** A request must arrive whole within this (408 beyond). */
export const DEFAULT_REQUEST_TIMEOUT_SECONDS = 10;
/** Idle keep-alive connections close after this. */
export const DEFAULT_KEEP_ALIVE_TIMEOUT_SECONDS = 5;

/** How long the history keeps samples: one hour. */
export const DEFAULT_HISTORY_RETENTION_SECONDS = 3600;
/** The history's memory limit: 512 MiB. */
export const DEFAULT_HISTORY_MAX_MEMORY_BYTES = 512 * 1024 * 1024;
/** Where the history is checkpointed, relative to the project. */
export const DEFAULT_HISTORY_CHECKPOINT_PATH = 'var/history.bin';
/** Seconds between checkpoints. */
export const DEFAULT_HISTORY_CHECKPOINT_INTERVAL_SECONDS = 300;

/** The server's whole configuration, after defaults and environment overrides. */
export interface MetricsServerConfig {
  readonly source: string;
  readonly host: string;
  readonly port: number;
  readonly logging: { readonly level: LogLevel; readonly format: LogFormat };
  readonly ingestion: {
    readonly generatorUrl: URL;
    readonly pollIntervalMs: number;
    readonly fetchTimeoutMs: number;
    readonly maxBodyBytes: number;
  };
  readonly readiness: { readonly maxAgeMs: number };
  readonly http: {
    /** Longest accepted query string, in bytes; longer gets 414. */
    readonly maxQueryBytes: number;
    /** Node's cap on the total size of request headers; larger gets 431. */
    readonly maxHeaderBytes: number;
    /** A request (headers and body) must arrive within this; slow-loris connections are cut. */
    readonly requestTimeoutMs: number;
    readonly keepAliveTimeoutMs: number;
    /** Answer plain GetMetric/ListMetrics successes before the framework (http/fast-read-path.ts). */
    readonly fastReadPath: boolean;
  };
  readonly prometheus: { readonly fabricSeries: boolean };
  readonly history: {
    readonly enabled: boolean;
    readonly retentionSeconds: number;
    readonly maxMemoryBytes: number;
    /** Absolute path of the checkpoint file, or undefined when checkpoints are off (`""`). */
    readonly checkpointPath: string | undefined;
    readonly checkpointIntervalMs: number;
  };
}

/** The configuration and whether the file was missing. */
export interface LoadedConfig {
  readonly config: MetricsServerConfig;
  /** Set when the file was absent and defaults were used; the caller logs it once. */
  readonly missingFile: string | undefined;
}

/** `metrics_server/config/config.json` under the project, wherever the process was started. */
export function defaultConfigPath(): string {
  return resolve(projectRoot(), 'metrics_server/config/config.json');
}

/** Reads the config file (or defaults) and applies the environment; throws `ConfigError` naming the key. */
export function loadMetricsServerConfig(env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const path = env['METRICS_SERVER_CONFIG'] !== undefined && env['METRICS_SERVER_CONFIG'] !== '' ? resolve(env['METRICS_SERVER_CONFIG']) : defaultConfigPath();
  const file = readJsonConfigFile(path);
  const r = new ConfigReader(path, file.found ? file.value : {});
  r.onlyKeys('', ['logging', 'ingestion', 'readiness', 'http', 'prometheus', 'history']);
  r.onlyKeys('history', ['enabled', 'retention_seconds', 'max_memory_bytes', 'checkpoint_path', 'checkpoint_interval_seconds']);
  r.onlyKeys('logging', ['level', 'format']);
  r.onlyKeys('ingestion', ['generator_url', 'poll_interval_seconds', 'fetch_timeout_seconds', 'max_body_bytes']);
  r.onlyKeys('readiness', ['max_age_seconds']);
  r.onlyKeys('http', ['max_query_bytes', 'max_header_bytes', 'request_timeout_seconds', 'keep_alive_timeout_seconds', 'fast_read_path']);
  r.onlyKeys('prometheus', ['fabric_series']);

  const level = fromEnv(env, 'LOG_LEVEL', (v) => parseLogLevel(v), `one of ${LOG_LEVELS.join(', ')}`) ?? r.oneOf('logging.level', 'INFO', LOG_LEVELS, parseLogLevel);
  const format = fromEnv(env, 'LOG_FORMAT', (v) => LOG_FORMATS.find((f) => f === v), `one of ${LOG_FORMATS.join(', ')}`) ?? r.oneOf('logging.format', 'text', LOG_FORMATS);

  const pollSeconds = envNumber('POLL_INTERVAL_SECONDS', env, 0.05, 86400) ?? r.number('ingestion.poll_interval_seconds', DEFAULT_POLL_INTERVAL_SECONDS, 0.05, 86400);
  const timeoutSeconds = envNumber('FETCH_TIMEOUT_SECONDS', env, 0.01, 3600) ?? r.number('ingestion.fetch_timeout_seconds', DEFAULT_FETCH_TIMEOUT_SECONDS, 0.01, 3600);
  const maxBodyBytes = envNumber('MAX_BODY_BYTES', env, 1024, 2 ** 31 - 1, true) ?? r.number('ingestion.max_body_bytes', DEFAULT_MAX_BODY_BYTES, 1024, 2 ** 31 - 1, true);
  const generatorUrl = resolveGeneratorUrl(env, r);
  const maxAgeSeconds = r.number('readiness.max_age_seconds', 3 * pollSeconds + timeoutSeconds, 0.1, 7 * 86400);

  const host = env['METRICS_SERVER_HOST'] !== undefined && env['METRICS_SERVER_HOST'] !== '' ? env['METRICS_SERVER_HOST'] : DEFAULT_HOST;
  const port = envNumber('METRICS_SERVER_PORT', env, 0, 65535, true) ?? DEFAULT_PORT;

  return {
    missingFile: file.found ? undefined : path,
    config: {
      source: file.found ? path : `${path} (missing: defaults)`,
      host,
      port,
      logging: { level, format },
      ingestion: { generatorUrl, pollIntervalMs: pollSeconds * 1000, fetchTimeoutMs: timeoutSeconds * 1000, maxBodyBytes },
      readiness: { maxAgeMs: maxAgeSeconds * 1000 },
      http: {
        maxQueryBytes: r.number('http.max_query_bytes', DEFAULT_MAX_QUERY_BYTES, 64, 65536, true),
        maxHeaderBytes: r.number('http.max_header_bytes', DEFAULT_MAX_HEADER_BYTES, 1024, 1024 * 1024, true),
        requestTimeoutMs: r.number('http.request_timeout_seconds', DEFAULT_REQUEST_TIMEOUT_SECONDS, 0.1, 3600) * 1000,
        keepAliveTimeoutMs: r.number('http.keep_alive_timeout_seconds', DEFAULT_KEEP_ALIVE_TIMEOUT_SECONDS, 0.1, 3600) * 1000,
        fastReadPath: r.boolean('http.fast_read_path', true),
      },
      prometheus: { fabricSeries: r.boolean('prometheus.fabric_series', true) },
      history: historyConfig(r),
    },
  };
}

/** The `history` section: retention from a minute to 30 days, memory from 1 MiB to 64 GiB. */
function historyConfig(r: ConfigReader): MetricsServerConfig['history'] {
  // `""` is meaningful here (checkpoints off), which `r.string` refuses for every other key.
  const raw = r.raw('history.checkpoint_path');
  const checkpoint = raw === '' ? '' : r.string('history.checkpoint_path', DEFAULT_HISTORY_CHECKPOINT_PATH);
  return {
    enabled: r.boolean('history.enabled', true),
    retentionSeconds: r.number('history.retention_seconds', DEFAULT_HISTORY_RETENTION_SECONDS, 60, 30 * 86400, true),
    maxMemoryBytes: r.number('history.max_memory_bytes', DEFAULT_HISTORY_MAX_MEMORY_BYTES, 1024 * 1024, 64 * 1024 ** 3, true),
    // Relative to the project, like the config file itself, wherever the process was started.
    checkpointPath: checkpoint === '' ? undefined : resolve(projectRoot(), checkpoint),
    checkpointIntervalMs: r.number('history.checkpoint_interval_seconds', DEFAULT_HISTORY_CHECKPOINT_INTERVAL_SECONDS, 1, 86400) * 1000,
  };
}

/** `GENERATOR_URL`, else `GENERATOR_HOST`/`GENERATOR_PORT` (as the seed's server did), else the file. */
function resolveGeneratorUrl(env: NodeJS.ProcessEnv, r: ConfigReader): URL {
  const fromVar = env['GENERATOR_URL'];
  if (fromVar !== undefined && fromVar !== '') return parseHttpUrl(fromVar, 'environment variable GENERATOR_URL');
  const host = env['GENERATOR_HOST'];
  const port = envNumber('GENERATOR_PORT', env, 1, 65535, true);
  if ((host !== undefined && host !== '') || port !== undefined) {
    const fileUrl = parseHttpUrl(r.string('ingestion.generator_url', DEFAULT_GENERATOR_URL), 'ingestion.generator_url');
    const h = host !== undefined && host !== '' ? host : fileUrl.hostname;
    const bracketed = h.includes(':') && !h.startsWith('[') ? `[${h}]` : h;
    return parseHttpUrl(`http://${bracketed}:${port ?? 9001}/counters`, 'GENERATOR_HOST/GENERATOR_PORT');
  }
  const text = r.string('ingestion.generator_url', DEFAULT_GENERATOR_URL);
  try {
    return parseHttpUrl(text, 'ingestion.generator_url');
  } catch {
    return r.fail('ingestion.generator_url', 'must be an http:// or https:// URL', text);
  }
}

function parseHttpUrl(text: string, what: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(`${what} is not a valid URL (got ${JSON.stringify(text)})`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(`${what} must be an http:// or https:// URL (got ${JSON.stringify(text)})`);
  return url;
}

function fromEnv<T>(env: NodeJS.ProcessEnv, name: string, parse: (value: string) => T | undefined, expectation: string): T | undefined {
  const text = env[name];
  if (text === undefined || text === '') return undefined;
  const value = parse(text);
  if (value === undefined) throw new ConfigError(`environment variable ${name} must be ${expectation} (got ${JSON.stringify(text)})`);
  return value;
}
