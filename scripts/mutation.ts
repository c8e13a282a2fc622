/**
 * `npm run mutation [module ...]`: StrykerJS over the pure core, one module at a time, each with only
 * the test files that are about it (not in CI: a run takes minutes per module on two cores).
 *
 * Mutants run through the tap runner: every test file is a plain `node --import tsx <file>` run,
 * whose node:test TAP output Stryker reads, and with per-file coverage only the files that reach a
 * mutant run for it. Incremental mode keeps each module's results in reports/mutation/, so a rerun
 * tests only the mutants whose code or tests changed. Fuzz seeds are fixed (FUZZ_SEED) so two runs
 * of one module agree. Scores and surviving mutants are in the README's testing section.
 */
import { Stryker } from '@stryker-mutator/core';

type StrykerOptions = ConstructorParameters<typeof Stryker>[0];

/** A unit of the pure core: the sources mutated and the test files that hold them to account. */
interface MutationModule {
  readonly mutate: readonly string[];
  readonly tests: readonly string[];
}

/** The pure core, by name (the names `npm run mutation -- <name>` takes). */
const MODULES: Readonly<Record<string, MutationModule>> = {
  simulator: {
    mutate: ['telemetry_generator/src/simulator.ts'],
    tests: ['telemetry_generator/test/simulator.test.ts'],
  },
  prng: {
    mutate: ['telemetry_generator/src/prng.ts'],
    tests: ['telemetry_generator/test/prng.test.ts', 'telemetry_generator/test/simulator.test.ts'],
  },
  'csv-writer': {
    mutate: ['telemetry_generator/src/csv-writer.ts'],
    // change-tracker.test.ts renders the rows a stream's delta names (renderCsv's `rows`).
    tests: ['telemetry_generator/test/csv-writer.test.ts', 'telemetry_generator/test/simulator.test.ts', 'telemetry_generator/test/change-tracker.test.ts'],
  },
  'csv-header': {
    mutate: ['metrics_server/src/ingest/csv/header.ts'],
    tests: ['metrics_server/test/csv-parser.test.ts', 'metrics_server/test/perf-equivalence.test.ts'],
  },
  'csv-parser': {
    mutate: ['metrics_server/src/ingest/csv/parser.ts'],
    tests: ['metrics_server/test/csv-parser.test.ts', 'metrics_server/test/perf-equivalence.test.ts'],
  },
  snapshot: {
    // value-text.ts (number text, moved here from views/) is not in the measured set.
    mutate: ['metrics_server/src/snapshot/wire.ts', 'metrics_server/src/snapshot/switch-index.ts', 'metrics_server/src/snapshot/snapshot.ts', 'metrics_server/src/snapshot/columns.ts'],
    tests: ['metrics_server/test/snapshot-wire.test.ts', 'metrics_server/test/snapshot.mutation.test.ts', 'metrics_server/test/perf-equivalence.test.ts'],
  },
  'query-params': {
    mutate: ['metrics_server/src/http/query-params.ts'],
    tests: ['metrics_server/test/query-params.test.ts', 'metrics_server/test/api.test.ts'],
  },
  // The history's chunk codec: bits in a byte array and the adaptive Rice code of one series.
  // Fast test files first: a mutant's run stops at the first file that fails (forceBail).
  'history-codec': {
    mutate: ['metrics_server/src/history/series-codec.ts', 'metrics_server/src/history/bit-stream.ts'],
    tests: ['metrics_server/test/history-codec.mutation.test.ts', 'metrics_server/test/history-store.test.ts'],
  },
  // Aggregate and Top's functions (percentiles, rounding, answers from summaries).
  'history-aggregates': {
    mutate: ['metrics_server/src/history/aggregate-fns.ts', 'metrics_server/src/history/percentiles.ts'],
    tests: ['metrics_server/test/history-aggregates.mutation.test.ts', 'metrics_server/test/history-store.test.ts'],
  },
  // The generator's half of the stream deltas: which rows changed since the last tick.
  'change-tracker': {
    mutate: ['telemetry_generator/src/change-tracker.ts'],
    tests: ['telemetry_generator/test/change-tracker.test.ts', 'metrics_server/test/delta-apply.test.ts'],
  },
  // The server's half: the JSON of /telemetry/stream's snapshot and changes events.
  'stream-events': {
    mutate: ['metrics_server/src/views/stream-events.ts'],
    tests: ['metrics_server/test/stream-events.mutation.test.ts', 'metrics_server/test/telemetry-stream.test.ts'],
  },
  // The pure part: levelForStatus, formatRequestLine, escapeForLog (the recorder below them is wiring,
  // held to account by the request tests of the whole app).
  'request-log': {
    mutate: ['metrics_server/src/http/request-log.ts:1-61'],
    tests: ['metrics_server/test/request-log.test.ts'],
  },
};

/** Stryker's options for one module. */
function options(name: string, module: MutationModule): StrykerOptions {
  return {
    testRunner: 'tap',
    plugins: ['@stryker-mutator/tap-runner'],
    tap: { testFiles: [...module.tests], nodeArgs: ['--import', 'tsx'], forceBail: true },
    coverageAnalysis: 'perTest',
    mutate: [...module.mutate],
    // The sandbox is a copy of the project; none of these is needed to run the tests.
    ignorePatterns: ['dist', 'bench/results', 'reports', '.stryker-tmp', 'deploy'],
    // Two cores shared with other work: one mutant at a time keeps the machine usable.
    concurrency: Number(process.env['MUTATION_CONCURRENCY'] ?? 1),
    // Beyond the covering tests' own time; a mutant that loops forever costs this much (MUTATION_TIMEOUT_MS lowers it).
    timeoutMS: Number(process.env['MUTATION_TIMEOUT_MS'] ?? 20_000),
    incremental: true,
    incrementalFile: `reports/mutation/${name}.incremental.json`,
    reporters: ['clear-text', 'progress', 'json'],
    jsonReporter: { fileName: `reports/mutation/${name}.json` },
    clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true, reportMutants: true },
    thresholds: { high: 90, low: 80, break: null },
    cleanTempDir: true,
  };
}

const requested = process.argv.slice(2);
const unknown = requested.filter((name) => !(name in MODULES));
if (unknown.length > 0) {
  console.error(`unknown module(s): ${unknown.join(', ')}; known: ${Object.keys(MODULES).join(', ')}`);
  process.exit(2);
}
// The fixed seed run of each fuzz property only: a mutant must meet the same inputs as its baseline.
process.env['FUZZ_SEED'] ??= '1';
const scores: string[] = [];
for (const name of requested.length > 0 ? requested : Object.keys(MODULES)) {
  const results = await new Stryker(options(name, MODULES[name]!)).runMutationTest();
  const detected = results.filter((r) => r.status === 'Killed' || r.status === 'Timeout').length;
  const valid = results.filter((r) => r.status !== 'CompileError' && r.status !== 'RuntimeError' && r.status !== 'Ignored').length;
  scores.push(`${name}: ${detected}/${valid} mutants killed (${valid === 0 ? 'n/a' : ((100 * detected) / valid).toFixed(1) + '%'})`);
}
console.log(scores.join('\n'));
