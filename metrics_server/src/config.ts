/**
 * The metrics server's configuration: `metrics_server/config/config.json` (or
 * `METRICS_SERVER_CONFIG`, or `--config`), with environment variables laid over it and command-line
 * options over those, all validated by one JSON Schema (config-schema.ts). Every error names the
 * file, variable or option and the key, and stops start-up.
 */
import { resolve } from 'node:path';
import { projectRoot, readJsonConfigFile } from '../../common/config-file.js';
import { environmentOverrides, hostName, integerIn, section, validateConfig, type CommandLineSettings } from '../../common/config-schema.js';
import { resolveLogging } from '../../common/logging-config.js';
import type { LogFormat, LogLevel } from '../../common/logger.js';
import {
  DEFAULT_FETCH_TIMEOUT_SECONDS,
  DEFAULT_GENERATOR_URL,
  DEFAULT_HISTORY_CHECKPOINT_INTERVAL_SECONDS,
  DEFAULT_HISTORY_CHECKPOINT_PATH,
  DEFAULT_HISTORY_MAX_MEMORY_BYTES,
  DEFAULT_HISTORY_RETENTION_SECONDS,
  DEFAULT_HOST,
  DEFAULT_INGESTION_FORMAT,
  DEFAULT_KEEP_ALIVE_TIMEOUT_SECONDS,
  DEFAULT_LEASE_SECONDS,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_HEADER_BYTES,
  DEFAULT_MAX_QUERY_BYTES,
  DEFAULT_POLL_INTERVAL_SECONDS,
  DEFAULT_PORT,
  DEFAULT_REDIS_KEY_PREFIX,
  DEFAULT_REDIS_URL,
  DEFAULT_REQUEST_TIMEOUT_SECONDS,
  DEFAULT_STREAM_KEEP_ALIVE_SECONDS,
  DEFAULT_STREAM_MAX_CLIENTS,
  INGESTION_MODES,
  METRICS_SERVER_ENV_BINDINGS,
  type IngestionMode,
  metricsServerFileSchema,
} from './config-schema.js';
import { STREAM_COMPRESSIONS, type StreamCompression } from './http/telemetry-stream.js';
import { INGESTION_FORMATS, type IngestionFormat } from './sources/poll-source.js';



/** The server's whole configuration, after defaults and environment overrides. */
export interface MetricsServerConfig {
  readonly source: string;
  readonly host: string;
  readonly port: number;
  readonly logging: { readonly level: LogLevel; readonly format: LogFormat };
  readonly ingestion: {
    /** `poll` (default) or `push` (SPEC "Streams"). */
    readonly mode: IngestionMode;
    /** The generator's event stream, for push mode (default: the generator URL + `/stream?delta=1`). */
    readonly streamUrl: URL;
    readonly generatorUrl: URL;
    readonly pollIntervalMs: number;
    readonly fetchTimeoutMs: number;
    readonly maxBodyBytes: number;
    /** What polls and the push stream ask the generator for (SPEC, `ingestion.format`). */
    readonly format: IngestionFormat;
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
  /** `GET /telemetry/stream` limits. */
  readonly stream: {
    readonly maxClients: number;
    /** Undefined: twice the last unfiltered snapshot event, at least 1 MiB. */
    readonly maxBufferedBytes: number | undefined;
    readonly keepAliveMs: number;
    /** `deflate` (default): clients that accept it get the stream deflated; `off`: never. */
    readonly compression: StreamCompression;
  };
  /** Where snapshots live (SPEC "Cluster (Redis)"); absent means `memory`. */
  readonly store?: StoreConfig;
}

/** The `store` section, resolved. */
export type StoreConfig =
  | { readonly kind: 'memory' }
  | {
      readonly kind: 'redis';
      readonly redis: { readonly url: string; readonly keyPrefix: string };
      readonly leaseMs: number;
    };

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

/** The file the server reads: `--config`, else `METRICS_SERVER_CONFIG`, else the project's own. */
export function metricsServerConfigPath(env: NodeJS.ProcessEnv, cli: CommandLineSettings = {}): string {
  if (cli.configPath !== undefined) return resolve(cli.configPath);
  const fromEnv = env['METRICS_SERVER_CONFIG'];
  return fromEnv !== undefined && fromEnv !== '' ? resolve(fromEnv) : defaultConfigPath();
}

/** Reads the config file (or defaults), lays the environment and the command line over it, validates; throws `ConfigError` naming the key. */
export function loadMetricsServerConfig(env: NodeJS.ProcessEnv = process.env, cli: CommandLineSettings = {}): LoadedConfig {
  const path = metricsServerConfigPath(env, cli);
  const file = readJsonConfigFile(path);
  const overrides = [...environmentOverrides(env, METRICS_SERVER_ENV_BINDINGS), ...(cli.overrides ?? [])];
  const v = validateConfig(metricsServerFileSchema, file.found ? file.value : {}, { file: path, overrides });

  const pollSeconds = v.ingestion?.poll_interval_seconds ?? DEFAULT_POLL_INTERVAL_SECONDS;
  const timeoutSeconds = v.ingestion?.fetch_timeout_seconds ?? DEFAULT_FETCH_TIMEOUT_SECONDS;
  const generatorUrl = resolveGeneratorUrl(env, v.ingestion?.generator_url ?? DEFAULT_GENERATOR_URL);
  const maxAgeSeconds = v.readiness?.max_age_seconds ?? 3 * pollSeconds + timeoutSeconds;
  const http = v.http ?? {};
  const checkpoint = v.history?.checkpoint_path ?? DEFAULT_HISTORY_CHECKPOINT_PATH;

  return {
    missingFile: file.found ? undefined : path,
    config: {
      source: file.found ? path : `${path} (missing: defaults)`,
      host: http.host ?? DEFAULT_HOST,
      port: http.port ?? DEFAULT_PORT,
      logging: resolveLogging(v.logging),
      ingestion: {
        mode: INGESTION_MODES.find((m) => m === (v.ingestion?.mode ?? 'poll').toLowerCase()) ?? 'poll',
        streamUrl: v.ingestion?.stream_url !== undefined ? new URL(v.ingestion.stream_url) : derivedStreamUrl(generatorUrl),
        generatorUrl,
        pollIntervalMs: pollSeconds * 1000, fetchTimeoutMs: timeoutSeconds * 1000, maxBodyBytes: v.ingestion?.max_body_bytes ?? DEFAULT_MAX_BODY_BYTES, format: ingestionFormat(v.ingestion?.format) },
      readiness: { maxAgeMs: maxAgeSeconds * 1000 },
      http: {
        maxQueryBytes: http.max_query_bytes ?? DEFAULT_MAX_QUERY_BYTES,
        maxHeaderBytes: http.max_header_bytes ?? DEFAULT_MAX_HEADER_BYTES,
        requestTimeoutMs: (http.request_timeout_seconds ?? DEFAULT_REQUEST_TIMEOUT_SECONDS) * 1000,
        keepAliveTimeoutMs: (http.keep_alive_timeout_seconds ?? DEFAULT_KEEP_ALIVE_TIMEOUT_SECONDS) * 1000,
        fastReadPath: http.fast_read_path ?? true,
      },
      prometheus: { fabricSeries: v.prometheus?.fabric_series ?? true },
      history: {
        enabled: v.history?.enabled ?? true,
        retentionSeconds: v.history?.retention_seconds ?? DEFAULT_HISTORY_RETENTION_SECONDS,
        maxMemoryBytes: v.history?.max_memory_bytes ?? DEFAULT_HISTORY_MAX_MEMORY_BYTES,
        // Relative to the project, like the config file itself, wherever the process was started.
        checkpointPath: checkpoint === '' ? undefined : resolve(projectRoot(), checkpoint),
        checkpointIntervalMs: (v.history?.checkpoint_interval_seconds ?? DEFAULT_HISTORY_CHECKPOINT_INTERVAL_SECONDS) * 1000,
      },
      stream: {
        maxClients: v.stream?.max_clients ?? DEFAULT_STREAM_MAX_CLIENTS,
        maxBufferedBytes: v.stream?.max_buffered_bytes,
        keepAliveMs: (v.stream?.keep_alive_seconds ?? DEFAULT_STREAM_KEEP_ALIVE_SECONDS) * 1000,
        compression: STREAM_COMPRESSIONS.find((c) => c === (v.stream?.compression ?? 'deflate').toLowerCase()) ?? 'deflate',
      },
      store: resolveStore(v.store),
    },
  };
}

/** The `store` section with its defaults (the schema already checked each value). */
function resolveStore(store: { readonly kind?: string; readonly redis?: { readonly url?: string; readonly key_prefix?: string }; readonly lease_seconds?: number } | undefined): StoreConfig {
  if ((store?.kind ?? 'memory').toLowerCase() !== 'redis') return { kind: 'memory' };
  return {
    kind: 'redis',
    redis: { url: store?.redis?.url ?? DEFAULT_REDIS_URL, keyPrefix: store?.redis?.key_prefix ?? DEFAULT_REDIS_KEY_PREFIX },
    leaseMs: (store?.lease_seconds ?? DEFAULT_LEASE_SECONDS) * 1000,
  };
}

/** `GENERATOR_HOST` and `GENERATOR_PORT`, checked by the same rules as the file's keys. */
const generatorAddressSchema = section(
  {
    host: hostName('The generator\'s host.', '127.0.0.1'),
    port: integerIn(1, 65535, 'The generator\'s port.'),
  },
  'GENERATOR_HOST and GENERATOR_PORT.',
);

/**
 * The generator's URL. `GENERATOR_URL` (already laid over the file) wins whole; otherwise
 * `GENERATOR_HOST` and `GENERATOR_PORT` replace only the host and the port of the configured URL,
 * keeping its scheme and path (the seed's server built its URL from those two alone).
 */
function resolveGeneratorUrl(env: NodeJS.ProcessEnv, configured: string): URL {
  const url = new URL(configured);
  if (env['GENERATOR_URL'] !== undefined && env['GENERATOR_URL'] !== '') return url;
  const overrides = environmentOverrides(env, [
    { name: 'GENERATOR_HOST', key: 'host', kind: 'string' },
    { name: 'GENERATOR_PORT', key: 'port', kind: 'number' },
  ]);
  if (overrides.length === 0) return url;
  const address = validateConfig(generatorAddressSchema, {}, { file: 'environment', overrides });
  if (address.host !== undefined) url.hostname = address.host.includes(':') && !address.host.startsWith('[') ? `[${address.host}]` : address.host;
  if (address.port !== undefined) url.port = String(address.port);
  return url;
}

/** The canonical format name from a validated value (the schema took it in upper or lower case). */
function ingestionFormat(text: string | undefined): IngestionFormat {
  const lower = (text ?? DEFAULT_INGESTION_FORMAT).toLowerCase();
  return INGESTION_FORMATS.find((f) => f === lower) ?? DEFAULT_INGESTION_FORMAT;
}

/** The generator URL + `/stream?delta=1`: where the generator serves its event stream by default. */
function derivedStreamUrl(generatorUrl: URL): URL {
  const derived = new URL(generatorUrl.href);
  derived.pathname = `${derived.pathname.replace(/\/$/, '')}/stream`;
  derived.search = '?delta=1';
  return derived;
}
