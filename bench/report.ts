/** The table `npm run bench` prints and stores: every figure next to its ceiling and its goal. */
import type { CodecRow } from './codec-bench.js';
import type { GeneratorBenchResult } from './generator-bench.js';
import type { SizeResult } from './results.js';
import { GOAL_INGEST_MS, GOAL_LOOP_MAX_MS, GOAL_P99_FACTOR, GOAL_RATIO, GOAL_RSS_MB, RATIO_GOAL_SCENARIOS } from './settings.js';

export const f0 = (x: number): string => (Number.isFinite(x) ? x.toFixed(0) : '-');
export const f2 = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : '-');
export const mb = (bytes: number): string => (bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : bytes >= 1e3 ? `${(bytes / 1e3).toFixed(1)} kB` : `${bytes} B`);
export const met = (ok: boolean): string => (ok ? 'met' : 'NOT met');

export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: readonly string[]): string => `| ${r.map((cell, c) => (c < 2 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join(' | ')} |`;
  return [line(rows[0]!), `|${widths.map((w, c) => (c < 2 ? ` ${'-'.repeat(w)} ` : ` ${'-'.repeat(w - 1)}: `)).join('|')}|`, ...rows.slice(1).map(line)].join('\n');
}

export function render(sizes: readonly SizeResult[], codec: readonly CodecRow[], codecSwitches: number, generator: GeneratorBenchResult): string {
  const rows: string[][] = [['scenario', 'switches', 'body', 'server', 'ceiling (bare node:http)', 'ratio', 'p50 ms server / bare', 'p99 ms server / bare', 'goal']];
  for (const size of sizes) {
    for (const c of size.comparisons) {
      // Exact names: reference rows (Fastify alone, GetMetric with the fast path off, /metrics) get no verdict.
      const goal = RATIO_GOAL_SCENARIOS.has(c.scenario) && size.switches > 0 ? `>= ${GOAL_RATIO}x: ${met(c.ratio >= GOAL_RATIO)}` : '';
      rows.push([c.scenario, size.switches.toLocaleString('en-US'), mb(c.bodyBytes), `${f0(c.server.requestsPerSecond)} req/s`, `${f0(c.bare.requestsPerSecond)} req/s`, `${f2(c.ratio)}x`, `${f2(c.server.p50)} / ${f2(c.bare.p50)}`, `${f2(c.server.p99)} / ${f2(c.bare.p99)}`, goal]);
    }
    if (size.metricsEndpoint !== undefined && size.metricsEndpoint !== 'measured') rows.push(['/metrics scrape', size.switches.toLocaleString('en-US'), '', size.metricsEndpoint, '', '', '', '', '']);
  }
  for (const size of sizes) {
    const g = size.ingestion;
    if (g === undefined) continue;
    const big = g.switches >= 100_000;
    rows.push(['ingestion fetch→swap', g.switches.toLocaleString('en-US'), mb(g.bytes), `median ${f0(g.fetchToSwapMs.median)} ms, max ${f0(g.fetchToSwapMs.max)} ms (${g.polls} polls)`, '', '', '', '', big ? `< ${GOAL_INGEST_MS} ms: ${met(g.fetchToSwapMs.max < GOAL_INGEST_MS)}` : '']);
    rows.push([
      'event-loop delay, ingesting',
      g.switches.toLocaleString('en-US'),
      '',
      `max ${f2(g.eventLoopDelayMs.max)} ms, p99 ${f2(g.eventLoopDelayMs.p99)} ms`,
      `idle: max ${f2(g.idleEventLoopDelayMs.max)}, p99 ${f2(g.idleEventLoopDelayMs.p99)}`,
      '',
      '',
      '',
      big ? `max < ${GOAL_LOOP_MAX_MS} ms: ${met(g.eventLoopDelayMs.max < GOAL_LOOP_MAX_MS)}` : '',
    ]);
    const fixed = g.getMetricAtFixedRate;
    rows.push([
      `GetMetric @ ${fixed.rate}/s, ingesting vs idle`,
      g.switches.toLocaleString('en-US'),
      '',
      `p99 ${f2(fixed.ingesting.p99)} ms (p50 ${f2(fixed.ingesting.p50)})`,
      `idle p99 ${f2(fixed.idle.p99)} ms (p50 ${f2(fixed.idle.p50)})`,
      `${f2(fixed.p99Factor)}x`,
      '',
      '',
      big ? `<= ${GOAL_P99_FACTOR}x idle: ${met(fixed.p99Factor <= GOAL_P99_FACTOR)}` : '',
    ]);
  }
  for (const size of sizes) {
    const r = size.rss;
    if (r === undefined) continue;
    rows.push([
      `resident memory, ${r.snapshots} snapshots`,
      r.switches.toLocaleString('en-US'),
      '',
      `first ${f0(r.firstMb)} MB, last ${f0(r.lastMb)} MB, max ${f0(r.maxMb)} MB`,
      '',
      `growth ${f2(r.growth)}x`,
      '',
      '',
      `< ${GOAL_RSS_MB} MB, flat: ${met(r.maxMb < GOAL_RSS_MB && r.growth < 1.05)}`,
    ]);
  }
  for (const c of codec) {
    rows.push([
      `${c.what} (in-process)`,
      codecSwitches.toLocaleString('en-US'),
      mb(c.bytes),
      `${f2(c.optimizedMs)} ms`,
      `reference ${f2(c.referenceMs)} ms${c.csvParseMs !== undefined ? `, csv-parse ${f2(c.csvParseMs)} ms` : ''}`,
      `${f2(c.referenceMs / c.optimizedMs)}x faster`,
      '',
      '',
      '',
    ]);
  }
  const t = generator.throughput;
  for (const tick of generator.ticks) {
    rows.push(['generator tick', tick.switches.toLocaleString('en-US'), mb(tick.bodyBytes), `${f2(tick.tickMs)} ms`, '', '', '', '', tick.switches === 100_000 ? `< 200 ms: ${met(tick.tickMs < 200)}` : '']);
  }
  rows.push(['generator /counters', t.switches.toLocaleString('en-US'), mb(t.bodyBytes), `${f0(t.generator.requestsPerSecond)} req/s`, `${f0(t.bare.requestsPerSecond)} req/s`, `${f2(t.ratio)}x`, `${f2(t.generator.latencyP50Ms)} / ${f2(t.bare.latencyP50Ms)}`, `${f2(t.generator.latencyP99Ms)} / ${f2(t.bare.latencyP99Ms)}`, `>= 0.8x: ${met(t.ratio >= 0.8)}`]);
  const pairs = sizes.flatMap((size) => size.comparisons.map((c) => `${c.pairs} pairs of ${c.secondsPerRun} s runs`));
  const shape = [...new Set(pairs)].join(', ');
  const note =
    pairs.length === 0
      ? ''
      : `\n\nThroughput rows of Fastify alone and the metrics server: req/s, p50 and p99 are means over each side's runs; the ratio is the median of the per-pair ratios server/bare (${shape}, the two runs of a pair back to back, which goes first alternating), not the quotient of the two means. The generator /counters ratio is the quotient of means over its rounds.`;
  return `${table(rows)}${note}`;
}

