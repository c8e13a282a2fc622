/**
 * The generator's configuration: `telemetry_generator/config/config.json` (or `GENERATOR_CONFIG`),
 * plus `GENERATOR_HOST` / `GENERATOR_PORT`. Every key has a named default; a missing file means all
 * defaults, and any present but invalid value is a ConfigError naming the file and the key, so the
 * service refuses to start rather than run with a guess.
 */
import { join } from 'node:path';
import { ConfigError, ConfigReader, envNumber, projectRoot, readJsonConfigFile, preview } from '../../common/config-file.js';
import { LOG_FORMATS, LOG_LEVELS, parseLogLevel, type LogFormat, type LogLevel } from '../../common/logger.js';
import { METRIC_NAMES, isMetricName, type MetricName } from '../../common/telemetry-schema.js';
import { MAX_SEED } from './prng.js';

/** The knobs behind the simulated fabric's behaviour. Probabilities are per switch per interval. */
export interface SimulationConfig {
  /** Link speeds in Mb/s; each switch gets one, drawn uniformly from this list (repeat to weight). */
  readonly linkCapacitiesMbps: readonly number[];
  /** Each switch's long-run mean utilization is drawn uniformly from [min, max] (fractions of 1). */
  readonly meanUtilizationMin: number;
  readonly meanUtilizationMax: number;
  /** Share of the gap to the switch's mean closed per interval (the Ornstein-Uhlenbeck theta). */
  readonly meanReversion: number;
  /** Standard deviation of the per-interval utilization noise, as a fraction of capacity. */
  readonly volatility: number;
  /** Latency of an idle link; it grows like a queue's sojourn time, base / (1 - utilization). */
  readonly baseLatencyMs: number;
  readonly latencySpikeProbability: number;
  /** A spike multiplies the latency by about this factor (±25 %). */
  readonly latencySpikeFactor: number;
  /** Transmit buffer size: tx_queue_depth never exceeds it. */
  readonly txQueueMaxPackets: number;
  readonly errorBurstProbability: number;
  readonly errorBurstMinIntervals: number;
  readonly errorBurstMaxIntervals: number;
  /** Peak errors per interval of the strongest bursts; each burst draws its intensity up to this. */
  readonly errorBurstMaxErrors: number;
  readonly linkDownProbability: number;
  readonly linkDownMinIntervals: number;
  readonly linkDownMaxIntervals: number;
}

/** The generator's whole configuration, after defaults and environment overrides. */
export interface GeneratorConfig {
  /** The config file that was read, or would have been read if it existed. */
  readonly path: string;
  readonly fileFound: boolean;
  readonly host: string;
  readonly port: number;
  readonly switchCount: number;
  readonly metrics: readonly MetricName[];
  readonly updateIntervalSeconds: number;
  /** Undefined when the file sets none: the service then picks a random seed and logs it. */
  readonly seed: number | undefined;
  readonly simulation: SimulationConfig;
  readonly logging: { readonly level: LogLevel; readonly format: LogFormat };
  readonly stream: StreamConfig;
}

/** `GET /counters/stream` settings (config `stream.*`). */
export interface StreamConfig {
  /** Ticks kept for `Last-Event-ID` resumption. */
  readonly replayTicks: number;
  /** Bytes of full CSVs the replay ring may hold (full-mode resumption beyond them gets one `full`). */
  readonly replayMaxBytes: number;
  readonly maxClients: number;
  /** Undefined: twice the full CSV, at least 64 KiB. */
  readonly maxBufferedBytes: number | undefined;
  readonly keepAliveMs: number;
}

/** Stream defaults (SPEC "Streams"). */
export const DEFAULT_STREAM = Object.freeze({ replayTicks: 60, replayMaxBytes: 64 * 1024 * 1024, maxClients: 100, keepAliveSeconds: 15 });

/** The seed's config path, relative to the project. */
export const DEFAULT_CONFIG_RELATIVE_PATH = 'telemetry_generator/config/config.json';
/** Loopback only unless told otherwise. */
export const DEFAULT_HOST = '127.0.0.1';
/** The seed's port. */
export const DEFAULT_PORT = 9001;
/** Switches when the file says nothing. */
export const DEFAULT_SWITCH_COUNT = 4;
/** The fewest switches accepted. */
export const MIN_SWITCH_COUNT = 1;
/** The most switches accepted. */
export const MAX_SWITCH_COUNT = 1_000_000;
/** Seconds between ticks. */
export const DEFAULT_UPDATE_INTERVAL_SECONDS = 10;
/** One day: longer intervals are almost certainly a unit mistake (milliseconds for seconds). */
export const MAX_UPDATE_INTERVAL_SECONDS = 86_400;
/** Highest link speed accepted: 1.6 Tb/s, the fastest Ethernet port shipping today. */
export const MAX_LINK_CAPACITY_MBPS = 1_600_000;

/** The simulation knobs' defaults (README: Configuration). */
export const DEFAULT_SIMULATION: SimulationConfig = Object.freeze({
  linkCapacitiesMbps: Object.freeze([10_000, 25_000, 40_000, 100_000]),
  meanUtilizationMin: 0.1,
  meanUtilizationMax: 0.7,
  meanReversion: 0.2,
  volatility: 0.05,
  baseLatencyMs: 0.5,
  latencySpikeProbability: 0.01,
  latencySpikeFactor: 20,
  txQueueMaxPackets: 4096,
  errorBurstProbability: 0.005,
  errorBurstMinIntervals: 2,
  errorBurstMaxIntervals: 6,
  errorBurstMaxErrors: 200,
  linkDownProbability: 0.001,
  linkDownMinIntervals: 2,
  linkDownMaxIntervals: 6,
});

const TOP_LEVEL_KEYS = ['switches', 'metrics', 'update_interval_seconds', 'seed', 'simulation', 'logging', 'stream'];
const STREAM_KEYS = ['replay_ticks', 'replay_max_bytes', 'max_clients', 'max_buffered_bytes', 'keep_alive_seconds'];
const SIMULATION_KEYS = [
  'link_capacities_mbps',
  'mean_utilization_min',
  'mean_utilization_max',
  'mean_reversion',
  'volatility',
  'base_latency_ms',
  'latency_spike_probability',
  'latency_spike_factor',
  'tx_queue_max_packets',
  'error_burst_probability',
  'error_burst_min_intervals',
  'error_burst_max_intervals',
  'error_burst_max_errors',
  'link_down_probability',
  'link_down_min_intervals',
  'link_down_max_intervals',
];

/** Where the config file is: `GENERATOR_CONFIG` if set, else the project's own file (never cwd). */
export function configPath(env: NodeJS.ProcessEnv): string {
  const override = env['GENERATOR_CONFIG'];
  return override !== undefined && override !== '' ? override : join(projectRoot(), DEFAULT_CONFIG_RELATIVE_PATH);
}

/** Reads the file and the environment. Throws ConfigError for anything invalid. */
export function loadGeneratorConfig(env: NodeJS.ProcessEnv = process.env): GeneratorConfig {
  const path = configPath(env);
  const file = readJsonConfigFile(path);
  const values = parseGeneratorConfig(path, file.found ? file.value : {});
  const host = env['GENERATOR_HOST'];
  if (host !== undefined && host.trim() !== host) {
    throw new ConfigError(`environment variable GENERATOR_HOST must not contain spaces (got ${preview(host)})`);
  }
  return {
    ...values,
    path,
    fileFound: file.found,
    host: host !== undefined && host !== '' ? host : DEFAULT_HOST,
    port: envNumber('GENERATOR_PORT', env, 0, 65535, true) ?? DEFAULT_PORT,
  };
}

/** What the config file sets (the rest comes from the environment). */
export type FileSettings = Omit<GeneratorConfig, 'path' | 'fileFound' | 'host' | 'port'>;

/** Validates a parsed config object. `file` only names the source in error messages. */
export function parseGeneratorConfig(file: string, root: Readonly<Record<string, unknown>>): FileSettings {
  const reader = new ConfigReader(file, root);
  reader.onlyKeys('', TOP_LEVEL_KEYS);
  reader.onlyKeys('switches', ['count']);
  reader.onlyKeys('simulation', SIMULATION_KEYS);
  reader.onlyKeys('logging', ['level', 'format']);
  reader.onlyKeys('stream', STREAM_KEYS);

  const interval = reader.number('update_interval_seconds', DEFAULT_UPDATE_INTERVAL_SECONDS, 0, MAX_UPDATE_INTERVAL_SECONDS);
  if (interval <= 0) reader.fail('update_interval_seconds', `must be a number greater than 0 and at most ${MAX_UPDATE_INTERVAL_SECONDS}`, interval);

  return {
    switchCount: reader.number('switches.count', DEFAULT_SWITCH_COUNT, MIN_SWITCH_COUNT, MAX_SWITCH_COUNT, true),
    metrics: readMetrics(reader),
    updateIntervalSeconds: interval,
    seed: reader.optionalInteger('seed', 0, MAX_SEED),
    simulation: readSimulation(reader),
    logging: {
      level: reader.oneOf('logging.level', 'INFO', LOG_LEVELS, parseLogLevel),
      format: reader.oneOf('logging.format', 'text', LOG_FORMATS),
    },
    stream: {
      replayTicks: reader.number('stream.replay_ticks', DEFAULT_STREAM.replayTicks, 1, 100_000, true),
      replayMaxBytes: reader.number('stream.replay_max_bytes', DEFAULT_STREAM.replayMaxBytes, 0, 2 ** 40, true),
      maxClients: reader.number('stream.max_clients', DEFAULT_STREAM.maxClients, 1, 1_000_000, true),
      maxBufferedBytes: reader.raw('stream.max_buffered_bytes') === undefined ? undefined : reader.number('stream.max_buffered_bytes', 0, 1024, 2 ** 40, true),
      keepAliveMs: reader.number('stream.keep_alive_seconds', DEFAULT_STREAM.keepAliveSeconds, 0.01, 3600) * 1000,
    },
  };
}

function readMetrics(reader: ConfigReader): MetricName[] {
  const value = reader.raw('metrics');
  if (value === undefined) return [...METRIC_NAMES];
  if (!Array.isArray(value) || value.length === 0) reader.fail('metrics', 'must be a non-empty array of metric names', value);
  const metrics: MetricName[] = [];
  value.forEach((name: unknown, index: number) => {
    const key = `metrics[${index}]`;
    if (typeof name !== 'string' || !isMetricName(name)) reader.fail(key, `must be one of ${METRIC_NAMES.join(', ')}`, name);
    if (metrics.includes(name)) reader.fail(key, 'repeats a metric already listed', name);
    metrics.push(name);
  });
  return metrics;
}

function readSimulation(reader: ConfigReader): SimulationConfig {
  const d = DEFAULT_SIMULATION;
  const probability = (key: string, fallback: number): number => reader.number(`simulation.${key}`, fallback, 0, 1);
  const intervals = (key: string, fallback: number): number => reader.number(`simulation.${key}`, fallback, 1, 1_000_000, true);

  const meanUtilizationMin = reader.number('simulation.mean_utilization_min', d.meanUtilizationMin, 0, 1);
  const meanUtilizationMax = reader.number('simulation.mean_utilization_max', d.meanUtilizationMax, 0, 1);
  if (meanUtilizationMax < meanUtilizationMin) {
    reader.fail('simulation.mean_utilization_max', `must be at least simulation.mean_utilization_min (${meanUtilizationMin})`, meanUtilizationMax);
  }
  const errorBurstMinIntervals = intervals('error_burst_min_intervals', d.errorBurstMinIntervals);
  const errorBurstMaxIntervals = intervals('error_burst_max_intervals', d.errorBurstMaxIntervals);
  if (errorBurstMaxIntervals < errorBurstMinIntervals) {
    reader.fail('simulation.error_burst_max_intervals', `must be at least simulation.error_burst_min_intervals (${errorBurstMinIntervals})`, errorBurstMaxIntervals);
  }
  const linkDownMinIntervals = intervals('link_down_min_intervals', d.linkDownMinIntervals);
  const linkDownMaxIntervals = intervals('link_down_max_intervals', d.linkDownMaxIntervals);
  if (linkDownMaxIntervals < linkDownMinIntervals) {
    reader.fail('simulation.link_down_max_intervals', `must be at least simulation.link_down_min_intervals (${linkDownMinIntervals})`, linkDownMaxIntervals);
  }

  return {
    linkCapacitiesMbps: readCapacities(reader),
    meanUtilizationMin,
    meanUtilizationMax,
    // 0 would freeze utilization at its first value forever; 1 would make it white noise.
    meanReversion: positive(reader, 'simulation.mean_reversion', d.meanReversion, 1),
    volatility: reader.number('simulation.volatility', d.volatility, 0, 1),
    baseLatencyMs: positive(reader, 'simulation.base_latency_ms', d.baseLatencyMs, 10_000),
    latencySpikeProbability: probability('latency_spike_probability', d.latencySpikeProbability),
    latencySpikeFactor: reader.number('simulation.latency_spike_factor', d.latencySpikeFactor, 1, 1000),
    txQueueMaxPackets: reader.number('simulation.tx_queue_max_packets', d.txQueueMaxPackets, 1, 1_000_000_000, true),
    errorBurstProbability: probability('error_burst_probability', d.errorBurstProbability),
    errorBurstMinIntervals,
    errorBurstMaxIntervals,
    errorBurstMaxErrors: reader.number('simulation.error_burst_max_errors', d.errorBurstMaxErrors, 1, 1_000_000_000, true),
    linkDownProbability: probability('link_down_probability', d.linkDownProbability),
    linkDownMinIntervals,
    linkDownMaxIntervals,
  };
}

/** A number in (0, max]: ConfigReader's ranges are inclusive, so zero is excluded here. */
function positive(reader: ConfigReader, key: string, fallback: number, max: number): number {
  const value = reader.number(key, fallback, 0, max);
  if (value <= 0) reader.fail(key, `must be a number greater than 0 and at most ${max}`, value);
  return value;
}

function readCapacities(reader: ConfigReader): readonly number[] {
  const key = 'simulation.link_capacities_mbps';
  const value = reader.raw(key);
  if (value === undefined) return DEFAULT_SIMULATION.linkCapacitiesMbps;
  if (!Array.isArray(value) || value.length === 0) reader.fail(key, 'must be a non-empty array of link speeds in Mb/s', value);
  return value.map((speed: unknown, index: number) => {
    if (typeof speed !== 'number' || !Number.isInteger(speed) || speed < 1 || speed > MAX_LINK_CAPACITY_MBPS) {
      reader.fail(`${key}[${index}]`, `must be an integer from 1 to ${MAX_LINK_CAPACITY_MBPS}`, speed);
    }
    return speed;
  });
}
