/**
 * Instructions per request, counted by valgrind's callgrind: the steadiest measure of the read path's
 * cost this machine allows (`perf stat -e instructions` is not supported on these VMs, and CPU time
 * per request from /proc moved by ±25% between rounds here). Callgrind counts the user-space
 * instructions the process executes, whatever else the machine is doing; two runs of the same
 * request count differ by about 1%.
 *
 * Each target (the bare `node:http` ceiling, the metrics server with its read fast path on, and with
 * it off) runs under `valgrind --tool=callgrind --instr-atstart=no`, so nothing is counted until the
 * window opens. After a warm-up (JIT), counting is switched on with `callgrind_control` for a run of
 * `small` requests and, separately, for a run of `large` ones; each run also pays a fixed cost
 * (autocannon opens its connections afresh), which the difference cancels:
 * per request = (I(large) − I(small)) / (large − small). Only the main thread's user-space
 * instructions are counted: not the kernel's share (socket reads and writes, the same bytes for
 * every target), nor V8's background threads (concurrent GC marking and compilation, which run by
 * wall time and made repetitions differ by up to 30% when they were summed in).
 *
 * The server runs ~50× slower under valgrind, so timers that fire by wall time (the event-loop delay
 * monitor samples every 1 ms, the log batcher flushes every 100 ms) weigh more per request here than
 * in production; the figures are for comparing targets and versions, not absolute costs.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { median } from './codec-bench.js';
import { runLoad, startBare, startGenerator, startMetricsServer, stopChild, type Wrapper } from './processes.js';
import { bodyLength } from './server-probe.js';

/** One scenario's instructions per request, per target. */
export interface InstructionRow {
  readonly scenario: string;
  readonly switches: number;
  readonly requests: { readonly small: number; readonly large: number };
  /** Every repetition's figure, per target. */
  readonly repeats: { readonly bare: readonly number[]; readonly on: readonly number[]; readonly off: readonly number[] };
  readonly bare: number;
  readonly fastPathOn: number;
  readonly fastPathOff: number;
  readonly ratioOn: number;
  readonly ratioOff: number;
  /** 1 − on/off. */
  readonly fastPathSaving: number;
}

/** The knobs of one instruction-count run. */
export interface InstructionSettings {
  readonly warmupRuns: number;
  readonly small: number;
  readonly large: number;
  readonly repeats: number;
  readonly connections: number;
}

/** Full run: about 2 minutes per target. */
export const INSTRUCTIONS_FULL: InstructionSettings = { warmupRuns: 3, small: 1000, large: 4000, repeats: 2, connections: 32 };
/** Quick run. */
export const INSTRUCTIONS_QUICK: InstructionSettings = { warmupRuns: 2, small: 1000, large: 3000, repeats: 1, connections: 32 };

/** True when valgrind and callgrind_control are installed. */
export function callgrindAvailable(): boolean {
  return spawnSync('valgrind', ['--version'], { stdio: 'ignore' }).status === 0 && spawnSync('callgrind_control', ['--help'], { stdio: 'ignore' }).error === undefined;
}

function control(pid: number, ...args: string[]): void {
  const result = spawnSync('callgrind_control', [...args, String(pid)], { stdio: 'ignore' });
  if (result.status !== 0) throw new Error(`callgrind_control ${args.join(' ')} ${pid} failed (${result.status})`);
}

/** The main thread's instruction total in the newest callgrind dump of `pid` in `dir` (files `cg.PID.DUMP-THREAD`). */
function lastDumpTotal(dir: string, pid: number): number {
  const pattern = new RegExp(`^cg\\.${pid}\\.(\\d+)-0*1$`);
  const dumps = readdirSync(dir)
    .map((name) => ({ name, dump: Number(pattern.exec(name)?.[1] ?? NaN) }))
    .filter((d) => Number.isFinite(d.dump))
    .sort((a, b) => a.dump - b.dump)
    .map((d) => d.name);
  const last = dumps[dumps.length - 1];
  if (last === undefined) throw new Error(`no callgrind dump of ${pid} in ${dir}`);
  const match = /^totals: (\d+)/m.exec(readFileSync(join(dir, last), 'utf8')) ?? /^summary: (\d+)/m.exec(readFileSync(join(dir, last), 'utf8'));
  if (match === null) throw new Error(`callgrind dump ${last} has no totals`);
  return Number(match[1]);
}

interface Target {
  readonly pid: number;
  readonly url: string;
  readonly paths: readonly string[];
}

async function counted(dir: string, target: Target, amount: number, connections: number): Promise<number> {
  control(target.pid, '-z');
  control(target.pid, '-i', 'on');
  const result = await runLoad({ url: target.url, paths: target.paths, connections, seconds: 900, amount });
  control(target.pid, '-i', 'off');
  control(target.pid, '-d');
  if (result.failures > 0) throw new Error(`${target.url}: ${result.failures} failed requests under callgrind`);
  return lastDumpTotal(dir, target.pid);
}

async function perRequest(dir: string, target: Target, settings: InstructionSettings): Promise<number[]> {
  for (let i = 0; i < settings.warmupRuns; i++) await runLoad({ url: target.url, paths: target.paths, connections: settings.connections, seconds: 900, amount: settings.large });
  const figures: number[] = [];
  for (let r = 0; r < settings.repeats; r++) {
    const small = await counted(dir, target, settings.small, settings.connections);
    const large = await counted(dir, target, settings.large, settings.connections);
    figures.push((large - small) / (settings.large - settings.small));
  }
  return figures;
}

function queryOf(path: string): string {
  const q = path.indexOf('?');
  return q === -1 ? '' : path.slice(q);
}

/** GetMetric paths rotating over 4 switches and 3 metrics. */
function rotatingGetMetric(switches: number): string[] {
  const ids = [1, 2, 3, 4].map((i) => 1 + (((i - 1) * 7919) % switches));
  return ids.flatMap((id) => ['bandwidth_mbps', 'latency_ms', 'utilization_percent'].map((m) => `/telemetry/GetMetric?switch=sw${id}&metric=${m}`));
}

/** GetMetric at 4 and 100,000 switches and ListMetrics at 1,000: each target under callgrind in turn. */
export async function instructionsPerRequest(settings: InstructionSettings, runDir: string): Promise<InstructionRow[]> {
  // Per thread: the main thread's count is the request path; V8's background threads (concurrent
  // marking, compilation) run by wall time and made repetitions differ by up to 30% when summed in.
  const wrapper: Wrapper = ['valgrind', '-q', '--tool=callgrind', '--instr-atstart=no', '--separate-threads=yes', `--callgrind-out-file=${join(runDir, 'cg.%p')}`];
  const rows: InstructionRow[] = [];
  // BENCH_ONLY=GetMetric@4 (comma-separated) narrows the run while working on one path.
  const only = process.env['BENCH_ONLY']?.split(',');
  const scenarios = ([
    ['GetMetric', 4],
    ['ListMetrics', 1_000],
    ['GetMetric', 100_000],
  ] as const).filter(([scenario, switches]) => only === undefined || only.includes(`${scenario}@${switches}`));
  for (const [scenario, switches] of scenarios) {
    const generator = await startGenerator(switches, 3600);
    try {
      const paths = scenario === 'GetMetric' ? rotatingGetMetric(switches) : ['/telemetry/ListMetrics'];
      const figures: Record<'bare' | 'on' | 'off', number[]> = { bare: [], on: [], off: [] };
      let bodyBytes = 0;
      for (const key of ['on', 'off'] as const) {
        const server = await startMetricsServer(generator.url, 3600, switches, { fastReadPath: key === 'on', wrapper });
        try {
          bodyBytes = (await bodyLength(`${server.url}${paths[0]!}`)).bytes;
          figures[key] = await perRequest(runDir, { pid: server.child.pid!, url: server.url, paths }, settings);
        } finally {
          await stopChild(server.child);
        }
      }
      const bare = await startBare('bench/bare-server.js', wrapper);
      try {
        figures.bare = await perRequest(runDir, { pid: bare.child.pid!, url: bare.url, paths: paths.map((p) => `/snapshot-bytes/${bodyBytes}${queryOf(p)}`) }, settings);
      } finally {
        await stopChild(bare.child);
      }
      const [b, on, off] = [median(figures.bare), median(figures.on), median(figures.off)];
      const row: InstructionRow = {
        scenario,
        switches,
        requests: { small: settings.small, large: settings.large },
        repeats: { bare: figures.bare, on: figures.on, off: figures.off },
        bare: b,
        fastPathOn: on,
        fastPathOff: off,
        ratioOn: on / b,
        ratioOff: off / b,
        fastPathSaving: 1 - on / off,
      };
      process.stderr.write(
        `  instructions ${scenario} @ ${switches}: bare ${(b / 1000).toFixed(1)}k, fast path on ${(on / 1000).toFixed(1)}k (${row.ratioOn.toFixed(2)}x), off ${(off / 1000).toFixed(1)}k (${row.ratioOff.toFixed(2)}x); the fast path saves ${(row.fastPathSaving * 100).toFixed(0)}%\n`,
      );
      rows.push(row);
    } finally {
      await stopChild(generator.child);
    }
  }
  return rows;
}

/** The rows as a table. */
export function formatInstructionRows(rows: readonly InstructionRow[]): string {
  const k = (xs: readonly number[]): string => xs.map((x) => (x / 1000).toFixed(1)).join(', ');
  const lines = [
    '| instructions per request (thousands; callgrind, user space; each repetition) | switches | bare node:http | server, fast path on | ratio | server, fast path off | ratio | fast path saves |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.scenario}, I(${r.requests.large.toLocaleString('en-US')}) − I(${r.requests.small.toLocaleString('en-US')}) requests | ${r.switches.toLocaleString('en-US')} | ${k(r.repeats.bare)} | ${k(r.repeats.on)} | ${r.ratioOn.toFixed(2)}x | ${k(r.repeats.off)} | ${r.ratioOff.toFixed(2)}x | ${(r.fastPathSaving * 100).toFixed(0)}% |`,
    );
  }
  return lines.join('\n');
}
