/**
 * The metrics server's configuration file, as one JSON Schema: every key, its range and its
 * default. `config.ts` validates the file (with the environment and the command line laid over it)
 * against this; `metrics_server/config/config.schema.json` is this schema published for editors.
 */
import { Type, type Static } from '@sinclair/typebox';
import { choiceOf, flag, hostName, httpUrl, integerIn, numberIn, redisUrl, section, textMatching, type OverrideBinding } from '../../common/config-schema.js';
import { LOGGING_ENV_BINDINGS, loggingSection } from '../../common/logging-config.js';
import { STREAM_COMPRESSIONS } from './http/telemetry-stream.js';
import { INGESTION_FORMATS, type IngestionFormat } from './sources/poll-source.js';

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
/**
 * What polls and the push stream ask the generator for (SPEC, `ingestion.format`). `npm run bench:arrow` shows Arrow
 * cheaper end to end at 100,000 switches (fetch→swap about 3x shorter, the worker's parse about 10x
 * cheaper; README, "Binary transport"), so polls ask for Arrow; `auto` rather than `arrow` so that an
 * upstream that only speaks CSV (an older generator, the seed's Python one) still works. On the push
 * stream `auto` means CSV events: Arrow events measured about twice as slow there (push-source.ts).
 */
export const DEFAULT_INGESTION_FORMAT: IngestionFormat = 'auto';
/** How the server gets its data: polling `/counters`, or subscribing to `/counters/stream`. */
export const INGESTION_MODES = ['poll', 'push'] as const;
/** One of INGESTION_MODES. */
export type IngestionMode = (typeof INGESTION_MODES)[number];
/** Most `/telemetry/stream` clients at once (SPEC). */
export const DEFAULT_STREAM_MAX_CLIENTS = 1000;
/** Seconds between keep-alive comments on an idle stream. */
export const DEFAULT_STREAM_KEEP_ALIVE_SECONDS = 15;
/** How long the history keeps samples: one hour. */
export const DEFAULT_HISTORY_RETENTION_SECONDS = 3600;
/** The history's memory limit: 512 MiB. */
export const DEFAULT_HISTORY_MAX_MEMORY_BYTES = 512 * 1024 * 1024;
/** Where the history is checkpointed, relative to the project. */
export const DEFAULT_HISTORY_CHECKPOINT_PATH = 'var/history.bin';
/** Seconds between checkpoints. */
export const DEFAULT_HISTORY_CHECKPOINT_INTERVAL_SECONDS = 300;
/** Longest query string accepted (414 beyond). */
export const DEFAULT_MAX_QUERY_BYTES = 2048;
/** Largest request head accepted (431 beyond). */
export const DEFAULT_MAX_HEADER_BYTES = 16 * 1024;
/** A request must arrive whole within this (408 beyond). */
export const DEFAULT_REQUEST_TIMEOUT_SECONDS = 10;
/** Idle keep-alive connections close after this. */
export const DEFAULT_KEEP_ALIVE_TIMEOUT_SECONDS = 5;

/** Where snapshots live: this process only, or Redis shared by every instance. */
export const STORE_KINDS = ['memory', 'redis'] as const;
/** SPEC's Redis address. */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379/0';
/** SPEC's key prefix. */
export const DEFAULT_REDIS_KEY_PREFIX = 'fabric:';
/** SPEC's lease. */
export const DEFAULT_LEASE_SECONDS = 5;

/** The schema of `metrics_server/config/config.json`. */
export const metricsServerFileSchema = section(
  {
    $schema: Type.String({ description: 'Where editors find this schema; ignored by the server.' }),
    logging: loggingSection,
    ingestion: section(
      {
        generator_url: httpUrl('The generator\'s /counters URL. GENERATOR_URL overrides; GENERATOR_HOST and GENERATOR_PORT change only its host and port.', DEFAULT_GENERATOR_URL),
        poll_interval_seconds: numberIn(0.05, 86400, 'Seconds between polls; fractions allowed.', DEFAULT_POLL_INTERVAL_SECONDS),
        fetch_timeout_seconds: numberIn(0.01, 3600, 'Deadline of one whole fetch, in seconds.', DEFAULT_FETCH_TIMEOUT_SECONDS),
        max_body_bytes: integerIn(1024, 2 ** 31 - 1, 'Largest generator body accepted; a larger one fails the poll.', DEFAULT_MAX_BODY_BYTES),
        mode: choiceOf(INGESTION_MODES, 'poll: fetch /counters every interval; push: follow the generator\'s event stream, polling while it is down.', 'poll'),
        stream_url: httpUrl('The generator\'s event stream, for push mode. Default: the generator URL + /stream?delta=1. Its format parameter is set as ingestion.format says (format=arrow for arrow only).', 'http://127.0.0.1:9001/counters/stream?delta=1'),
        format: choiceOf(INGESTION_FORMATS, 'What polls and the push stream ask for: csv, arrow (Apache Arrow IPC; a CSV answer or CSV events fail), or auto (polls ask for Arrow and accept CSV; the push stream asks for CSV events, which measured faster).', DEFAULT_INGESTION_FORMAT),
      },
      'Where and how often the generator is polled.',
    ),
    readiness: section(
      {
        max_age_seconds: numberIn(0.1, 7 * 86400, '/readyz fails when the data was last confirmed current longer ago than this. Default: 3 poll intervals plus the fetch timeout.', 17),
      },
      'The readiness rule.',
    ),
    http: section(
      {
        host: hostName('Address to listen on. METRICS_SERVER_HOST and --host override.', DEFAULT_HOST),
        port: integerIn(0, 65535, 'Port to listen on (0 picks a free one). METRICS_SERVER_PORT and --port override.', DEFAULT_PORT),
        max_query_bytes: integerIn(64, 65536, 'Longest query string accepted; longer gets 414.', DEFAULT_MAX_QUERY_BYTES),
        max_header_bytes: integerIn(1024, 1024 * 1024, 'Largest request head accepted; larger gets 431.', DEFAULT_MAX_HEADER_BYTES),
        request_timeout_seconds: numberIn(0.1, 3600, 'A request must arrive whole within this; slower gets 408.', DEFAULT_REQUEST_TIMEOUT_SECONDS),
        keep_alive_timeout_seconds: numberIn(0.1, 3600, 'Idle keep-alive connections close after this.', DEFAULT_KEEP_ALIVE_TIMEOUT_SECONDS),
        fast_read_path: flag('Answer plain GetMetric and ListMetrics successes before the framework (same bytes, less CPU).', true),
      },
      'The HTTP listener.',
    ),
    stream: section(
      {
        max_clients: integerIn(1, 1_000_000, 'Most /telemetry/stream clients at once; more get 503.', DEFAULT_STREAM_MAX_CLIENTS),
        max_buffered_bytes: integerIn(1024, 2 ** 40, 'Bytes a slow stream client may have queued before it is dropped. Default: twice the last unfiltered snapshot event, at least 1 MiB.'),
        keep_alive_seconds: numberIn(0.01, 3600, 'Seconds between keep-alive comments on an idle stream.', DEFAULT_STREAM_KEEP_ALIVE_SECONDS),
        compression: choiceOf(STREAM_COMPRESSIONS, 'deflate: a client whose Accept-Encoding takes deflate (every browser) gets the stream deflated, each event compressed once for all; off: never compressed.', 'deflate'),
      },
      'GET /telemetry/stream.',
    ),
    history: section(
      {
        enabled: flag('Keep a history of every snapshot (GetHistory, Aggregate, Top). Off: those endpoints answer 404.', true),
        retention_seconds: integerIn(60, 30 * 86400, 'How long samples are kept, counted back from the newest snapshot.', DEFAULT_HISTORY_RETENTION_SECONDS),
        max_memory_bytes: integerIn(1024 * 1024, 64 * 1024 ** 3, 'Memory the history may hold; beyond it the oldest samples go first.', DEFAULT_HISTORY_MAX_MEMORY_BYTES),
        checkpoint_path: Type.String({ description: 'Checkpoint file, relative to the project; "" turns checkpoints off.', default: DEFAULT_HISTORY_CHECKPOINT_PATH }),
        checkpoint_interval_seconds: numberIn(1, 86400, 'Seconds between checkpoints (one is also written on a graceful stop).', DEFAULT_HISTORY_CHECKPOINT_INTERVAL_SECONDS),
      },
      'History retention and its checkpoint.',
    ),
    store: section(
      {
        kind: choiceOf(STORE_KINDS, 'memory: this process alone. redis: every instance shares one Redis; one elected instance polls the generator and publishes, every instance serves its own copy. STORE_KIND overrides.', 'memory'),
        redis: section(
          {
            url: redisUrl('redis://[[user]:password@]host[:port][/db] (rediss:// for TLS). REDIS_URL overrides.', DEFAULT_REDIS_URL),
            key_prefix: textMatching('^[A-Za-z0-9_.:-]{1,64}$', '1 to 64 letters, digits or _ . : -', 'Prefix of every key and channel this cluster uses in Redis; instances with the same prefix form one cluster. REDIS_KEY_PREFIX overrides.', DEFAULT_REDIS_KEY_PREFIX),
          },
          'The Redis server (store.kind redis).',
        ),
        lease_seconds: numberIn(0.5, 3600, 'How long the ingesting instance\'s lease lasts without renewal (renewed every third of it); the failover time is about this. STORE_LEASE_SECONDS overrides.', DEFAULT_LEASE_SECONDS),
      },
      'Where snapshots are kept and shared.',
    ),
    prometheus: section(
      {
        fabric_series: flag('Export the fabric\'s values as fabric_switch_* series on /metrics.', true),
      },
      'The /metrics exposition.',
    ),
  },
  'Configuration of the fabric telemetry metrics server.',
);

/** A validated file (every key optional; defaults are applied by config.ts). */
export type MetricsServerFile = Static<typeof metricsServerFileSchema>;

/** Environment variables and the keys they override (GENERATOR_* are resolved on the URL, config.ts). */
export const METRICS_SERVER_ENV_BINDINGS: readonly OverrideBinding[] = [
  ...LOGGING_ENV_BINDINGS,
  { name: 'POLL_INTERVAL_SECONDS', key: 'ingestion.poll_interval_seconds', kind: 'number' },
  { name: 'FETCH_TIMEOUT_SECONDS', key: 'ingestion.fetch_timeout_seconds', kind: 'number' },
  { name: 'MAX_BODY_BYTES', key: 'ingestion.max_body_bytes', kind: 'number' },
  { name: 'INGESTION_FORMAT', key: 'ingestion.format', kind: 'string' },
  { name: 'INGESTION_MODE', key: 'ingestion.mode', kind: 'string' },
  { name: 'STREAM_URL', key: 'ingestion.stream_url', kind: 'string' },
  { name: 'GENERATOR_URL', key: 'ingestion.generator_url', kind: 'string' },
  { name: 'METRICS_SERVER_HOST', key: 'http.host', kind: 'string' },
  { name: 'METRICS_SERVER_PORT', key: 'http.port', kind: 'number' },
  // Several instances on one host (npm run cluster) each need their own checkpoint file.
  { name: 'HISTORY_CHECKPOINT_PATH', key: 'history.checkpoint_path', kind: 'string' },
  { name: 'STORE_KIND', key: 'store.kind', kind: 'string' },
  { name: 'REDIS_URL', key: 'store.redis.url', kind: 'string' },
  { name: 'REDIS_KEY_PREFIX', key: 'store.redis.key_prefix', kind: 'string' },
  { name: 'STORE_LEASE_SECONDS', key: 'store.lease_seconds', kind: 'number' },
];

/** Command-line options that override a key (`--host`, `--port`). */
export const METRICS_SERVER_OPTION_BINDINGS: readonly OverrideBinding[] = [
  { name: 'host', key: 'http.host', kind: 'string' },
  { name: 'port', key: 'http.port', kind: 'number' },
];
