/** The shapes of `npm run bench`'s results, shared by the run (run.ts) and the report (report.ts). */

/** One side of a throughput comparison, averaged over its runs. */
export interface Side {
  readonly requestsPerSecond: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly failures: number;
}

/** A throughput comparison of the server (or a reference) against its bare ceiling. */
export interface Comparison {
  readonly scenario: string;
  readonly switches: number;
  readonly bodyBytes: number;
  readonly connections: number;
  /** Pairs of back-to-back runs (one of each side), and the length of every run. */
  readonly pairs: number;
  readonly secondsPerRun: number;
  /** Means over all the side's runs (req/s, p50, p99), for display; max and failures over all. */
  readonly server: Side;
  readonly bare: Side;
  /** Server req/s over bare req/s of each pair, in run order; even indexes ran bare first. */
  readonly pairRatios: readonly number[];
  /** The median of `pairRatios`: the throughput ratio reported. */
  readonly ratio: number;
}

/** Ingestion under a poll every second: fetch→swap, event-loop delay, GetMetric latency against idle. */
export interface IngestionResult {
  readonly switches: number;
  readonly windowSeconds: number;
  readonly polls: number;
  readonly fetchToSwapMs: { readonly median: number; readonly max: number; readonly all: readonly number[] };
  readonly eventLoopDelayMs: { readonly max: number; readonly p99: number; readonly windows: number };
  readonly idleEventLoopDelayMs: { readonly max: number; readonly p99: number; readonly windows: number };
  readonly getMetricAtFixedRate: { readonly rate: number; readonly idle: Side; readonly ingesting: Side; readonly p99Factor: number };
  readonly bytes: number;
}

/** Everything measured at one fabric size. */
export interface SizeResult {
  readonly switches: number;
  readonly comparisons: Comparison[];
  ingestion?: IngestionResult;
  rss?: RssResult;
  metricsEndpoint?: string;
}

/** Resident memory sampled once per snapshot. */
export interface RssResult {
  readonly switches: number;
  readonly snapshots: number;
  readonly samplesMb: readonly number[];
  readonly firstMb: number;
  readonly lastMb: number;
  readonly maxMb: number;
  /** Mean of the last 10 samples over the mean of samples 6-15 (after warm-up). */
  readonly growth: number;
}
