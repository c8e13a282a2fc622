/**
 * The generator's configuration file, as one JSON Schema: every key, its range and its default.
 * `config.ts` validates the file (with the environment and the command line laid over it) against
 * this; `telemetry_generator/config/config.schema.json` is this schema published for editors.
 */
import { Type, type Static } from '@sinclair/typebox';
import { hostName, integerIn, numberIn, section, type OverrideBinding } from '../../common/config-schema.js';
import { LOGGING_ENV_BINDINGS, loggingSection } from '../../common/logging-config.js';
import { METRIC_NAMES } from '../../common/telemetry-schema.js';
import { MAX_SEED } from './prng.js';

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

/** Stream defaults (SPEC "Streams"). */
export const DEFAULT_STREAM = Object.freeze({ replayTicks: 60, replayMaxBytes: 64 * 1024 * 1024, maxClients: 100, keepAliveSeconds: 15 });

const probability = (description: string, fallback: number): ReturnType<typeof numberIn> => numberIn(0, 1, `${description} Per switch per interval, from 0 to 1.`, fallback);
const intervals = (description: string, fallback: number): ReturnType<typeof integerIn> => integerIn(1, 1_000_000, `${description} In update intervals.`, fallback);

/** The schema of `telemetry_generator/config/config.json`. */
export const generatorFileSchema = section(
  {
    $schema: Type.String({ description: 'Where editors find this schema; ignored by the generator.' }),
    switches: section({ count: integerIn(MIN_SWITCH_COUNT, MAX_SWITCH_COUNT, 'Switches simulated: sw1 … swN.', DEFAULT_SWITCH_COUNT) }, 'The simulated fabric\'s size.'),
    metrics: Type.Array(Type.Unsafe<string>({ type: 'string', enum: [...METRIC_NAMES] }), {
      minItems: 1,
      uniqueItems: true,
      description: 'metric names',
      default: [...METRIC_NAMES],
    }),
    update_interval_seconds: numberIn(0, MAX_UPDATE_INTERVAL_SECONDS, 'Seconds between ticks; fractions allowed.', DEFAULT_UPDATE_INTERVAL_SECONDS, true),
    seed: integerIn(0, MAX_SEED, 'Fixes the simulation; absent means a random seed, logged at start.'),
    http: section(
      {
        host: hostName('Address to listen on. GENERATOR_HOST and --host override.', DEFAULT_HOST),
        port: integerIn(0, 65535, 'Port to listen on (0 picks a free one). GENERATOR_PORT and --port override.', DEFAULT_PORT),
      },
      'The HTTP listener.',
    ),
    simulation: section(
      {
        link_capacities_mbps: Type.Array(integerIn(1, MAX_LINK_CAPACITY_MBPS, 'A link speed in Mb/s.'), { minItems: 1, description: 'link speeds in Mb/s' }),
        mean_utilization_min: numberIn(0, 1, 'Lowest long-run mean utilization of a switch, as a fraction of 1.', 0.1),
        mean_utilization_max: numberIn(0, 1, 'Highest long-run mean utilization of a switch, as a fraction of 1.', 0.7),
        mean_reversion: numberIn(0, 1, 'Share of the gap to the mean closed per interval.', 0.2, true),
        volatility: numberIn(0, 1, 'Standard deviation of utilization noise per interval, as a fraction of capacity.', 0.05),
        base_latency_ms: numberIn(0, 10_000, 'Latency of an idle link.', 0.5, true),
        latency_spike_probability: probability('Chance of a latency spike.', 0.01),
        latency_spike_factor: numberIn(1, 1000, 'A spike multiplies latency by about this.', 20),
        tx_queue_max_packets: integerIn(1, 1_000_000_000, 'Transmit buffer size.', 4096),
        error_burst_probability: probability('Chance an error burst starts.', 0.005),
        error_burst_min_intervals: intervals('Shortest error burst.', 2),
        error_burst_max_intervals: intervals('Longest error burst.', 6),
        error_burst_max_errors: integerIn(1, 1_000_000_000, 'Peak errors per interval of the strongest bursts.', 200),
        link_down_probability: probability('Chance a link goes down.', 0.001),
        link_down_min_intervals: intervals('Shortest outage.', 2),
        link_down_max_intervals: intervals('Longest outage.', 6),
      },
      'How the simulated fabric behaves.',
    ),
    logging: loggingSection,
    stream: section(
      {
        replay_ticks: integerIn(1, 100_000, 'Ticks kept for Last-Event-ID resumption.', DEFAULT_STREAM.replayTicks),
        replay_max_bytes: integerIn(0, 2 ** 40, 'Bytes of full CSVs the replay ring may hold.', DEFAULT_STREAM.replayMaxBytes),
        max_clients: integerIn(1, 1_000_000, 'Most /counters/stream clients at once; more get 503.', DEFAULT_STREAM.maxClients),
        max_buffered_bytes: integerIn(1024, 2 ** 40, 'Bytes a slow client may have queued before it is dropped. Default: twice the full CSV, at least 64 KiB.'),
        keep_alive_seconds: numberIn(0.01, 3600, 'Seconds between keep-alive comments on an idle stream.', DEFAULT_STREAM.keepAliveSeconds),
      },
      'GET /counters/stream.',
    ),
  },
  'Configuration of the fabric telemetry generator.',
);

/** A validated file (every key optional; defaults are applied by config.ts). */
export type GeneratorFile = Static<typeof generatorFileSchema>;

/** Environment variables and the keys they override. */
export const GENERATOR_ENV_BINDINGS: readonly OverrideBinding[] = [
  ...LOGGING_ENV_BINDINGS,
  { name: 'GENERATOR_HOST', key: 'http.host', kind: 'string' },
  { name: 'GENERATOR_PORT', key: 'http.port', kind: 'number' },
];

/** Command-line options that override a key. */
export const GENERATOR_OPTION_BINDINGS: readonly OverrideBinding[] = [
  { name: 'host', key: 'http.host', kind: 'string' },
  { name: 'port', key: 'http.port', kind: 'number' },
  { name: 'switches', key: 'switches.count', kind: 'number' },
  { name: 'interval', key: 'update_interval_seconds', kind: 'number' },
  { name: 'seed', key: 'seed', kind: 'number' },
];
