/**
 * Generator benchmark. Two questions, answered in one run on this machine:
 * 1. How long is one tick (simulator step + CSV render) at 1,000 / 10,000 / 100,000 switches?
 *    Goal: under 200 ms at 100,000.
 * 2. How fast does `GET /counters` serve a 10,000-switch body, compared with a bare `node:http`
 *    server that writes a constant body of the same size? Goal: at least 0.8x the bare server.
 *
 * The servers under test run in a child process (this file with `--serve-targets`), and autocannon
 * runs in another, so the load generator never shares an event loop with the server it measures.
 * Loopback only; every load run is bounded in time; every child is stopped by its PID at the end.
 *
 * `runGeneratorBench()` is exported for `bench/run.ts`; `node dist/bench/generator-bench.js`
 * (after `npm run build`) runs it alone and prints the table.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../common/logger.js';
import { METRIC_NAMES } from '../common/telemetry-schema.js';
import { buildGeneratorApp } from '../telemetry_generator/src/app.js';
import { DEFAULT_SIMULATION } from '../telemetry_generator/src/config.js';
import { renderCsv } from '../telemetry_generator/src/csv-writer.js';
import { TelemetryFeed } from '../telemetry_generator/src/feed.js';
import { Simulator } from '../telemetry_generator/src/simulator.js';
import { stopChild } from './processes.js';

export interface TickTiming {
  readonly switches: number;
  /** Medians over `samples` ticks, in milliseconds. */
  readonly stepMs: number;
  readonly renderMs: number;
  readonly tickMs: number;
  readonly bodyBytes: number;
  readonly samples: number;
}

export interface ThroughputTarget {
  readonly requestsPerSecond: number;
  readonly megabytesPerSecond: number;
  readonly latencyP50Ms: number;
  readonly latencyP99Ms: number;
  /** Connection errors, timeouts and non-2xx answers, summed over the rounds. */
  readonly failures: number;
}

export interface GeneratorBenchResult {
  readonly ticks: readonly TickTiming[];
  readonly throughput: {
    readonly switches: number;
    readonly bodyBytes: number;
    readonly connections: number;
    readonly secondsPerRound: number;
    readonly rounds: number;
    readonly bare: ThroughputTarget;
    readonly generator: ThroughputTarget;
    /** generator req/s divided by bare req/s. */
    readonly ratio: number;
  };
  readonly goals: { readonly tickAt100kUnder200Ms: boolean; readonly throughputAtLeast80PercentOfBare: boolean };
}

export interface GeneratorBenchOptions {
  readonly tickSizes?: readonly number[];
  readonly tickSamples?: number;
  readonly throughputSwitches?: number;
  readonly connections?: number;
  readonly secondsPerRound?: number;
  readonly rounds?: number;
}

const SERVE_FLAG = '--serve-targets';
const SEED = 20240101;
const TICK_GOAL_MS = 200;
const THROUGHPUT_GOAL_RATIO = 0.8;

export async function runGeneratorBench(options: GeneratorBenchOptions = {}): Promise<GeneratorBenchResult> {
  const ticks = (options.tickSizes ?? [1_000, 10_000, 100_000]).map((n) => measureTicks(n, options.tickSamples ?? 7));
  const throughput = await measureThroughput(
    options.throughputSwitches ?? 10_000,
    options.connections ?? 10,
    options.secondsPerRound ?? 3,
    options.rounds ?? 2,
  );
  const at100k = ticks.find((t) => t.switches === 100_000);
  return {
    ticks,
    throughput,
    goals: {
      tickAt100kUnder200Ms: at100k !== undefined && at100k.tickMs < TICK_GOAL_MS,
      throughputAtLeast80PercentOfBare: throughput.ratio >= THROUGHPUT_GOAL_RATIO,
    },
  };
}

/** Times `samples` ticks after two warm-up ticks (JIT, first allocation of the render buffer). */
function measureTicks(switches: number, samples: number): TickTiming {
  const simulator = new Simulator({ switchCount: switches, simulation: DEFAULT_SIMULATION, seed: SEED });
  const steps: number[] = [];
  const renders: number[] = [];
  const totals: number[] = [];
  let bodyBytes = 0;
  for (let k = -2; k < samples; k++) {
    const t0 = performance.now();
    simulator.step();
    const t1 = performance.now();
    bodyBytes = renderCsv(simulator.state, METRIC_NAMES).length;
    const t2 = performance.now();
    if (k < 0) continue;
    steps.push(t1 - t0);
    renders.push(t2 - t1);
    totals.push(t2 - t0);
  }
  return { switches, stepMs: median(steps), renderMs: median(renders), tickMs: median(totals), bodyBytes, samples };
}

async function measureThroughput(switches: number, connections: number, secondsPerRound: number, rounds: number): Promise<GeneratorBenchResult['throughput']> {
  const targets = await startTargets(switches);
  try {
    // Both answer, with bodies of the same size, before anything is timed.
    const [g, b] = await Promise.all([fetch(targets.generatorUrl), fetch(targets.bareUrl)]);
    const [gBody, bBody] = await Promise.all([g.arrayBuffer(), b.arrayBuffer()]);
    if (g.status !== 200 || b.status !== 200 || gBody.byteLength !== bBody.byteLength) {
      throw new Error(`targets disagree: generator ${g.status} ${gBody.byteLength} B, bare ${b.status} ${bBody.byteLength} B`);
    }
    await autocannon(targets.bareUrl, connections, 1);
    await autocannon(targets.generatorUrl, connections, 1);
    const bare: AutocannonSummary[] = [];
    const generator: AutocannonSummary[] = [];
    // Alternate the targets so drift on the machine (thermal, other load) hits both alike.
    for (let r = 0; r < rounds; r++) {
      bare.push(await autocannon(targets.bareUrl, connections, secondsPerRound));
      generator.push(await autocannon(targets.generatorUrl, connections, secondsPerRound));
    }
    const bareTarget = summarize(bare);
    const generatorTarget = summarize(generator);
    return {
      switches,
      bodyBytes: gBody.byteLength,
      connections,
      secondsPerRound,
      rounds,
      bare: bareTarget,
      generator: generatorTarget,
      ratio: generatorTarget.requestsPerSecond / bareTarget.requestsPerSecond,
    };
  } finally {
    await targets.stop();
  }
}

interface Targets {
  readonly generatorUrl: string;
  readonly bareUrl: string;
  stop(): Promise<void>;
}

/** Starts this file in `--serve-targets` mode and waits for the line with both ports. */
async function startTargets(switches: number): Promise<Targets> {
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), SERVE_FLAG, String(switches)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const stop = (): Promise<void> => stopChild(child);
  try {
    const line = await firstLine(child, 30_000);
    const ports: unknown = JSON.parse(line);
    if (!isPorts(ports)) throw new Error(`unexpected line from the target process: ${line}`);
    return { generatorUrl: `http://127.0.0.1:${ports.generator}/counters`, bareUrl: `http://127.0.0.1:${ports.bare}/counters`, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

function isPorts(value: unknown): value is { generator: number; bare: number } {
  return typeof value === 'object' && value !== null && 'generator' in value && 'bare' in value && typeof value.generator === 'number' && typeof value.bare === 'number';
}

function firstLine(child: ChildProcess, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`the target process did not start within ${timeoutMs} ms`)), timeoutMs);
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      text += chunk;
      const end = text.indexOf('\n');
      if (end !== -1) {
        clearTimeout(timer);
        resolve(text.slice(0, end));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the target process exited (${code}) before listening`));
    });
  });
}

interface AutocannonSummary {
  readonly requestsPerSecond: number;
  readonly bytesPerSecond: number;
  readonly p50: number;
  readonly p99: number;
  readonly failures: number;
}

/** One bounded autocannon run in its own process; its `--json` summary is parsed. */
function autocannon(url: string, connections: number, seconds: number): Promise<AutocannonSummary> {
  const cli = fileURLToPath(import.meta.resolve('autocannon'));
  const child = spawn(process.execPath, [cli, '--json', '-c', String(connections), '-d', String(seconds), url], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    // autocannon stops itself after `seconds`; this only guards against it hanging.
    const guard = setTimeout(() => child.kill('SIGKILL'), (seconds + 15) * 1000);
    child.once('exit', (code) => {
      clearTimeout(guard);
      try {
        if (code !== 0) throw new Error(`autocannon exited ${code}: ${err.trim()}`);
        resolve(parseAutocannon(JSON.parse(out)));
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
  });
}

function parseAutocannon(json: unknown): AutocannonSummary {
  const num = (path: string): number => {
    let node: unknown = json;
    for (const key of path.split('.')) node = typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[key] : undefined;
    if (typeof node !== 'number') throw new Error(`autocannon output has no number at ${path}`);
    return node;
  };
  return {
    requestsPerSecond: num('requests.average'),
    bytesPerSecond: num('throughput.average'),
    p50: num('latency.p50'),
    p99: num('latency.p99'),
    failures: num('errors') + num('timeouts') + num('non2xx'),
  };
}

function summarize(runs: readonly AutocannonSummary[]): ThroughputTarget {
  const mean = (f: (r: AutocannonSummary) => number): number => runs.reduce((s, r) => s + f(r), 0) / runs.length;
  return {
    requestsPerSecond: mean((r) => r.requestsPerSecond),
    megabytesPerSecond: mean((r) => r.bytesPerSecond) / 1e6,
    latencyP50Ms: mean((r) => r.p50),
    latencyP99Ms: mean((r) => r.p99),
    failures: runs.reduce((s, r) => s + r.failures, 0),
  };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The result as a plain-text table. */
export function formatGeneratorBench(result: GeneratorBenchResult): string {
  const t = result.throughput;
  const pad = (s: string, n: number): string => s.padStart(n);
  const lines = [
    `Generator tick (step + render), median of ${result.ticks[0]?.samples ?? 0} ticks; goal < ${TICK_GOAL_MS} ms at 100,000`,
    `${pad('switches', 10)} ${pad('step ms', 9)} ${pad('render ms', 10)} ${pad('tick ms', 9)} ${pad('body bytes', 12)}`,
    ...result.ticks.map(
      (r) => `${pad(r.switches.toLocaleString('en-US'), 10)} ${pad(r.stepMs.toFixed(2), 9)} ${pad(r.renderMs.toFixed(2), 10)} ${pad(r.tickMs.toFixed(2), 9)} ${pad(r.bodyBytes.toLocaleString('en-US'), 12)}`,
    ),
    '',
    `GET /counters at ${t.switches.toLocaleString('en-US')} switches (${t.bodyBytes.toLocaleString('en-US')}-byte body), autocannon -c ${t.connections}, ${t.rounds} x ${t.secondsPerRound} s per target`,
    `${pad('target', 12)} ${pad('req/s', 9)} ${pad('MB/s', 8)} ${pad('p50 ms', 7)} ${pad('p99 ms', 7)} ${pad('failures', 9)} ${pad('vs bare', 8)}`,
    ...(
      [
        ['bare http', t.bare],
        ['generator', t.generator],
      ] as const
    ).map(
      ([name, r]) =>
        `${pad(name, 12)} ${pad(r.requestsPerSecond.toFixed(0), 9)} ${pad(r.megabytesPerSecond.toFixed(1), 8)} ${pad(r.latencyP50Ms.toFixed(1), 7)} ${pad(r.latencyP99Ms.toFixed(1), 7)} ${pad(String(r.failures), 9)} ${pad((r.requestsPerSecond / t.bare.requestsPerSecond).toFixed(2) + 'x', 8)}`,
    ),
    '',
    `goals: tick at 100k < ${TICK_GOAL_MS} ms: ${result.goals.tickAt100kUnder200Ms ? 'met' : 'NOT met'}; ` +
      `throughput >= ${THROUGHPUT_GOAL_RATIO}x bare: ${result.goals.throughputAtLeast80PercentOfBare ? 'met' : 'NOT met'} (${t.ratio.toFixed(2)}x)`,
  ];
  return lines.join('\n');
}

/**
 * Target-process mode: the generator app and a bare node:http server with a same-sized constant
 * body, both on loopback port 0. Prints `{"generator":P,"bare":Q}` and runs until SIGTERM/SIGINT.
 * The feed's timer is not started: what is measured is serving the prepared bytes of one tick.
 */
async function serveTargets(switches: number): Promise<void> {
  const feed = new TelemetryFeed({
    switchCount: switches,
    metrics: METRIC_NAMES,
    simulation: DEFAULT_SIMULATION,
    seed: SEED,
    updateIntervalSeconds: 10,
    logger: createLogger({ level: 'WARNING', format: 'text' }),
  });
  const app = buildGeneratorApp({ feed });
  await app.listen({ host: '127.0.0.1', port: 0 });

  const counters = feed.current();
  const constant = Buffer.alloc(counters.body.length, 'x');
  const bare: Server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/csv; charset=utf-8', 'content-length': constant.length, etag: counters.etag });
    res.end(constant);
  });
  await new Promise<void>((resolve) => bare.listen(0, '127.0.0.1', resolve));

  const generatorAddress = app.server.address();
  const bareAddress = bare.address();
  if (generatorAddress === null || typeof generatorAddress === 'string' || bareAddress === null || typeof bareAddress === 'string') {
    throw new Error('targets are not bound to TCP ports');
  }
  process.stdout.write(`${JSON.stringify({ generator: generatorAddress.port, bare: bareAddress.port })}\n`);

  const stop = (): void => {
    bare.closeAllConnections();
    bare.close();
    void app.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

const invokedDirectly = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
if (invokedDirectly) {
  const flag = process.argv.indexOf(SERVE_FLAG);
  if (flag !== -1) {
    serveTargets(Number(process.argv[flag + 1] ?? 10_000)).catch((err: unknown) => {
      process.stderr.write(`generator bench targets: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    });
  } else {
    runGeneratorBench().then(
      (result) => process.stdout.write(formatGeneratorBench(result) + '\n'),
      (err: unknown) => {
        process.stderr.write(`generator bench failed: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exitCode = 1;
      },
    );
  }
}
