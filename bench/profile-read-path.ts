/**
 * `npm run bench:profile`: where the metrics server's main thread spends its time answering
 * GetMetric, from V8's own sampling profiler (`--cpu-prof`). A server with 4 switches answers a
 * fixed number of GetMetric requests rotating over 4 switches and 3 metrics (issue 19's load);
 * the main thread's profile is folded by function and its top entries by self time are printed.
 *
 * `BENCH_SERVICE_DIST=/other/checkout/dist npm run bench:profile` profiles another version's build
 * with this harness, which is how the README's before and after entries were made.
 */
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { rotatingGetMetric } from './cpu-per-request.js';
import { runLoad, setRunDir, startGenerator, startMetricsServer, stopAll, stopChild } from './processes.js';

/** One node of a `.cpuprofile` (the fields used here). */
interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
}

/** The parts of a `.cpuprofile` used here. */
interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** A function's share of the main thread's sampled time. */
export interface ProfileEntry {
  readonly name: string;
  readonly selfPercent: number;
}

/**
 * Self time per function (name and file:line) as a share of the busy time, largest first: `(idle)`
 * is left out, so the shares do not depend on how hard the load generator pushed; GC and
 * `(program)` are kept as V8 names them.
 */
export function topEntries(profile: CpuProfile, count: number): ProfileEntry[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const node = byId.get(id);
    if (node === undefined) return;
    const delta = profile.timeDeltas[i] ?? 0;
    const f = node.callFrame;
    if (f.functionName === '(idle)') return;
    const where = f.url === '' ? '' : ` ${basename(f.url)}:${f.lineNumber + 1}`;
    const key = `${f.functionName === '' ? '(anonymous)' : f.functionName}${where}`;
    self.set(key, (self.get(key) ?? 0) + delta);
    total += delta;
  });
  return [...self.entries()]
    .map(([name, t]) => ({ name, selfPercent: (100 * t) / total }))
    .sort((a, b) => b.selfPercent - a.selfPercent)
    .slice(0, count);
}

async function main(): Promise<void> {
  const runDir = mkdtempSync(join(tmpdir(), 'fabric-bench-profile-'));
  setRunDir(runDir);
  const profileDir = join(runDir, 'profiles');
  const requests = Number(process.env['BENCH_PROFILE_REQUESTS'] ?? 200_000);
  try {
    const generator = await startGenerator(4, 3600);
    const server = await startMetricsServer(generator.url, 3600, 4, { nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] });
    const paths = rotatingGetMetric(4);
    await runLoad({ url: server.url, paths, connections: 32, seconds: 60, amount: 20_000 });
    await runLoad({ url: server.url, paths, connections: 32, seconds: 120, amount: requests });
    await stopChild(server.child);
    await stopChild(generator.child);
    // Main thread: thread id 0 in `CPU.<date>.<time>.<pid>.<tid>.<seq>.cpuprofile`; workers have their own files.
    const mainProfile = readdirSync(profileDir).find((f) => f.split('.')[4] === '0');
    if (mainProfile === undefined) throw new Error(`no main-thread profile in ${profileDir}`);
    const profile = JSON.parse(readFileSync(join(profileDir, mainProfile), 'utf8')) as CpuProfile;
    process.stdout.write(`main-thread self time (share of busy time), ${requests} GetMetric at 4 switches (${join(profileDir, mainProfile)})\n`);
    for (const e of topEntries(profile, 15)) process.stdout.write(`${e.selfPercent.toFixed(1).padStart(5)}%  ${e.name}\n`);
  } finally {
    await stopAll();
  }
}

await main();
