/**
 * `npm run bench` (`--quick` for a short run): the performance figures of issue 5, measured on this
 * machine in one run.
 *
 * - The real services are started as a user starts them (`node dist/...main.js`, default INFO text
 *   logging, written to a file, not a terminal) on free loopback ports, with config files of the
 *   benchmark's own. Load comes from autocannon in another process (`bench/load.ts`); the ceiling is
 *   a bare `node:http` server in a third (`bench/bare-server.ts`) that answers a constant body of the
 *   same size as the response under test. Every throughput figure is printed next to the ceiling's,
 *   as a ratio, measured in alternating rounds of the same run.
 * - Scenarios at 4, 1,000, 10,000 and 100,000 switches: GetMetric over a rotating set of switches and
 *   metrics; ListMetrics; /metrics (10,000 and 100,000, when the server has it); ingestion (fetch to
 *   swap, from Status `last_poll.duration_ms`, and main-thread event-loop delay, from Status
 *   `event_loop`, over a window with several polls at a 1 s interval); GetMetric latency at a fixed
 *   rate while ingesting against idle; resident memory over 50 snapshots at 100,000.
 * - In-process: the byte parser against the reference string parser and csv-parse on the same body,
 *   the byte renderers against the string ones; and the generator benchmark.
 *
 * Every process it starts is tracked and stopped by PID at the end, on error and on Ctrl-C. All load
 * is bounded in time. Results: one table on stdout, JSON in `bench/results/` (machine, Node version,
 * date, load average before and after; another process on this machine skews absolute figures, the
 * ratios are measured side by side and suspicious pairs are run again).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { parse as csvParse } from 'csv-parse/sync';
import { METRIC_NAMES, parseDecimalNumber } from '../common/telemetry-schema.js';
import { parseTelemetryBytes } from '../metrics_server/src/ingest/csv-parser.js';
import { parseTelemetryCsvReference } from '../metrics_server/src/ingest/csv-parser-reference.js';
import { prepareWithColumns } from '../metrics_server/src/ingest/prepare.js';
import { renderListMetricsBytes, renderListMetricsJson } from '../metrics_server/src/views/list-metrics.js';
import { renderFabricExposition, renderFabricExpositionBytes, renderFabricGzip } from '../metrics_server/src/views/prometheus-fabric.js';
import { DEFAULT_SIMULATION } from '../telemetry_generator/src/config.js';
import { renderCsv } from '../telemetry_generator/src/csv-writer.js';
import { simulate } from '../telemetry_generator/src/simulator.js';
import { formatGeneratorBench, runGeneratorBench, type GeneratorBenchResult } from './generator-bench.js';
import type { LoadResult, LoadSpec } from './load.js';

// ---------------------------------------------------------------------------------------------
// Settings

interface Settings {
  readonly quick: boolean;
  readonly sizes: readonly number[];
  readonly secondsPerRound: number;
  readonly rounds: number;
  /** Length of the ingestion window, with polls every second. */
  readonly windowSeconds: number;
  /** Snapshots to watch resident memory over, at the largest size. */
  readonly rssSnapshots: number;
  /** Fixed request rate for the latency-under-ingestion comparison. */
  readonly fixedRate: number;
  readonly samples: number;
}

const FULL: Settings = { quick: false, sizes: [4, 1_000, 10_000, 100_000], secondsPerRound: 3, rounds: 2, windowSeconds: 10, rssSnapshots: 50, fixedRate: 1000, samples: 7 };
const QUICK: Settings = { quick: true, sizes: [1_000, 100_000], secondsPerRound: 1.5, rounds: 1, windowSeconds: 6, rssSnapshots: 10, fixedRate: 1000, samples: 3 };

const GOAL_RATIO = 0.8;
const GOAL_INGEST_MS = 300;
const GOAL_LOOP_MAX_MS = 20;
const GOAL_P99_FACTOR = 2;
const GOAL_RSS_MB = 250;
const SEED = 20240101;

const here = fileURLToPath(new URL('.', import.meta.url));
const root = join(here, '..', '..');
const dist = join(root, 'dist');

// ---------------------------------------------------------------------------------------------
// Processes: every child is tracked and stopped by its PID.

const children = new Set<ChildProcess>();

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const forced = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(forced);
}

async function stopAll(): Promise<void> {
  await Promise.all([...children].map(stopChild));
}

process.once('SIGINT', () => {
  process.stderr.write('\nbench: interrupted; stopping its processes\n');
  void stopAll().then(() => process.exit(130));
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits for a line matching `pattern` in a log file the child writes. */
async function waitForLog(child: ChildProcess, logPath: string, pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = pattern.exec(readFileSync(logPath, 'utf8'));
    if (match !== null) return match;
    if (child.exitCode !== null) throw new Error(`${logPath}: the process exited (${child.exitCode}) before "${pattern.source}"`);
    if (Date.now() > deadline) throw new Error(`${logPath}: no "${pattern.source}" within ${timeoutMs} ms`);
    await sleep(50);
  }
}

interface Service {
  readonly child: ChildProcess;
  readonly url: string;
  readonly logPath: string;
}

const CLEAN_ENV_KEYS = ['LOG_LEVEL', 'LOG_FORMAT', 'POLL_INTERVAL_SECONDS', 'FETCH_TIMEOUT_SECONDS', 'MAX_BODY_BYTES', 'GENERATOR_URL', 'GENERATOR_HOST', 'GENERATOR_PORT', 'METRICS_SERVER_HOST', 'METRICS_SERVER_PORT', 'GENERATOR_CONFIG', 'METRICS_SERVER_CONFIG'];

function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !CLEAN_ENV_KEYS.includes(key)));
  return { ...env, ...extra };
}

/** Starts a built service like a user does, its output (INFO, text) going to a log file. */
async function startService(script: string, env: Record<string, string>, logPath: string): Promise<Service> {
  const fd = openSync(logPath, 'a');
  const child = track(spawn(process.execPath, [join(dist, script)], { env: cleanEnv(env), stdio: ['ignore', fd, fd] }));
  closeSync(fd);
  try {
    const match = await waitForLog(child, logPath, /listening on (http:\/\/[^\s]+)/, 60_000);
    return { child, url: match[1]!, logPath };
  } catch (err) {
    await stopChild(child);
    throw err;
  }
}

let runDir = '';
let serviceCount = 0;

async function startGenerator(switches: number, intervalSeconds: number): Promise<Service> {
  const n = ++serviceCount;
  const config = join(runDir, `generator-${n}.json`);
  writeFileSync(config, JSON.stringify({ switches: { count: switches }, update_interval_seconds: intervalSeconds, seed: SEED, logging: { level: 'INFO', format: 'text' } }));
  return startService('telemetry_generator/src/main.js', { GENERATOR_CONFIG: config, GENERATOR_HOST: '127.0.0.1', GENERATOR_PORT: '0' }, join(runDir, `generator-${n}-${switches}.log`));
}

async function startMetricsServer(generatorUrl: string, pollSeconds: number, switches: number): Promise<Service> {
  const n = ++serviceCount;
  const config = join(runDir, `server-${n}.json`);
  writeFileSync(
    config,
    JSON.stringify({
      logging: { level: 'INFO', format: 'text' },
      ingestion: { generator_url: `${generatorUrl}/counters`, poll_interval_seconds: pollSeconds, fetch_timeout_seconds: 5 },
    }),
  );
  const service = await startService('metrics_server/src/main.js', { METRICS_SERVER_CONFIG: config, METRICS_SERVER_PORT: '0' }, join(runDir, `server-${n}-${switches}.log`));
  const deadline = Date.now() + 60_000;
  while ((await status(service.url)).snapshot === null) {
    if (Date.now() > deadline) throw new Error(`the metrics server (${service.logPath}) ingested nothing within 60 s`);
    await sleep(100);
  }
  return service;
}

/** A constant-body server (`bare-server.js`, or `fastify-floor.js`) that prints `{"port":P}`. */
async function startBare(script = 'bench/bare-server.js'): Promise<{ child: ChildProcess; url: string }> {
  const child = track(spawn(process.execPath, [join(dist, script)], { stdio: ['ignore', 'pipe', 'inherit'] }));
  const line = await new Promise<string>((resolve, reject) => {
    let text = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      text += chunk;
      if (text.includes('\n')) resolve(text.slice(0, text.indexOf('\n')));
    });
    child.once('exit', (code) => reject(new Error(`bare server exited (${code})`)));
  });
  const { port } = JSON.parse(line) as { port: number };
  return { child, url: `http://127.0.0.1:${port}` };
}

/** One bounded autocannon run in its own process. */
function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const child = track(spawn(process.execPath, [join(dist, 'bench/load.js'), JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'pipe'] }));
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    const guard = setTimeout(() => child.kill('SIGKILL'), (spec.seconds + 30) * 1000);
    child.once('exit', (code) => {
      clearTimeout(guard);
      if (code !== 0) reject(new Error(`load generator exited ${code}: ${err.trim()}`));
      else resolve(JSON.parse(out) as LoadResult);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Reading the server

interface StatusDoc {
  readonly snapshot: { readonly version: number; readonly switches: number } | null;
  readonly ingestion: { readonly last_poll: { readonly outcome: string; readonly started_at: number; readonly duration_ms: number; readonly bytes: number } | null };
  readonly event_loop?: {
    readonly last_window: EventLoopWindow | null;
    readonly current_window: EventLoopWindow | null;
  };
}
interface EventLoopWindow {
  readonly started_at_ms: number;
  readonly ended_at_ms: number;
  readonly delay_ms: { readonly p50: number; readonly p99: number; readonly max: number; readonly mean: number };
}

async function status(url: string): Promise<StatusDoc> {
  const res = await fetch(`${url}/telemetry/Status`);
  return (await res.json()) as StatusDoc;
}

const GZIP = { 'accept-encoding': 'gzip' } as const;

/** The length of a body as sent with `Accept-Encoding: gzip` (fetch would decompress it). */
function gzipBodyLength(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers: GZIP }, (res) => {
        let bytes = 0;
        res.on('data', (chunk: Buffer) => (bytes += chunk.length));
        res.on('end', () => resolve(bytes));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

async function bodyLength(url: string): Promise<{ status: number; bytes: number }> {
  const res = await fetch(url);
  return { status: res.status, bytes: (await res.arrayBuffer()).byteLength };
}

/** Resident set size of a process, in MB, from /proc. */
function rssMb(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match === null ? NaN : Number(match[1]) / 1024;
}

// ---------------------------------------------------------------------------------------------
// Measurements

interface Side {
  readonly requestsPerSecond: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly failures: number;
}

interface Comparison {
  readonly scenario: string;
  readonly switches: number;
  readonly bodyBytes: number;
  readonly connections: number;
  readonly rounds: number;
  readonly server: Side;
  readonly bare: Side;
  readonly ratio: number;
  readonly reruns: number;
}

function mean(runs: readonly LoadResult[]): Side {
  const avg = (f: (r: LoadResult) => number): number => runs.reduce((s, r) => s + f(r), 0) / runs.length;
  return {
    requestsPerSecond: avg((r) => r.requestsPerSecond),
    p50: avg((r) => r.latencyMs.p50),
    p99: avg((r) => r.latencyMs.p99),
    max: Math.max(...runs.map((r) => r.latencyMs.max)),
    failures: runs.reduce((s, r) => s + r.failures, 0),
  };
}

/** Server and ceiling in alternating rounds; a ratio that looks wrong is measured again. */
async function compare(
  settings: Settings,
  scenario: string,
  switches: number,
  server: { url: string; paths: readonly string[]; headers?: Readonly<Record<string, string>> },
  bareUrl: string,
  bodyBytes: number,
  connections: number,
): Promise<Comparison> {
  const bare = { url: bareUrl, paths: [`/bytes/${bodyBytes}`] };
  const serverRuns: LoadResult[] = [];
  const bareRuns: LoadResult[] = [];
  await runLoad({ ...server, connections, seconds: 1 });
  await runLoad({ ...bare, connections, seconds: 1 });
  let reruns = 0;
  const round = async (): Promise<void> => {
    for (let r = 0; r < settings.rounds; r++) {
      bareRuns.push(await runLoad({ ...bare, connections, seconds: settings.secondsPerRound }));
      serverRuns.push(await runLoad({ ...server, connections, seconds: settings.secondsPerRound }));
    }
  };
  await round();
  let ratio = mean(serverRuns).requestsPerSecond / mean(bareRuns).requestsPerSecond;
  if (ratio < GOAL_RATIO || ratio > 1.15 || mean(serverRuns).failures > 0) {
    reruns += 1;
    await round();
    ratio = mean(serverRuns).requestsPerSecond / mean(bareRuns).requestsPerSecond;
  }
  const result: Comparison = { scenario, switches, bodyBytes, connections, rounds: serverRuns.length, server: mean(serverRuns), bare: mean(bareRuns), ratio, reruns };
  process.stderr.write(`  ${scenario} @ ${switches}: ${result.server.requestsPerSecond.toFixed(0)} vs ${result.bare.requestsPerSecond.toFixed(0)} req/s = ${ratio.toFixed(2)}x${reruns > 0 ? ' (rerun)' : ''}\n`);
  return result;
}

function getMetricPaths(switches: number): string[] {
  const paths: string[] = [];
  const count = Math.min(1000, switches * METRIC_NAMES.length);
  for (let i = 0; i < count; i++) {
    const sw = 1 + ((i * 7919) % switches);
    paths.push(`/telemetry/GetMetric?switch=sw${sw}&metric=${METRIC_NAMES[i % METRIC_NAMES.length]}`);
  }
  return paths;
}

/** The typical GetMetric body size over the rotating set (ids have different lengths). */
async function typicalBytes(url: string, paths: readonly string[]): Promise<number> {
  const sizes: number[] = [];
  for (const path of paths.slice(0, 50)) sizes.push((await bodyLength(`${url}${path}`)).bytes);
  return median(sizes);
}

interface IngestionResult {
  readonly switches: number;
  readonly windowSeconds: number;
  readonly polls: number;
  readonly fetchToSwapMs: { readonly median: number; readonly max: number; readonly all: readonly number[] };
  readonly eventLoopDelayMs: { readonly max: number; readonly p99: number; readonly windows: number };
  readonly idleEventLoopDelayMs: { readonly max: number; readonly p99: number; readonly windows: number };
  readonly getMetricAtFixedRate: { readonly rate: number; readonly idle: Side; readonly ingesting: Side; readonly p99Factor: number };
  readonly bytes: number;
}

interface Watch {
  readonly durations: Map<number, number>;
  readonly windows: Map<number, EventLoopWindow>;
  bytes: number;
  lastVersion: number;
}

async function watch(url: string, until: () => boolean, into: Watch, onVersion?: (version: number) => void): Promise<void> {
  while (!until()) {
    const doc = await status(url);
    const poll = doc.ingestion.last_poll;
    const version = doc.snapshot?.version ?? 0;
    if (poll !== null && poll.outcome === 'ok' && !into.durations.has(version)) {
      into.durations.set(version, poll.duration_ms);
      into.bytes = poll.bytes;
    }
    for (const w of [doc.event_loop?.last_window, doc.event_loop?.current_window]) if (w != null) into.windows.set(w.started_at_ms, w);
    if (version !== into.lastVersion) {
      into.lastVersion = version;
      onVersion?.(version);
    }
    await sleep(200);
  }
}

/** Event-loop windows that lie entirely inside [from, to]. */
function loopDelay(windows: Map<number, EventLoopWindow>, from: number, to: number): { max: number; p99: number; windows: number } {
  const inside = [...windows.values()].filter((w) => w.started_at_ms >= from && w.ended_at_ms <= to && w.ended_at_ms - w.started_at_ms >= 1000);
  return { max: Math.max(...inside.map((w) => w.delay_ms.max)), p99: Math.max(...inside.map((w) => w.delay_ms.p99)), windows: inside.length };
}

// ---------------------------------------------------------------------------------------------
// In-process comparisons

interface CodecRow {
  readonly what: string;
  readonly optimizedMs: number;
  readonly referenceMs: number;
  readonly csvParseMs?: number;
  readonly bytes: number;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function time(samples: number, run: () => unknown): number {
  run();
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t0 = performance.now();
    run();
    times.push(performance.now() - t0);
  }
  return median(times);
}

async function timeAsync(samples: number, run: () => Promise<unknown>): Promise<number> {
  await run();
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t0 = performance.now();
    await run();
    times.push(performance.now() - t0);
  }
  return median(times);
}

async function codecBench(settings: Settings, switches: number): Promise<CodecRow[]> {
  const body = renderCsv(simulate({ switchCount: switches, simulation: DEFAULT_SIMULATION, seed: SEED }, 3), [...METRIC_NAMES]);
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  const timestamp = 1766501919;
  const parsed = parseTelemetryBytes(body, 2);
  const reference = parseTelemetryCsvReference(decoder.decode(body));
  if (!parsed.ok || !reference.ok) throw new Error('the benchmark CSV does not parse');
  const { switchIds, metrics, values } = reference.data;
  const n = settings.samples;
  const csvParse6 = (): Float64Array => {
    const records = csvParse(body, { from_line: 2 }) as string[][];
    const out = new Float64Array(records.length * 6);
    let k = 0;
    for (const record of records) for (let c = 1; c < record.length; c++) out[k++] = parseDecimalNumber(record[c]!) ?? NaN;
    return out;
  };
  const rows: CodecRow[] = [
    { what: 'parse CSV', optimizedMs: time(n, () => parseTelemetryBytes(body, 2)), referenceMs: time(n, () => parseTelemetryCsvReference(decoder.decode(body))), csvParseMs: time(Math.min(n, 3), csvParse6), bytes: body.length },
    {
      what: 'ListMetrics JSON',
      optimizedMs: time(n, () => renderListMetricsBytes(parsed.data, timestamp)),
      referenceMs: time(n, () => encoder.encode(renderListMetricsJson(switchIds, metrics, values, timestamp))),
      bytes: renderListMetricsBytes(parsed.data, timestamp).length,
    },
    {
      what: 'Prometheus fabric text',
      optimizedMs: time(n, () => renderFabricExpositionBytes(parsed.data)),
      referenceMs: time(n, () => encoder.encode(renderFabricExposition(switchIds, metrics, values))),
      bytes: renderFabricExpositionBytes(parsed.data).length,
    },
    {
      what: 'Prometheus fabric gzip (lazy, first scrape)',
      optimizedMs: await timeAsync(n, () => renderFabricGzip(parsed.data)),
      referenceMs: time(n, () => gzipSync(renderFabricExpositionBytes(parsed.data), { level: 1 })),
      bytes: (await renderFabricGzip(parsed.data)).length,
    },
    {
      what: 'prepare in the worker (parse, index, ListMetrics, keep columns)',
      optimizedMs: time(n, () => prepareWithColumns(body, timestamp, { prometheusFabric: true })),
      referenceMs: time(n, () => {
        const r = parseTelemetryCsvReference(decoder.decode(body));
        if (!r.ok) throw new Error('unreachable');
        encoder.encode(renderListMetricsJson(r.data.switchIds, r.data.metrics, r.data.values, timestamp));
      }),
      bytes: body.length,
    },
  ];
  return rows;
}

// ---------------------------------------------------------------------------------------------
// The run

interface SizeResult {
  readonly switches: number;
  readonly comparisons: Comparison[];
  ingestion?: IngestionResult;
  rss?: RssResult;
  metricsEndpoint?: string;
}

interface RssResult {
  readonly switches: number;
  readonly snapshots: number;
  readonly samplesMb: readonly number[];
  readonly firstMb: number;
  readonly lastMb: number;
  readonly maxMb: number;
  /** Mean of the last 10 samples over the mean of samples 6-15 (after warm-up). */
  readonly growth: number;
}

async function benchSize(settings: Settings, switches: number, bareUrl: string): Promise<SizeResult> {
  process.stderr.write(`switches ${switches.toLocaleString('en-US')}\n`);
  const out: SizeResult = { switches, comparisons: [] };
  const generator = await startGenerator(switches, 1);
  try {
    // Idle: one snapshot, no further polls.
    const idle = await startMetricsServer(generator.url, 3600, switches);
    let idleFixed: Side;
    let idleLoop: { max: number; p99: number; windows: number };
    try {
      const paths = getMetricPaths(switches);
      const getBytes = await typicalBytes(idle.url, paths);
      out.comparisons.push(await compare(settings, 'GetMetric', switches, { url: idle.url, paths }, bareUrl, getBytes, 10));
      const list = await bodyLength(`${idle.url}/telemetry/ListMetrics`);
      out.comparisons.push(await compare(settings, 'ListMetrics', switches, { url: idle.url, paths: ['/telemetry/ListMetrics'] }, bareUrl, list.bytes, switches >= 10_000 ? 4 : 10));
      if (switches >= 10_000) {
        const metrics = await bodyLength(`${idle.url}/metrics`);
        if (metrics.status === 200) {
          // Without Accept-Encoding (autocannon sends none): the stored gzip body decompressed as sent.
          out.comparisons.push(await compare(settings, '/metrics scrape', switches, { url: idle.url, paths: ['/metrics'] }, bareUrl, metrics.bytes, 2));
          // As Prometheus scrapes: Accept-Encoding gzip, the stored members sent as they are.
          const gzipped = await gzipBodyLength(`${idle.url}/metrics`);
          out.comparisons.push(await compare(settings, '/metrics scrape, gzip', switches, { url: idle.url, paths: ['/metrics'], headers: GZIP }, bareUrl, gzipped, 2));
          out.metricsEndpoint = 'measured';
        } else out.metricsEndpoint = `GET /metrics answered ${metrics.status}: not measured`;
      }
      // Latency at a fixed rate, no ingestion: the baseline for "while ingesting".
      const t0 = Date.now();
      const watched: Watch = { durations: new Map(), windows: new Map(), bytes: 0, lastVersion: 0 };
      let done = false;
      const watching = watch(idle.url, () => done, watched);
      idleFixed = mean([await runLoad({ url: idle.url, paths, connections: 10, seconds: settings.windowSeconds, rate: settings.fixedRate })]);
      done = true;
      await watching;
      idleLoop = loopDelay(watched.windows, t0, Date.now());
    } finally {
      await stopChild(idle.child);
    }

    // Ingesting: a poll every second (the generator ticks every second too).
    const busy = await startMetricsServer(generator.url, 1, switches);
    try {
      const paths = getMetricPaths(switches);
      // Let two more polls pass (JIT warm-up of the worker and the main thread).
      const warm: Watch = { durations: new Map(), windows: new Map(), bytes: 0, lastVersion: 0 };
      const first = (await status(busy.url)).snapshot!.version;
      const warmDeadline = Date.now() + 15_000;
      await watch(busy.url, () => warm.lastVersion >= first + 2 || Date.now() > warmDeadline, warm);

      const t0 = Date.now();
      const watched: Watch = { durations: new Map(), windows: new Map(), bytes: 0, lastVersion: warm.lastVersion };
      let done = false;
      const watching = watch(busy.url, () => done, watched);
      const ingestingFixed = mean([await runLoad({ url: busy.url, paths, connections: 10, seconds: settings.windowSeconds, rate: settings.fixedRate })]);
      done = true;
      await watching;
      const t1 = Date.now();
      const durations = [...watched.durations.values()];
      out.ingestion = {
        switches,
        windowSeconds: (t1 - t0) / 1000,
        polls: durations.length,
        fetchToSwapMs: { median: median(durations), max: Math.max(...durations), all: durations },
        eventLoopDelayMs: loopDelay(watched.windows, t0, t1),
        idleEventLoopDelayMs: idleLoop,
        getMetricAtFixedRate: { rate: settings.fixedRate, idle: idleFixed, ingesting: ingestingFixed, p99Factor: ingestingFixed.p99 / idleFixed.p99 },
        bytes: watched.bytes,
      };
      process.stderr.write(
        `  ingestion @ ${switches}: ${durations.length} polls, fetch→swap median ${median(durations).toFixed(1)} ms, loop delay max ${out.ingestion.eventLoopDelayMs.max} ms, p99 ${ingestingFixed.p99.toFixed(2)} vs idle ${idleFixed.p99.toFixed(2)} ms\n`,
      );

      if (switches === Math.max(...settings.sizes)) {
        // Resident memory across a steady stream of snapshots.
        const samples: number[] = [];
        const start = watched.lastVersion;
        const rssWatch: Watch = { durations: new Map(), windows: new Map(), bytes: 0, lastVersion: start };
        const deadline = Date.now() + settings.rssSnapshots * 4000;
        await watch(
          busy.url,
          () => samples.length >= settings.rssSnapshots || Date.now() > deadline,
          rssWatch,
          () => samples.push(rssMb(busy.child.pid!)),
        );
        const avg = (xs: readonly number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;
        const settled = samples.slice(5, 15);
        out.rss = {
          switches,
          snapshots: samples.length,
          samplesMb: samples.map((x) => Math.round(x * 10) / 10),
          firstMb: samples[0]!,
          lastMb: samples[samples.length - 1]!,
          maxMb: Math.max(...samples),
          growth: avg(samples.slice(-10)) / avg(settled.length > 0 ? settled : samples.slice(0, 5)),
        };
        process.stderr.write(`  RSS @ ${switches} over ${samples.length} snapshots: first ${out.rss.firstMb.toFixed(0)} MB, last ${out.rss.lastMb.toFixed(0)} MB, max ${out.rss.maxMb.toFixed(0)} MB\n`);
      }
    } finally {
      await stopChild(busy.child);
    }
  } finally {
    await stopChild(generator.child);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Output

const f0 = (x: number): string => (Number.isFinite(x) ? x.toFixed(0) : '-');
const f2 = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : '-');
const mb = (bytes: number): string => (bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : bytes >= 1e3 ? `${(bytes / 1e3).toFixed(1)} kB` : `${bytes} B`);
const met = (ok: boolean): string => (ok ? 'met' : 'NOT met');

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: readonly string[]): string => `| ${r.map((cell, c) => (c < 2 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join(' | ')} |`;
  return [line(rows[0]!), `|${widths.map((w, c) => (c < 2 ? ` ${'-'.repeat(w)} ` : ` ${'-'.repeat(w - 1)}: `)).join('|')}|`, ...rows.slice(1).map(line)].join('\n');
}

function render(sizes: readonly SizeResult[], codec: readonly CodecRow[], codecSwitches: number, generator: GeneratorBenchResult): string {
  const rows: string[][] = [['scenario', 'switches', 'body', 'server', 'ceiling (bare node:http)', 'ratio', 'p50 ms server / bare', 'p99 ms server / bare', 'goal']];
  for (const size of sizes) {
    for (const c of size.comparisons) {
      const goal = c.scenario.startsWith('/metrics scrape') || size.switches === 0 ? '' : `>= ${GOAL_RATIO}x: ${met(c.ratio >= GOAL_RATIO)}`;
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
  return table(rows);
}

async function main(): Promise<void> {
  const settings = process.argv.includes('--quick') ? QUICK : FULL;
  const started = new Date();
  const load0 = loadavg();
  runDir = mkdtempSync(join(tmpdir(), 'fabric-bench-'));
  process.stderr.write(`bench${settings.quick ? ' --quick' : ''}: logs and configs in ${runDir}\n`);

  const codecSwitches = 100_000;
  process.stderr.write('codec: byte parser and renderers vs reference and csv-parse\n');
  const codec = await codecBench(settings, codecSwitches);

  const bare = await startBare();
  const sizes: SizeResult[] = [];
  try {
    // The framework's own share of the gap: Fastify with no hooks, no logging, one route and a
    // constant GetMetric-sized body, against the same bare server (shown as 0 switches).
    const floor = await startBare('bench/fastify-floor.js');
    try {
      sizes.push({ switches: 0, comparisons: [await compare(settings, 'Fastify alone (no hooks, constant body)', 0, { url: floor.url, paths: ['/bytes/78'] }, bare.url, 78, 10)] });
    } finally {
      await stopChild(floor.child);
    }
    for (const switches of settings.sizes) sizes.push(await benchSize(settings, switches, bare.url));
  } finally {
    await stopChild(bare.child);
  }

  process.stderr.write('generator bench\n');
  const generator = await runGeneratorBench(settings.quick ? { tickSamples: 3, rounds: 1, secondsPerRound: 1.5 } : {});

  const text = render(sizes, codec, codecSwitches, generator);
  const machine = { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version, platform: process.platform };
  const header = `npm run bench${settings.quick ? ' -- --quick' : ''} · ${started.toISOString()} · ${machine.cpu}, ${machine.cores} cores · Node ${machine.node} · load average ${load0.map((x) => x.toFixed(2)).join(' ')} → ${loadavg().map((x) => x.toFixed(2)).join(' ')}`;
  process.stdout.write(`\n${header}\n\n${text}\n\n${formatGeneratorBench(generator)}\n`);

  const resultsDir = join(root, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  const name = `bench-${started.toISOString().replace(/[:.]/g, '-')}${settings.quick ? '-quick' : ''}.json`;
  const json = { date: started.toISOString(), settings, machine, loadAverage: { before: load0, after: loadavg() }, sizes, codec, generator, table: text };
  writeFileSync(join(resultsDir, name), `${JSON.stringify(json, null, 2)}\n`);
  process.stdout.write(`\nwritten: bench/results/${name}\n`);
}

main().then(
  () => stopAll(),
  async (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    await stopAll();
    process.exitCode = 1;
  },
);
