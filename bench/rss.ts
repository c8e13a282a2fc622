/**
 * `npm run bench:rss`: the resident-memory phase of the benchmark on its own. A fresh generator at
 * 100,000 switches ticking every second and a fresh server polling every second; the server's RSS
 * is read from /proc once per new snapshot, for 50 snapshots, with no other load (the full run
 * measures the same after its load phases). Prints the samples, first, last, median and max.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median } from './codec-bench.js';
import { setRunDir, sleep, startGenerator, startMetricsServer, stopAll } from './processes.js';
import { rssMb, status } from './server-probe.js';

const SWITCHES = 100_000;
const SNAPSHOTS = 50;

async function main(): Promise<void> {
  setRunDir(mkdtempSync(join(tmpdir(), 'fabric-bench-rss-')));
  const generator = await startGenerator(SWITCHES, 1);
  const server = await startMetricsServer(generator.url, 1, SWITCHES);
  const samples: number[] = [];
  let version = 0;
  const deadline = Date.now() + SNAPSHOTS * 4000;
  while (samples.length < SNAPSHOTS && Date.now() < deadline) {
    const current = (await status(server.url)).snapshot?.version ?? 0;
    if (current !== version) {
      version = current;
      samples.push(Math.round(rssMb(server.child.pid!)));
    }
    await sleep(200);
  }
  process.stdout.write(`RSS over ${samples.length} snapshots at ${SWITCHES.toLocaleString('en-US')} switches (MB): first ${samples[0]}, last ${samples[samples.length - 1]}, median ${median(samples)}, max ${Math.max(...samples)}\n${samples.join(' ')}\n`);
}

main().then(
  () => stopAll(),
  async (err: unknown) => {
    process.stderr.write(`bench:rss failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    await stopAll();
    process.exitCode = 1;
  },
);
