/**
 * `npm run bench:history` (`-- --quick`: 100,000 switches over 15 minutes instead of an hour;
 * `-- --only=10000` or `--only=100000`: one size): only the history rows of the benchmark
 * (history-bench.ts), printed as a table.
 */
import { historyRows, runHistoryBench } from './history-bench.js';
import { table } from './report.js';

async function main(): Promise<void> {
  const only = process.argv.find((a) => a.startsWith('--only='));
  const results = await runHistoryBench(process.argv.includes('--quick'), only === undefined ? undefined : Number(only.slice('--only='.length)));
  process.stdout.write(`\n${table([['history', 'switches', 'figure', 'goal'], ...historyRows(results)])}\n`);
  process.stdout.write(`\n${JSON.stringify(results)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:history failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
