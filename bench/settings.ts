/** The knobs and goals of `npm run bench`, and where the built project lives. */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';


export interface Settings {
  readonly quick: boolean;
  readonly sizes: readonly number[];
  /**
   * Throughput comparisons: this many pairs of back-to-back runs (bare ceiling and server, the order
   * alternating pair to pair), each run this long; the ratio reported is the median of the pairs'.
   * Even, so each order gets the same number of pairs: with an odd count one order has a majority,
   * and the median then leans towards that order's pairs whenever running second helps or hurts.
   * FULL: 4 x 2.5 s per side, the same load time per comparison as 5 x 2 s.
   */
  readonly pairs: number;
  readonly secondsPerRun: number;
  /** Sizes that also get the "GetMetric, Fastify routes only (fast path off)" reference row. */
  readonly fastPathOffSizes: readonly number[];
  /** Length of the ingestion window, with polls every second. */
  readonly windowSeconds: number;
  /** Snapshots to watch resident memory over, at the largest size. */
  readonly rssSnapshots: number;
  /** Fixed request rate for the latency-under-ingestion comparison. */
  readonly fixedRate: number;
  readonly samples: number;
}

export const FULL: Settings = { quick: false, sizes: [4, 1_000, 10_000, 100_000], pairs: 4, secondsPerRun: 2.5, fastPathOffSizes: [1_000, 100_000], windowSeconds: 10, rssSnapshots: 50, fixedRate: 1000, samples: 7 };
export const QUICK: Settings = { quick: true, sizes: [1_000, 100_000], pairs: 4, secondsPerRun: 1.5, fastPathOffSizes: [1_000, 100_000], windowSeconds: 6, rssSnapshots: 10, fixedRate: 1000, samples: 3 };

export const GOAL_RATIO = 0.8;
export const GOAL_INGEST_MS = 300;
export const GOAL_LOOP_MAX_MS = 20;
export const GOAL_P99_FACTOR = 2;
export const GOAL_RSS_MB = 250;
export const SEED = 20240101;

/** Throughput scenarios of the metrics server, by name (the report keys its goal column on them). */
export const SCENARIO = {
  getMetric: 'GetMetric',
  getMetricFastPathOff: 'GetMetric, Fastify routes only (fast path off)',
  listMetrics: 'ListMetrics',
} as const;
/** The scenarios held to GOAL_RATIO, matched by exact name; every other comparison row is a reference. */
export const RATIO_GOAL_SCENARIOS: ReadonlySet<string> = new Set<string>([SCENARIO.getMetric, SCENARIO.listMetrics]);

export const here = fileURLToPath(new URL('.', import.meta.url));
export const root = join(here, '..', '..');
export const dist = join(root, 'dist');
/**
 * Where the services' built code is: this checkout's `dist/`, or `BENCH_SERVICE_DIST` to measure
 * another version's build with this version's harness (the read-path profile's before and after).
 */
export const serviceDist = process.env['BENCH_SERVICE_DIST'] ?? dist;
