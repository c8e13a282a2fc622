/**
 * `npm run bench:cpu` (`-- --quick` for fewer rounds): only the per-request cost rows of the
 * benchmark, for deciding about the read path without the whole run: instructions per request under
 * callgrind (instructions-per-request.ts; skipped with a note when valgrind is missing) and CPU time
 * per request from /proc (cpu-per-request.ts). `-- --instructions` or `-- --cpu` runs one of them.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CPU_FULL, CPU_QUICK, cpuPerRequest, formatCpuRows } from './cpu-per-request.js';
import { INSTRUCTIONS_FULL, INSTRUCTIONS_QUICK, callgrindAvailable, formatInstructionRows, instructionsPerRequest } from './instructions-per-request.js';
import { setRunDir, stopAll } from './processes.js';

async function main(): Promise<void> {
  const runDir = mkdtempSync(join(tmpdir(), 'fabric-bench-cpu-'));
  setRunDir(runDir);
  const quick = process.argv.includes('--quick');
  const onlyCpu = process.argv.includes('--cpu');
  const onlyInstructions = process.argv.includes('--instructions');
  process.stderr.write(`bench:cpu: logs and configs in ${runDir}\n`);
  const out: string[] = [];
  if (!onlyCpu) {
    if (callgrindAvailable()) out.push(formatInstructionRows(await instructionsPerRequest(quick ? INSTRUCTIONS_QUICK : INSTRUCTIONS_FULL, runDir)));
    else out.push('instructions per request: not measured (valgrind is not installed: apt-get install valgrind)');
  }
  if (!onlyInstructions) out.push(formatCpuRows(await cpuPerRequest(quick ? CPU_QUICK : CPU_FULL)));
  process.stdout.write(`\n${out.join('\n\n')}\n`);
}

main().then(
  () => stopAll(),
  async (err: unknown) => {
    process.stderr.write(`bench:cpu failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    await stopAll();
    process.exitCode = 1;
  },
);
