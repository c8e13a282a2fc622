/**
 * The generator's configuration: `telemetry_generator/config/config.json` (or `GENERATOR_CONFIG`,
 * or `--config`), with environment variables laid over it and command-line options over those, all
 * validated by one JSON Schema (config-schema.ts). A missing file means all defaults; anything
 * invalid is a ConfigError naming the file (or variable, or option) and the key, so the service
 * refuses to start rather than run with a guess.
 */
import { join, resolve } from 'node:path';
import { ConfigError, preview, projectRoot, readJsonConfigFile } from '../../common/config-file.js';
import { environmentOverrides, validateConfig, type CommandLineSettings } from '../../common/config-schema.js';
import { resolveLogging } from '../../common/logging-config.js';
import type { LogFormat, LogLevel } from '../../common/logger.js';
import { METRIC_NAMES, isMetricName, type MetricName } from '../../common/telemetry-schema.js';
import { DEFAULT_HOST, DEFAULT_PORT, DEFAULT_STREAM, DEFAULT_SWITCH_COUNT, DEFAULT_UPDATE_INTERVAL_SECONDS, GENERATOR_ENV_BINDINGS, generatorFileSchema, type GeneratorFile } from './config-schema.js';


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

/** The seed's config path, relative to the project. */
export const DEFAULT_CONFIG_RELATIVE_PATH = 'telemetry_generator/config/config.json';
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

/** Where the config file is: `--config`, else `GENERATOR_CONFIG`, else the project's own file (never cwd). */
export function configPath(env: NodeJS.ProcessEnv, cli: CommandLineSettings = {}): string {
  if (cli.configPath !== undefined) return resolve(cli.configPath);
  const override = env['GENERATOR_CONFIG'];
  return override !== undefined && override !== '' ? override : join(projectRoot(), DEFAULT_CONFIG_RELATIVE_PATH);
}

/** Reads the file, lays the environment and the command line over it, validates. Throws ConfigError for anything invalid. */
export function loadGeneratorConfig(env: NodeJS.ProcessEnv = process.env, cli: CommandLineSettings = {}): GeneratorConfig {
  const path = configPath(env, cli);
  const file = readJsonConfigFile(path);
  const overrides = [...environmentOverrides(env, GENERATOR_ENV_BINDINGS), ...(cli.overrides ?? [])];
  const validated = validateConfig(generatorFileSchema, file.found ? file.value : {}, { file: path, overrides });
  return {
    ...settingsFrom(path, validated),
    path,
    fileFound: file.found,
    host: validated.http?.host ?? DEFAULT_HOST,
    port: validated.http?.port ?? DEFAULT_PORT,
  };
}

/** What the config file sets (the rest comes from the environment). */
export type FileSettings = Omit<GeneratorConfig, 'path' | 'fileFound' | 'host' | 'port'>;

/** Validates a parsed config object. `file` only names the source in error messages. */
export function parseGeneratorConfig(file: string, root: Readonly<Record<string, unknown>>): FileSettings {
  return settingsFrom(file, validateConfig(generatorFileSchema, root, { file, overrides: [] }));
}

/** Defaults for what the file left out, and the rules one schema cannot state (a minimum not above its maximum). */
function settingsFrom(file: string, v: GeneratorFile): FileSettings {
  return {
    switchCount: v.switches?.count ?? DEFAULT_SWITCH_COUNT,
    metrics: v.metrics === undefined ? [...METRIC_NAMES] : v.metrics.filter(isMetricName),
    updateIntervalSeconds: v.update_interval_seconds ?? DEFAULT_UPDATE_INTERVAL_SECONDS,
    seed: v.seed,
    simulation: simulationFrom(file, v.simulation ?? {}),
    logging: resolveLogging(v.logging),
    stream: {
      replayTicks: v.stream?.replay_ticks ?? DEFAULT_STREAM.replayTicks,
      replayMaxBytes: v.stream?.replay_max_bytes ?? DEFAULT_STREAM.replayMaxBytes,
      maxClients: v.stream?.max_clients ?? DEFAULT_STREAM.maxClients,
      maxBufferedBytes: v.stream?.max_buffered_bytes,
      keepAliveMs: (v.stream?.keep_alive_seconds ?? DEFAULT_STREAM.keepAliveSeconds) * 1000,
    },
  };
}

function simulationFrom(file: string, s: NonNullable<GeneratorFile['simulation']>): SimulationConfig {
  const d = DEFAULT_SIMULATION;
  const ordered = (minKey: string, min: number, maxKey: string, max: number): void => {
    if (max < min) throw new ConfigError(`${file}: "simulation.${maxKey}" must be at least simulation.${minKey} (${min}) (got ${preview(max)})`);
  };
  const simulation: SimulationConfig = {
    linkCapacitiesMbps: s.link_capacities_mbps ?? d.linkCapacitiesMbps,
    meanUtilizationMin: s.mean_utilization_min ?? d.meanUtilizationMin,
    meanUtilizationMax: s.mean_utilization_max ?? d.meanUtilizationMax,
    // 0 would freeze utilization at its first value forever (the schema excludes it); 1 makes it white noise.
    meanReversion: s.mean_reversion ?? d.meanReversion,
    volatility: s.volatility ?? d.volatility,
    baseLatencyMs: s.base_latency_ms ?? d.baseLatencyMs,
    latencySpikeProbability: s.latency_spike_probability ?? d.latencySpikeProbability,
    latencySpikeFactor: s.latency_spike_factor ?? d.latencySpikeFactor,
    txQueueMaxPackets: s.tx_queue_max_packets ?? d.txQueueMaxPackets,
    errorBurstProbability: s.error_burst_probability ?? d.errorBurstProbability,
    errorBurstMinIntervals: s.error_burst_min_intervals ?? d.errorBurstMinIntervals,
    errorBurstMaxIntervals: s.error_burst_max_intervals ?? d.errorBurstMaxIntervals,
    errorBurstMaxErrors: s.error_burst_max_errors ?? d.errorBurstMaxErrors,
    linkDownProbability: s.link_down_probability ?? d.linkDownProbability,
    linkDownMinIntervals: s.link_down_min_intervals ?? d.linkDownMinIntervals,
    linkDownMaxIntervals: s.link_down_max_intervals ?? d.linkDownMaxIntervals,
  };
  ordered('mean_utilization_min', simulation.meanUtilizationMin, 'mean_utilization_max', simulation.meanUtilizationMax);
  ordered('error_burst_min_intervals', simulation.errorBurstMinIntervals, 'error_burst_max_intervals', simulation.errorBurstMaxIntervals);
  ordered('link_down_min_intervals', simulation.linkDownMinIntervals, 'link_down_max_intervals', simulation.linkDownMaxIntervals);
  return simulation;
}
