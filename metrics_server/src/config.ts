/**
 * The metrics server's configuration: `metrics_server/config/config.json` (or
 * `METRICS_SERVER_CONFIG`, or `--config`), with environment variables laid over it and command-line
 * options over those, all validated by one JSON Schema (config-schema.ts). Every error names the
 * file, variable or option and the key, and stops start-up.
 */
import { resolve } from 'node:path';
import { projectRoot, readJsonConfigFile } from '../../common/config-file.js';
import { environmentOverrides, hostName, integerIn, section, validateConfig, type ConfigOverride } from '../../common/config-schema.js';
import { resolveLogging } from '../../common/logging-config.js';
import type { LogFormat, LogLevel } from '../../common/logger.js';
import {
  DEFAULT_FETCH_TIMEOUT_SECONDS,
  DEFAULT_GENERATOR_URL,
  DEFAULT_HOST,
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
  METRICS_SERVER_ENV_BINDINGS,
  metricsServerFileSchema,
} from './config-schema.js';

export {
  DEFAULT_FETCH_TIMEOUT_SECONDS,
  DEFAULT_GENERATOR_URL,
  DEFAULT_HOST,
  DEFAULT_KEEP_ALIVE_TIMEOUT_SECONDS,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_HEADER_BYTES,
  DEFAULT_MAX_QUERY_BYTES,
  DEFAULT_POLL_INTERVAL_SECONDS,
  DEFAULT_PORT,
  DEFAULT_REQUEST_TIMEOUT_SECONDS,
} from './config-schema.js';


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

/** What the command line adds: another file, and overrides that win over the environment. */
export interface CommandLineSettings {
  readonly configPath?: string;
  readonly overrides?: readonly ConfigOverride[];
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

  return {
    missingFile: file.found ? undefined : path,
    config: {
      source: file.found ? path : `${path} (missing: defaults)`,
      host: http.host ?? DEFAULT_HOST,
      port: http.port ?? DEFAULT_PORT,
      logging: resolveLogging(v.logging),
      ingestion: { generatorUrl, pollIntervalMs: pollSeconds * 1000, fetchTimeoutMs: timeoutSeconds * 1000, maxBodyBytes: v.ingestion?.max_body_bytes ?? DEFAULT_MAX_BODY_BYTES },
      readiness: { maxAgeMs: maxAgeSeconds * 1000 },
      http: {
        maxQueryBytes: http.max_query_bytes ?? DEFAULT_MAX_QUERY_BYTES,
        maxHeaderBytes: http.max_header_bytes ?? DEFAULT_MAX_HEADER_BYTES,
        requestTimeoutMs: (http.request_timeout_seconds ?? DEFAULT_REQUEST_TIMEOUT_SECONDS) * 1000,
        keepAliveTimeoutMs: (http.keep_alive_timeout_seconds ?? DEFAULT_KEEP_ALIVE_TIMEOUT_SECONDS) * 1000,
        fastReadPath: http.fast_read_path ?? true,
      },
      prometheus: { fabricSeries: v.prometheus?.fabric_series ?? true },
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
