/**
 * CSV against Apache Arrow IPC, side by side, at 100,000 switches (issue 14): `npm run bench:arrow`
 * alone, and the same rows at the end of `npm run bench`.
 *
 * In-process (medians over alternating runs, so load from other processes hits both sides alike):
 * - generator: rendering a tick's body (CSV writer vs Arrow writer) and its bytes, plain and gzip;
 * - ingestion worker: the parse (body → validated columns with their id index) and the whole prepare
 *   (parse + column block). Arrow twice: "warm", a body whose id column is the last one's (every
 *   poll of a running generator), and "cold", ids that changed (alternating two fabric sizes);
 * - the library alone: apache-arrow's `tableFromIPC` then every column's `toArray()` (ids decoded
 *   to strings), no validation, no index: what the hand-written decoder is measured against;
 * - the ListMetrics body: JSON vs Arrow render, and bytes.
 *
 * Processes (the real services, built, as a user starts them): a generator ticking every second and
 * a metrics server polling every second with `ingestion.format` csv, then arrow; fetch→swap from
 * Status `last_poll.duration_ms`, main-thread event-loop delay from Status `event_loop`.
 */
import { mkdtempSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { tableFromIPC } from 'apache-arrow';
import { METRIC_NAMES } from '../common/telemetry-schema.js';
import { parseArrowBytes } from '../metrics_server/src/ingest/arrow/decoder.js';
import { parseCsvBytes } from '../metrics_server/src/ingest/csv/parser.js';
import { prepareBody } from '../metrics_server/src/ingest/prepare.js';
import { renderListMetricsArrow } from '../metrics_server/src/views/list-metrics-arrow.js';
import { renderListMetricsJson } from '../metrics_server/src/views/list-metrics-json.js';
import { renderArrow } from '../telemetry_generator/src/arrow-writer.js';
import { DEFAULT_SIMULATION } from '../telemetry_generator/src/config.js';
import { renderCsv } from '../telemetry_generator/src/csv-writer.js';
import { simulate } from '../telemetry_generator/src/simulator.js';
import { median } from './codec-bench.js';
import { setRunDir, sleep, startGenerator, startMetricsServer, stopAll, stopChild } from './processes.js';
import { f2, mb, met, table } from './report.js';
import { status, type EventLoopWindow } from './server-probe.js';
import { SEED } from './settings.js';

/** One CSV-vs-Arrow comparison. */
export interface ArrowBenchRow {
  readonly what: string;
  readonly csv: string;
  readonly arrow: string;
  /** CSV over Arrow (a cost ratio: above 1, Arrow is cheaper), or undefined where it means nothing. */
  readonly ratio?: number;
  readonly goal?: string;
}

/** Ingestion of one format by a running server. */
export interface IngestionFigures {
  readonly polls: number;
  readonly fetchToSwapMs: { readonly median: number; readonly max: number };
  readonly loopDelayMs: { readonly max: number; readonly p99: number };
  readonly bytes: number;
}

/** Everything `arrowBench` measured. */
export interface ArrowBenchResult {
  readonly switches: number;
  readonly rows: readonly ArrowBenchRow[];
  readonly ingestion?: { readonly csv: IngestionFigures; readonly arrow: IngestionFigures };
}

/** The worker-cost goal of issue 14: Arrow ingestion at least this many times cheaper than the CSV parse. */
export const GOAL_ARROW_PARSE_FACTOR = 5;

/** Medians of `a` and `b`, run alternately `samples` times after one warm-up run each. */
function alternate(samples: number, a: () => unknown, b: () => unknown): [number, number] {
  a();
  b();
  const ta: number[] = [];
  const tb: number[] = [];
  for (let i = 0; i < samples; i++) {
    let t0 = performance.now();
    a();
    ta.push(performance.now() - t0);
    t0 = performance.now();
    b();
    tb.push(performance.now() - t0);
  }
  return [median(ta), median(tb)];
}

const ms = (x: number): string => `${f2(x)} ms`;

/** The in-process rows at `switches`. */
export function arrowCodecRows(switches: number, samples: number): ArrowBenchRow[] {
  const metrics = [...METRIC_NAMES];
  const state = simulate({ switchCount: switches, simulation: DEFAULT_SIMULATION, seed: SEED }, 3);
  const other = simulate({ switchCount: switches + 1, simulation: DEFAULT_SIMULATION, seed: SEED }, 3);
  const csv = renderCsv(state, metrics);
  const arrow = renderArrow(state, metrics);
  const arrowOther = renderArrow(other, metrics);
  const rows: ArrowBenchRow[] = [];

  const [renderCsvMs, renderArrowMs] = alternate(samples, () => renderCsv(state, metrics), () => renderArrow(state, metrics));
  rows.push({ what: 'generator: render one tick', csv: ms(renderCsvMs), arrow: ms(renderArrowMs), ratio: renderCsvMs / renderArrowMs });
  rows.push({ what: 'bytes on the wire, plain', csv: mb(csv.length), arrow: mb(arrow.length), ratio: csv.length / arrow.length });
  const gz6 = (b: Uint8Array): number => gzipSync(b).length;
  const gz1 = (b: Uint8Array): number => gzipSync(b, { level: 1 }).length;
  rows.push({ what: 'bytes on the wire, gzip level 6 (zlib default)', csv: mb(gz6(csv)), arrow: mb(gz6(arrow)), ratio: gz6(csv) / gz6(arrow) });
  rows.push({ what: 'bytes on the wire, gzip level 1', csv: mb(gz1(csv)), arrow: mb(gz1(arrow)), ratio: gz1(csv) / gz1(arrow) });

  const check = (ok: boolean): void => {
    if (!ok) throw new Error('a benchmark body does not parse');
  };
  check(parseCsvBytes(csv, 2).ok && parseArrowBytes(arrow).ok && parseArrowBytes(arrowOther).ok);
  // Warm: the same id column as the body parsed just before (each Arrow run parses `arrow` again).
  const [parseCsvMs, parseArrowWarmMs] = alternate(samples, () => parseCsvBytes(csv, 2), () => parseArrowBytes(arrow));
  const goal = `>= ${GOAL_ARROW_PARSE_FACTOR}x: ${met(parseCsvMs / parseArrowWarmMs >= GOAL_ARROW_PARSE_FACTOR)}`;
  rows.push({ what: 'worker: parse + validate + id index (Arrow: same ids as the last poll)', csv: ms(parseCsvMs), arrow: ms(parseArrowWarmMs), ratio: parseCsvMs / parseArrowWarmMs, goal });
  // Cold: alternating two bodies whose ids differ, so the last id pass is never reused.
  let flip = false;
  const [, parseArrowColdMs] = alternate(
    samples,
    () => parseCsvBytes(csv, 2),
    () => {
      flip = !flip;
      return parseArrowBytes(flip ? arrowOther : arrow);
    },
  );
  rows.push({ what: 'worker: parse, Arrow with changed ids (cold id index)', csv: ms(parseCsvMs), arrow: ms(parseArrowColdMs), ratio: parseCsvMs / parseArrowColdMs });
  const [prepareCsvMs, prepareArrowMs] = alternate(samples, () => prepareBody(csv, 'csv'), () => prepareBody(arrow, 'arrow'));
  rows.push({ what: 'worker: whole prepare (parse + column block), warm', csv: ms(prepareCsvMs), arrow: ms(prepareArrowMs), ratio: prepareCsvMs / prepareArrowMs });
  // The library alone, no validation: tableFromIPC, then every column as a JS array / typed array.
  const libraryRead = (): number => {
    const t = tableFromIPC(arrow);
    let n = 0;
    for (const field of t.schema.fields) n += (t.getChild(field.name)!.toArray() as ArrayLike<unknown>).length;
    return n;
  };
  const [, libraryMs] = alternate(samples, () => parseArrowBytes(arrow), libraryRead);
  rows.push({ what: 'reference: apache-arrow tableFromIPC + toArray (no checks, no index)', csv: '', arrow: `${ms(libraryMs)} (ours warm ${ms(parseArrowWarmMs)}, cold ${ms(parseArrowColdMs)})` });

  const columns = prepareBody(csv, 'csv');
  const parsed = parseCsvBytes(csv, 2);
  if (!columns.ok || !parsed.ok) throw new Error('unreachable');
  const cols = parsed.parsed.columns;
  const [jsonMs, arrowViewMs] = alternate(samples, () => renderListMetricsJson(cols, 1766501919), () => renderListMetricsArrow(cols, 1766501919));
  rows.push({ what: 'server: ListMetrics render (JSON vs Arrow view)', csv: `JSON ${ms(jsonMs)}`, arrow: ms(arrowViewMs), ratio: jsonMs / arrowViewMs });
  const jsonBody = renderListMetricsJson(cols, 1766501919);
  const arrowBody = renderListMetricsArrow(cols, 1766501919);
  rows.push({ what: 'server: ListMetrics bytes, plain / gzip level 1', csv: `JSON ${mb(jsonBody.length)} / ${mb(gz1(jsonBody))}`, arrow: `${mb(arrowBody.length)} / ${mb(gz1(arrowBody))}` });
  return rows;
}

function loopDelay(windows: Map<number, EventLoopWindow>, from: number, to: number): { max: number; p99: number } {
  const inside = [...windows.values()].filter((w) => w.started_at_ms >= from && w.ended_at_ms <= to);
  return { max: Math.max(...inside.map((w) => w.delay_ms.max)), p99: Math.max(...inside.map((w) => w.delay_ms.p99)) };
}

/** A server polling a ticking generator every second in `format`, watched over `polls` snapshots after two warm-up ones. */
async function ingestionOf(generatorUrl: string, switches: number, format: 'csv' | 'arrow', polls: number): Promise<IngestionFigures> {
  const server = await startMetricsServer(generatorUrl, 1, switches, { ingestionFormat: format });
  try {
    const durations = new Map<number, number>();
    const windows = new Map<number, EventLoopWindow>();
    let bytes = 0;
    const first = (await status(server.url)).snapshot!.version;
    let t0 = Date.now();
    const deadline = Date.now() + (polls + 2) * 4000;
    for (;;) {
      const doc = await status(server.url);
      const version = doc.snapshot?.version ?? 0;
      if (version < first + 2) t0 = Date.now();
      else {
        const poll = doc.ingestion.last_poll;
        if (poll !== null && poll.outcome === 'ok' && !durations.has(version)) {
          durations.set(version, poll.duration_ms);
          bytes = poll.bytes;
        }
        for (const w of [doc.event_loop?.last_window, doc.event_loop?.current_window]) if (w != null) windows.set(w.started_at_ms, w);
      }
      if (durations.size >= polls || Date.now() > deadline) break;
      await sleep(200);
    }
    const all = [...durations.values()];
    return { polls: all.length, fetchToSwapMs: { median: median(all), max: Math.max(...all) }, loopDelayMs: loopDelay(windows, t0, Date.now()), bytes };
  } finally {
    await stopChild(server.child);
  }
}

/** Both formats against one generator ticking every second. */
export async function ingestionRows(switches: number, polls: number): Promise<{ csv: IngestionFigures; arrow: IngestionFigures }> {
  const generator = await startGenerator(switches, 1);
  try {
    const csv = await ingestionOf(generator.url, switches, 'csv', polls);
    const arrow = await ingestionOf(generator.url, switches, 'arrow', polls);
    return { csv, arrow };
  } finally {
    await stopChild(generator.child);
  }
}

/** The rows as one table. */
export function formatArrowBench(result: ArrowBenchResult): string {
  const rows: string[][] = [['CSV vs Arrow IPC', 'switches', 'CSV', 'Arrow', 'CSV / Arrow', 'goal']];
  const n = result.switches.toLocaleString('en-US');
  for (const r of result.rows) rows.push([r.what, n, r.csv, r.arrow, r.ratio === undefined ? '' : `${f2(r.ratio)}x`, r.goal ?? '']);
  const g = result.ingestion;
  if (g !== undefined) {
    rows.push(['server: fetch→swap, poll every 1 s (median / max)', n, `${f2(g.csv.fetchToSwapMs.median)} / ${f2(g.csv.fetchToSwapMs.max)} ms (${g.csv.polls} polls)`, `${f2(g.arrow.fetchToSwapMs.median)} / ${f2(g.arrow.fetchToSwapMs.max)} ms (${g.arrow.polls} polls)`, `${f2(g.csv.fetchToSwapMs.median / g.arrow.fetchToSwapMs.median)}x`, '']);
    rows.push(['server: main-thread event-loop delay while ingesting (max / p99)', n, `${f2(g.csv.loopDelayMs.max)} / ${f2(g.csv.loopDelayMs.p99)} ms`, `${f2(g.arrow.loopDelayMs.max)} / ${f2(g.arrow.loopDelayMs.p99)} ms`, '', '']);
  }
  return table(rows);
}

/** Everything above at `switches`; the process part unless `inProcessOnly`. */
export async function arrowBench(switches: number, samples: number, polls: number, inProcessOnly = false): Promise<ArrowBenchResult> {
  const rows = arrowCodecRows(switches, samples);
  if (inProcessOnly) return { switches, rows };
  return { switches, rows, ingestion: await ingestionRows(switches, polls) };
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const runDir = mkdtempSync(join(tmpdir(), 'fabric-bench-arrow-'));
  setRunDir(runDir);
  const load0 = loadavg();
  process.stderr.write(`bench:arrow${quick ? ' --quick' : ''}: logs and configs in ${runDir}\n`);
  const result = await arrowBench(100_000, quick ? 5 : 15, quick ? 5 : 10);
  process.stdout.write(`\nnpm run bench:arrow · ${new Date().toISOString()} · Node ${process.version} · load average ${load0.map((x) => x.toFixed(2)).join(' ')} → ${loadavg().map((x) => x.toFixed(2)).join(' ')}\n\n${formatArrowBench(result)}\n`);
}

if (process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  main().then(
    () => stopAll(),
    async (err: unknown) => {
      process.stderr.write(`bench:arrow failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      await stopAll();
      process.exitCode = 1;
    },
  );
}
