/**
 * `npm run bench:cpu` (`-- --quick` for fewer rounds): only the CPU-per-request rows of the benchmark
 * (cpu-per-request.ts), for deciding about the read path without the whole 12-minute run.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CPU_FULL, CPU_QUICK, cpuPerRequest, formatCpuRows } from './cpu-per-request.js';
import { setRunDir, stopAll } from './processes.js';

async function main(): Promise<void> {
  const runDir = mkdtempSync(join(tmpdir(), 'fabric-bench-cpu-'));
  setRunDir(runDir);
  process.stderr.write(`bench:cpu: logs and configs in ${runDir}\n`);
  const rows = await cpuPerRequest(process.argv.includes('--quick') ? CPU_QUICK : CPU_FULL);
  process.stdout.write(`\n${formatCpuRows(rows)}\n`);
}

main().then(
  () => stopAll(),
  async (err: unknown) => {
    process.stderr.write(`bench:cpu failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    await stopAll();
    process.exitCode = 1;
  },
);
