/** The knobs and goals of `npm run bench`, and where the built project lives. */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';


export interface Settings {
  readonly quick: boolean;
  readonly sizes: readonly number[];
  readonly secondsPerRound: number;
  readonly rounds: number;
  /** Length of the ingestion window, with polls every second. */
  readonly windowSeconds: number;
  /** Snapshots to watch resident memory over, at the largest size. */
  readonly rssSnapshots: number;
  /** Fixed request rate for the latency-under-ingestion comparison. */
  readonly fixedRate: number;
  readonly samples: number;
}

export const FULL: Settings = { quick: false, sizes: [4, 1_000, 10_000, 100_000], secondsPerRound: 3, rounds: 2, windowSeconds: 10, rssSnapshots: 50, fixedRate: 1000, samples: 7 };
export const QUICK: Settings = { quick: true, sizes: [1_000, 100_000], secondsPerRound: 1.5, rounds: 1, windowSeconds: 6, rssSnapshots: 10, fixedRate: 1000, samples: 3 };

export const GOAL_RATIO = 0.8;
export const GOAL_INGEST_MS = 300;
export const GOAL_LOOP_MAX_MS = 20;
export const GOAL_P99_FACTOR = 2;
export const GOAL_RSS_MB = 250;
export const SEED = 20240101;

export const here = fileURLToPath(new URL('.', import.meta.url));
export const root = join(here, '..', '..');
export const dist = join(root, 'dist');
