/**
 * CPU time per request, the steady measure of the read path's cost (issue 19's method): a fixed
 * number of requests from autocannon in another process, and the server process's own CPU time
 * (utime + stime from `/proc/PID/stat`) read before and after. Throughput on these machines moves
 * ±30% from run to run; the CPU a process spent on a fixed count of requests moves far less, and it
 * does not depend on how busy the other core was.
 *
 * For each scenario three targets run in alternating rounds, each round giving every target the same
 * request count: the bare `node:http` ceiling (bare-server.ts, the same header set and body size),
 * the metrics server with its read fast path on (the default), and with it off (every request
 * through the Fastify routes). Rows report the median over the rounds with the spread (min–max), and
 * the ratio to the bare server of the same round.
 *
 * Where `taskset` works, every target process is pinned to CPU 0 and the load generator to CPU 1,
 * so a target never competes with the load generator for its core (which made single rounds vary by
 * ±20%); the rows say whether they were pinned.
 *
 * Also runnable on its own: `npm run bench:cpu`, or with `--quick`.
 */
import { readFileSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { median } from './codec-bench.js';
import { pinToCpu, runLoad, startBare, startGenerator, startMetricsServer, stopChild, type Service } from './processes.js';
import { bodyLength } from './server-probe.js';

/** One target's CPU per request over the rounds, in microseconds. */
export interface CpuSide {
  readonly perRequestUs: readonly number[];
  readonly medianUs: number;
  readonly minUs: number;
  readonly maxUs: number;
}

/** One scenario of the CPU comparison. */
export interface CpuRow {
  readonly scenario: string;
  readonly switches: number;
  readonly requestsPerRound: number;
  readonly rounds: number;
  readonly connections: number;
  /** Targets on CPU 0, the load generator on CPU 1. */
  readonly pinned: boolean;
  readonly bare: CpuSide;
  readonly fastPathOn: CpuSide;
  readonly fastPathOff: CpuSide;
  /** Median over rounds of (server µs / bare µs) of the same round. */
  readonly ratioOn: number;
  readonly ratioOff: number;
  /** 1 - on/off: the share of per-request CPU the fast path saves (median over rounds). */
  readonly fastPathSaving: number;
}

/** The knobs of one CPU run. */
export interface CpuSettings {
  readonly rounds: number;
  readonly getMetricRequests: number;
  readonly listMetricsRequests: number;
  readonly connections: number;
}

/** The full run's knobs: 5 rounds of 40,000 GetMetric (about 2 s each) per target. */
export const CPU_FULL: CpuSettings = { rounds: 5, getMetricRequests: 40_000, listMetricsRequests: 8_000, connections: 32 };
/** The quick run's. */
export const CPU_QUICK: CpuSettings = { rounds: 3, getMetricRequests: 20_000, listMetricsRequests: 4_000, connections: 32 };

const CLOCK_TICKS_PER_SECOND = 100;

/** CPU seconds a process has used so far (user + system), from /proc. */
export function cpuSeconds(pid: number): number {
  // Fields after the command name (which may hold spaces): utime is field 14, stime 15.
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

function side(values: readonly number[]): CpuSide {
  return { perRequestUs: values, medianUs: median(values), minUs: Math.min(...values), maxUs: Math.max(...values) };
}

interface Target {
  readonly child: ChildProcess;
  readonly url: string;
  readonly paths: readonly string[];
}

async function measure(target: Target, amount: number, connections: number, pinned: boolean): Promise<number> {
  const before = cpuSeconds(target.child.pid!);
  const result = await runLoad({ url: target.url, paths: target.paths, connections, seconds: 120, amount }, pinned ? 1 : undefined);
  const after = cpuSeconds(target.child.pid!);
  if (result.failures > 0) throw new Error(`${target.url}: ${result.failures} failed requests in a CPU round`);
  return ((after - before) * 1e6) / amount;
}

function queryOf(path: string): string {
  const q = path.indexOf('?');
  return q === -1 ? '' : path.slice(q);
}

/** One scenario: the three targets over the same paths, in rounds whose order rotates. */
async function scenario(settings: CpuSettings, name: string, switches: number, paths: readonly string[], amount: number, on: Service, off: Service, bare: { child: ChildProcess; url: string }): Promise<CpuRow> {
  const bodyBytes = (await bodyLength(`${on.url}${paths[0]!}`)).bytes;
  const targets: Record<'bare' | 'on' | 'off', Target> = {
    bare: { child: bare.child, url: bare.url, paths: paths.map((p) => `/snapshot-bytes/${bodyBytes}${queryOf(p)}`) },
    on: { child: on.child, url: on.url, paths },
    off: { child: off.child, url: off.url, paths },
  };
  const order: (keyof typeof targets)[] = ['bare', 'on', 'off'];
  const pinned = order.every((key) => pinToCpu(targets[key].child.pid!, 0));
  // Warm-up: JIT and connection set-up are not what is measured.
  for (const key of order) await measure(targets[key], Math.ceil(amount / 4), settings.connections, pinned);
  const results: Record<keyof typeof targets, number[]> = { bare: [], on: [], off: [] };
  for (let round = 0; round < settings.rounds; round++) {
    for (let i = 0; i < order.length; i++) {
      const key = order[(round + i) % order.length]!;
      results[key].push(await measure(targets[key], amount, settings.connections, pinned));
    }
  }
  const ratios = (key: 'on' | 'off'): number => median(results[key].map((us, i) => us / results.bare[i]!));
  const row: CpuRow = {
    scenario: name,
    switches,
    requestsPerRound: amount,
    rounds: settings.rounds,
    connections: settings.connections,
    pinned,
    bare: side(results.bare),
    fastPathOn: side(results.on),
    fastPathOff: side(results.off),
    ratioOn: ratios('on'),
    ratioOff: ratios('off'),
    fastPathSaving: median(results.on.map((us, i) => 1 - us / results.off[i]!)),
  };
  process.stderr.write(
    `  CPU ${name} @ ${switches}: bare ${row.bare.medianUs.toFixed(1)} µs, fast path on ${row.fastPathOn.medianUs.toFixed(1)} µs (${row.ratioOn.toFixed(2)}x), off ${row.fastPathOff.medianUs.toFixed(1)} µs (${row.ratioOff.toFixed(2)}x); the fast path saves ${(row.fastPathSaving * 100).toFixed(0)}%\n`,
  );
  return row;
}

/** GetMetric paths rotating over 4 switches and 3 metrics, as issue 19 measured. */
export function rotatingGetMetric(switches: number): string[] {
  const ids = [1, 2, 3, 4].map((i) => 1 + (((i - 1) * 7919) % switches));
  const metrics = ['bandwidth_mbps', 'latency_ms', 'utilization_percent'];
  return ids.flatMap((id) => metrics.map((m) => `/telemetry/GetMetric?switch=sw${id}&metric=${m}`));
}

/** GetMetric at 4 and 100,000 switches and ListMetrics at 1,000, each against its ceiling. */
export async function cpuPerRequest(settings: CpuSettings): Promise<CpuRow[]> {
  const rows: CpuRow[] = [];
  // BENCH_ONLY=GetMetric@4 (comma-separated), as for the instruction counts.
  const only = process.env['BENCH_ONLY']?.split(',');
  const bare = await startBare();
  try {
    for (const [switches, kinds] of [
      [4, ['GetMetric']],
      [1_000, ['ListMetrics']],
      [100_000, ['GetMetric']],
    ] as const) {
      if (only !== undefined && !kinds.some((kind) => only.includes(`${kind}@${switches}`))) continue;
      // A generator that never ticks and servers that poll once an hour: nothing but requests in the window.
      const generator = await startGenerator(switches, 3600);
      const on = await startMetricsServer(generator.url, 3600, switches);
      const off = await startMetricsServer(generator.url, 3600, switches, { fastReadPath: false });
      try {
        for (const kind of kinds) {
          if (kind === 'GetMetric') rows.push(await scenario(settings, 'GetMetric', switches, rotatingGetMetric(switches), settings.getMetricRequests, on, off, bare));
          else rows.push(await scenario(settings, 'ListMetrics', switches, ['/telemetry/ListMetrics'], settings.listMetricsRequests, on, off, bare));
        }
      } finally {
        await Promise.all([stopChild(on.child), stopChild(off.child), stopChild(generator.child)]);
      }
    }
  } finally {
    await stopChild(bare.child);
  }
  return rows;
}

/** The rows as a table. */
export function formatCpuRows(rows: readonly CpuRow[]): string {
  const lines = [
    '| CPU per request (µs, median of rounds, min–max) | switches | bare node:http | server, fast path on | ratio | server, fast path off | ratio | fast path saves |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  const us = (s: CpuSide): string => `${s.medianUs.toFixed(1)} (${s.minUs.toFixed(1)}–${s.maxUs.toFixed(1)})`;
  for (const r of rows) {
    lines.push(`| ${r.scenario}, ${r.rounds} rounds × ${r.requestsPerRound.toLocaleString('en-US')} requests, ${r.connections} connections${r.pinned ? ', pinned' : ''} | ${r.switches.toLocaleString('en-US')} | ${us(r.bare)} | ${us(r.fastPathOn)} | ${r.ratioOn.toFixed(2)}x | ${us(r.fastPathOff)} | ${r.ratioOff.toFixed(2)}x | ${(r.fastPathSaving * 100).toFixed(0)}% |`);
  }
  return lines.join('\n');
}
