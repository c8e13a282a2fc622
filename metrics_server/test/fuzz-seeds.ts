/**
 * Seeds for the fuzz tests: each property runs with its fixed seed (the runs CI has always made, so a
 * failure there is reproducible as is) and then with a seed drawn for this run, so every run explores
 * new inputs. A failure with the drawn seed names it; `FUZZ_SEED=<seed>` replays that run.
 */
import { randomInt } from 'node:crypto';

/** The seed of this run's varying pass: FUZZ_SEED when set (to replay a failure), else a fresh one. */
export function runSeed(env: NodeJS.ProcessEnv = process.env): number {
  const given = env['FUZZ_SEED'];
  if (given === undefined || given === '') return randomInt(-(2 ** 31), 2 ** 31);
  const seed = Number(given);
  if (!Number.isInteger(seed)) throw new Error(`FUZZ_SEED must be an integer (got ${JSON.stringify(given)})`);
  return seed;
}

/** Runs `check` with `fixedSeed`, then with this run's seed; a failure of the second says how to replay it. */
export async function withFuzzSeeds(fixedSeed: number, check: (seed: number) => void | Promise<void>): Promise<void> {
  await check(fixedSeed);
  const seed = runSeed();
  try {
    await check(seed);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new Error(`failed with this run's fuzz seed ${seed} (replay: FUZZ_SEED=${seed}): ${message}`, { cause: err });
  }
}
