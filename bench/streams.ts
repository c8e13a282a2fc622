/**
 * `npm run bench:streams` (`--quick` for a short run): the figures of issue 13, on this machine.
 *
 * - **Payload**: a delta event's bytes against a full event's at the simulator's default churn, at
 *   10,000 and 100,000 switches (mean over ticks after the first), CSV and Arrow (base64) events.
 * - **Freshness**: the lag from the start of a generator tick (step + render) to the moment GetMetric
 *   over HTTP returns that tick's value for a switch that changed in it. Push mode at 10,000 and
 *   100,000 switches, with CSV and with Arrow events (`ingestion.format`); poll mode at 10,000 with a
 *   1 s poll interval, ticks at random phases; the first 3 ticks warm up and are not counted.
 *   `--only freshness` runs these rows alone. The
 *   generator (TelemetryFeed + its stream app) and the metrics server (ingestion worker, render
 *   worker) run in this process on loopback, so a tick's rendering shares the event loop with the
 *   server: a conservative setup.
 * - **Fan-out**: N `/telemetry/stream?changes=1` clients (another process, bench/stream-clients.ts)
 *   on a server at 10,000 switches that gets a new snapshot every second (published straight into
 *   its store from CSVs prepared beforehand, so only the server's own work is on its event loop;
 *   2 warm-up snapshots first, not counted): delivery p99 after the swap, every client got every event, the server's event-loop delay max, RSS
 *   before and after.
 * - **Idle connections**: M idle stream connections held; the server's RSS growth per connection.
 *
 * Everything listens on 127.0.0.1, is bounded in time, and stops what it started (by PID).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import type { AddressInfo } from 'node:net';
import { createLogger, MemorySink } from '../common/logger.js';
import { METRIC_NAMES } from '../common/telemetry-schema.js';
import { encodeSseEvent } from '../common/sse.js';
import { deflateChunkSync } from '../common/sse-deflate.js';
import { changesEventJson } from '../metrics_server/src/views/stream-events.js';
import { buildGeneratorApp } from '../telemetry_generator/src/app.js';
import { DEFAULT_SIMULATION } from '../telemetry_generator/src/config.js';
import { CounterStream } from '../telemetry_generator/src/counter-stream.js';
import { TelemetryFeed } from '../telemetry_generator/src/feed.js';
import type { MetricsServerConfig } from '../metrics_server/src/config.js';
import { prepareBody } from '../metrics_server/src/ingest/prepare.js';
import { startMetricsServer } from '../metrics_server/src/metrics-server.js';
import { MemoryStore } from '../metrics_server/src/store/memory-store.js';
import { cpuMs } from './codec-bench.js';
import { table } from './report.js';
import { root } from './settings.js';

const quick = process.argv.includes('--quick');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const wallNow = (): number => performance.timeOrigin + performance.now();
const quiet = () => createLogger({ level: 'CRITICAL', format: 'text', sink: new MemorySink() });
const percentile = (values: readonly number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
};
const f1 = (x: number): string => x.toFixed(1);

function feedOf(switchCount: number, seed = 3): TelemetryFeed {
  return new TelemetryFeed({ switchCount, metrics: METRIC_NAMES, simulation: DEFAULT_SIMULATION, seed, updateIntervalSeconds: 3600, logger: quiet() });
}

function serverConfig(overrides: Partial<MetricsServerConfig['ingestion']>, streamOverrides: Partial<MetricsServerConfig['stream']> = {}): MetricsServerConfig {
  return {
    source: 'bench',
    host: '127.0.0.1',
    port: 0,
    logging: { level: 'CRITICAL', format: 'text' },
    ingestion: { mode: 'poll', format: 'csv', streamUrl: new URL('http://127.0.0.1:9/counters/stream?delta=1'), generatorUrl: new URL('http://127.0.0.1:9/counters'), pollIntervalMs: 3_600_000, fetchTimeoutMs: 5000, maxBodyBytes: 64 * 1024 * 1024, ...overrides },
    readiness: { maxAgeMs: 3_600_000 },
    http: { maxQueryBytes: 2048, maxHeaderBytes: 16384, requestTimeoutMs: 10_000, keepAliveTimeoutMs: 5000, fastReadPath: true },
    prometheus: { fabricSeries: false },
    // The streams rows measure freshness and fan-out alone; the history has its own rows.
    history: { enabled: false, retentionSeconds: 3600, maxMemoryBytes: 64 * 1024 * 1024, checkpointPath: undefined, checkpointIntervalMs: 300_000 },
    stream: { maxClients: 20_000, maxBufferedBytes: undefined, keepAliveMs: 15_000, compression: 'deflate', ...streamOverrides },
  };
}

// ---------------------------------------------------------------------------------------------

interface PayloadRow {
  switches: number;
  fullBytes: number;
  deltaBytes: number;
  changedShare: number;
  /** The same events with Arrow IPC in base64 (`?format=arrow`). */
  arrowFullBytes: number;
  arrowDeltaBytes: number;
  /** The metrics server's whole-fabric `changes` event, framed, and deflated once as every deflate client gets it. */
  changesBytes: number;
  changesDeflatedBytes: number;
  /** CPU time of that deflate (in libuv's pool on the server; here on this thread). */
  deflateMs: number;
}

async function payload(switches: number, ticks: number): Promise<PayloadRow> {
  const feed = feedOf(switches);
  await feed.loadArrow();
  let full = 0;
  let delta = 0;
  let changed = 0;
  let arrowFull = 0;
  let arrowDelta = 0;
  // The server's whole-fabric `changes` event of each tick, plain and deflated (stream.compression).
  const store = new MemoryStore();
  let previous = store.publishNow({ block: (prepareBody(feed.current().body) as { block: Uint8Array }).block, ingestedAtMs: Date.now() });
  let changesBytes = 0;
  let deflatedBytes = 0;
  let deflateMs = 0;
  for (let t = 0; t < ticks; t++) {
    const c = feed.advance();
    const prepared = prepareBody(c.body);
    if (!prepared.ok) throw new Error(prepared.reason);
    const current = store.publishNow({ block: prepared.block, ingestedAtMs: Date.now() });
    const changes = encodeSseEvent({ id: String(current.version), event: 'changes', data: changesEventJson(previous, current, {})! });
    previous = current;
    const started = cpuMs();
    deflatedBytes += deflateChunkSync(changes).bytes.length;
    deflateMs += cpuMs() - started;
    changesBytes += changes.length;
    full += encodeSseEvent({ id: `run:${c.tick}`, event: 'full', data: c.body }).length;
    delta += encodeSseEvent({ id: `run:${c.tick}`, event: 'delta', data: c.delta }).length;
    changed += c.changedSwitches / switches;
    const arrow = feed.currentArrowBodies()!;
    arrowFull += encodeSseEvent({ id: `run:${c.tick}`, event: 'full', data: arrow.full.toString('base64') }).length;
    arrowDelta += encodeSseEvent({ id: `run:${c.tick}`, event: 'delta', data: arrow.delta.toString('base64') }).length;
  }
  return { switches, fullBytes: full / ticks, deltaBytes: delta / ticks, changedShare: changed / ticks, arrowFullBytes: arrowFull / ticks, arrowDeltaBytes: arrowDelta / ticks, changesBytes: changesBytes / ticks, changesDeflatedBytes: deflatedBytes / ticks, deflateMs: deflateMs / ticks };
}

// ---------------------------------------------------------------------------------------------

interface FreshnessRow {
  mode: 'push' | 'poll';
  /** What the server asked for (`ingestion.format`); push mode's events carry it. */
  format: 'csv' | 'arrow';
  switches: number;
  samples: number[];
  pollIntervalMs?: number;
}

async function getMetric(url: string, id: string): Promise<number | undefined> {
  const res = await fetch(`${url}/telemetry/GetMetric?switch=${id}&metric=bandwidth_mbps`);
  if (res.status !== 200) {
    await res.arrayBuffer();
    return undefined;
  }
  return ((await res.json()) as { value: number }).value;
}

/** A switch whose bandwidth changed in this tick, and its new value, from the tick's delta CSV. */
function changedSwitch(delta: Buffer): { id: string; value: number } | undefined {
  const lines = delta.toString('latin1').trimEnd().split('\n');
  const header = lines[0]!.split(',');
  const column = header.indexOf('bandwidth_mbps');
  for (const line of lines.slice(1, 200)) {
    const fields = line.split(',');
    return { id: fields[0]!, value: Number(fields[column]) };
  }
  return undefined;
}

/** Freshness ticks run before the counted ones. */
const WARMUP_TICKS = 3;

async function freshness(mode: 'push' | 'poll', switches: number, ticks: number, pollIntervalMs = 1000, format: 'csv' | 'arrow' = 'csv'): Promise<FreshnessRow> {
  const feed = feedOf(switches);
  const stream = new CounterStream(feed, { replayTicks: 60, replayMaxBytes: 64 * 1024 * 1024, maxClients: 10, maxBufferedBytes: undefined, keepAliveMs: 15_000 });
  const generator = buildGeneratorApp({ feed, stream });
  await generator.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(generator.server.address() as AddressInfo).port}`;
  const server = await startMetricsServer(
    serverConfig({ mode, format, generatorUrl: new URL(`${base}/counters`), streamUrl: new URL(`${base}/counters/stream?delta=1`), pollIntervalMs: mode === 'push' ? 3_600_000 : pollIntervalMs }),
    { logger: quiet() },
  );
  const samples: number[] = [];
  try {
    const deadline = Date.now() + 60_000;
    while (server.store.current() === undefined && Date.now() < deadline) await sleep(20);
    await sleep(500);
    // The first ticks run through code paths not yet optimized by the JIT (the first took 5-15x
    // the median): measured like the rest, not counted.
    for (let t = -WARMUP_TICKS; t < ticks; t++) {
      // Poll mode: ticks land at random phases of the poll schedule.
      await sleep(mode === 'poll' ? Math.random() * pollIntervalMs : switches >= 100_000 ? 400 : 100);
      const started = performance.now();
      const counters = feed.advance();
      const target = changedSwitch(counters.delta);
      if (target === undefined) continue;
      const limit = performance.now() + 30_000;
      while ((await getMetric(server.url, target.id)) !== target.value && performance.now() < limit) await sleep(1);
      if (t >= 0) samples.push(performance.now() - started);
    }
  } finally {
    await server.stop();
    await generator.close();
  }
  return { mode, format, switches, samples, ...(mode === 'poll' ? { pollIntervalMs } : {}) };
}

// ---------------------------------------------------------------------------------------------

/** Fan-out snapshots published before the measured ones. */
const WARMUP_SNAPSHOTS = 2;

/** The share of switches that change per snapshot in the sparse fan-out row. */
const SPARSE_SHARE = 0.01;

interface FanOutRow {
  churn: 'default' | 'sparse';
  /** The clients asked for the stream deflated (stream.compression); eventBytes are then compressed bytes. */
  deflate: boolean;
  /** Mean bytes of the changes events the clients got. */
  eventBytes: number;
  clients: number;
  opened: number;
  switches: number;
  snapshots: number;
  everyEvent: boolean;
  deliveryP50Ms: number;
  deliveryP99Ms: number;
  deliveryMaxMs: number;
  loopDelayMaxMs: number;
  loopDelayP99Ms: number;
  rssBeforeMb: number;
  rssAfterMb: number;
  /** The slowest delivery of each measured snapshot, in publish order (where a tail comes from). */
  perSnapshotMaxMs: number[];
}

/** What the client process saw: event arrival times per version, and the first client's event sizes. */
interface ClientsResult {
  opened: number;
  failed: number;
  arrivals: Record<string, number[]>;
  sizes: Record<string, number>;
}

function startClients(url: string, connections: number, seconds: number, deflate = false): { child: ChildProcess; ready: Promise<{ opened: number; failed: number }>; done: Promise<ClientsResult> } {
  const child = spawn(process.execPath, [join(root, 'dist/bench/stream-clients.js'), url, String(connections), String(seconds), deflate ? 'deflate' : 'identity'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  let resolveReady: (v: { opened: number; failed: number }) => void = () => undefined;
  let resolveDone: (v: ClientsResult) => void = () => undefined;
  const ready = new Promise<{ opened: number; failed: number }>((r) => (resolveReady = r));
  const done = new Promise<ClientsResult>((r) => (resolveDone = r));
  lines.on('line', (line) => {
    const message = JSON.parse(line) as { ready?: boolean; opened: number; failed: number; arrivals?: Record<string, number[]>; sizes?: Record<string, number> };
    if (message.ready === true) resolveReady(message);
    else resolveDone({ opened: message.opened, failed: message.failed, arrivals: message.arrivals ?? {}, sizes: message.sizes ?? {} });
  });
  return { child, ready, done };
}

/**
 * The CSVs of `count` snapshots after the first where only `share` of the switches change, one
 * metric each (a fabric whose counters mostly stand still, what an ON_CHANGE subscription is for):
 * row by row the first tick's text, with the bandwidth of every 1/share-th row (shifted per
 * snapshot) set to a new value.
 */
function sparseTicks(first: Buffer, count: number, share: number): Buffer[] {
  const lines = first.toString('latin1').trimEnd().split('\n');
  const column = lines[0]!.split(',').indexOf('bandwidth_mbps');
  const every = Math.max(1, Math.round(1 / share));
  return Array.from({ length: count }, (_, k) => {
    const changed = lines.map((line, i) => {
      if (i === 0 || i % every !== (k + 1) % every) return line;
      const fields = line.split(',');
      fields[column] = String(Number(fields[column]) + k + 1);
      return fields.join(',');
    });
    return Buffer.from(`${changed.join('\n')}\n`, 'latin1');
  });
}

async function fanOut(clients: number, switches: number, snapshots: number, churn: 'default' | 'sparse' = 'default', deflate = false): Promise<FanOutRow> {
  // The CSVs of consecutive ticks, prepared before the clock starts.
  const feed = feedOf(switches);
  const first = feed.current().body;
  const published = WARMUP_SNAPSHOTS + snapshots;
  const later = churn === 'sparse' ? sparseTicks(first, published, SPARSE_SHARE) : Array.from({ length: published }, () => feed.advance().body);
  const contents = [first, ...later].map((body) => {
    const prepared = prepareBody(body);
    if (!prepared.ok) throw new Error(prepared.reason);
    return prepared.block;
  });
  const store = new MemoryStore();
  store.publishNow({ block: contents[0]!, ingestedAtMs: Date.now() });
  const server = await startMetricsServer(serverConfig({}), { logger: quiet(), store });
  await server.source.stop(); // nothing to poll: snapshots come from the bench
  const publishedAt = new Map<number, number>();
  store.onPublish((s) => publishedAt.set(s.version, wallNow()));
  const clientsProcess = startClients(`${server.url}/telemetry/stream?changes=1`, clients, published + 8, deflate);
  let row: FanOutRow;
  try {
    const ready = await clientsProcess.ready;
    await sleep(1000);
    // Warm-up snapshots (the first events run code the JIT has not optimized yet): delivered and
    // checked like the rest, not in the latency or loop figures.
    for (let k = 1; k <= WARMUP_SNAPSHOTS; k++) {
      await sleep(1000);
      store.publishNow({ block: contents[k]!, ingestedAtMs: Date.now() });
    }
    const measuredFrom = store.current()!.version + 1;
    await sleep(1000);
    const rssBefore = process.memoryUsage().rss / 1e6;
    const delay = monitorEventLoopDelay({ resolution: 1 });
    delay.enable();
    for (let k = WARMUP_SNAPSHOTS + 1; k <= published; k++) {
      if (k > WARMUP_SNAPSHOTS + 1) await sleep(1000);
      store.publishNow({ block: contents[k]!, ingestedAtMs: Date.now() });
    }
    await sleep(2000);
    delay.disable();
    const rssAfter = process.memoryUsage().rss / 1e6;
    const result = await clientsProcess.done;
    const latencies: number[] = [];
    const eventSizes = [...publishedAt.keys()].map((version) => result.sizes[String(version)]).filter((b): b is number => b !== undefined);
    let everyEvent = true;
    const perSnapshotMaxMs: number[] = [];
    for (const [version, at] of publishedAt) {
      const arrivals = result.arrivals[String(version)] ?? [];
      if (arrivals.length !== ready.opened) everyEvent = false;
      if (version < measuredFrom) continue;
      for (const t of arrivals) latencies.push(t - at);
      perSnapshotMaxMs.push(Math.max(...arrivals.map((t) => t - at)));
    }
    row = {
      churn,
      deflate,
      eventBytes: eventSizes.reduce((a, b) => a + b, 0) / Math.max(1, eventSizes.length),
      clients,
      opened: ready.opened,
      switches,
      snapshots,
      everyEvent,
      deliveryP50Ms: percentile(latencies, 50),
      deliveryP99Ms: percentile(latencies, 99),
      deliveryMaxMs: Math.max(...latencies),
      loopDelayMaxMs: delay.max / 1e6,
      loopDelayP99Ms: delay.percentile(99) / 1e6,
      rssBeforeMb: rssBefore,
      rssAfterMb: rssAfter,
      perSnapshotMaxMs,
    };
  } finally {
    if (clientsProcess.child.exitCode === null) clientsProcess.child.kill('SIGTERM');
    await server.stop();
  }
  return row;
}

interface IdleRow {
  connections: number;
  opened: number;
  rssBeforeMb: number;
  rssAfterMb: number;
  perConnectionKb: number;
}

async function idleConnections(connections: number): Promise<IdleRow> {
  const store = new MemoryStore();
  store.publishNow({ block: (prepareBody(feedOf(1000).current().body) as { block: Uint8Array }).block, ingestedAtMs: Date.now() });
  const server = await startMetricsServer(serverConfig({}), { logger: quiet(), store });
  await server.source.stop();
  await sleep(500);
  global.gc?.();
  const rssBefore = process.memoryUsage().rss / 1e6;
  const clientsProcess = startClients(`${server.url}/telemetry/stream?changes=1`, connections, 6);
  try {
    const ready = await clientsProcess.ready;
    await sleep(2000);
    global.gc?.();
    const rssAfter = process.memoryUsage().rss / 1e6;
    await clientsProcess.done;
    return { connections, opened: ready.opened, rssBeforeMb: rssBefore, rssAfterMb: rssAfter, perConnectionKb: ((rssAfter - rssBefore) * 1000) / Math.max(1, ready.opened) };
  } finally {
    if (clientsProcess.child.exitCode === null) clientsProcess.child.kill('SIGTERM');
    await server.stop();
  }
}

// ---------------------------------------------------------------------------------------------

/** The rows of the streams benchmark, as `npm run bench` prints them. */
export interface StreamsBenchResult {
  readonly payload: PayloadRow[];
  readonly freshness: FreshnessRow[];
  readonly fanOut: FanOutRow[];
  readonly idle: IdleRow[];
}

/** Runs every measurement of issue 13. */
export async function streamsBench(short: boolean, only: ReadonlySet<StreamsPart> = new Set(STREAMS_PARTS)): Promise<StreamsBenchResult> {
  const result: StreamsBenchResult = { payload: [], freshness: [], fanOut: [], idle: [] };
  if (only.has('payload')) for (const switches of [10_000, 100_000]) result.payload.push(await payload(switches, short ? 3 : 6));
  if (only.has('freshness')) {
    for (const format of ['csv', 'arrow'] as const) {
      result.freshness.push(await freshness('push', 10_000, short ? 10 : 40, 1000, format));
      result.freshness.push(await freshness('push', 100_000, short ? 5 : 20, 1000, format));
    }
    result.freshness.push(await freshness('poll', 10_000, short ? 5 : 20, 1000));
  }
  if (only.has('fanout')) {
    result.fanOut.push(await fanOut(short ? 200 : 1000, 10_000, short ? 5 : 15));
    result.fanOut.push(await fanOut(short ? 200 : 1000, 10_000, short ? 5 : 15, 'sparse'));
    result.fanOut.push(await fanOut(short ? 200 : 1000, 10_000, short ? 5 : 15, 'default', true));
  }
  if (only.has('idle')) result.idle.push(await idleConnections(short ? 2000 : 10_000));
  return result;
}

/** The parts of the streams benchmark, selectable with `--only part,part`. */
export const STREAMS_PARTS = ['payload', 'freshness', 'fanout', 'idle'] as const;
/** One part of the streams benchmark. */
export type StreamsPart = (typeof STREAMS_PARTS)[number];

/** The parts `--only a,b` names (every part without it); an unknown name is an error. */
function partsOf(argv: readonly string[]): Set<StreamsPart> {
  const at = argv.indexOf('--only');
  if (at === -1) return new Set(STREAMS_PARTS);
  const names = (argv[at + 1] ?? '').split(',');
  const parts = new Set<StreamsPart>();
  for (const name of names) {
    const part = STREAMS_PARTS.find((p) => p === name);
    if (part === undefined) throw new Error(`--only: unknown part "${name}" (parts: ${STREAMS_PARTS.join(', ')})`);
    parts.add(part);
  }
  return parts;
}

/** The table of `streamsBench`'s result. */
export function streamsTable(r: StreamsBenchResult): string {
  const rows: string[][] = [['scenario', 'switches', 'figure', 'goal']];
  for (const p of r.payload) {
    rows.push(['stream payload (full vs delta event)', p.switches.toLocaleString('en-US'), `full ${(p.fullBytes / 1e6).toFixed(2)} MB, delta ${(p.deltaBytes / 1e6).toFixed(2)} MB (${f1((100 * p.deltaBytes) / p.fullBytes)} %; ${f1(100 * p.changedShare)} % of switches changed per tick)`, 'report']);
    rows.push(['server changes event, plain vs deflated (stream.compression)', p.switches.toLocaleString('en-US'), `${(p.changesBytes / 1e6).toFixed(2)} MB → ${(p.changesDeflatedBytes / 1e6).toFixed(3)} MB deflated (${f1(p.changesBytes / p.changesDeflatedBytes)}x smaller; ${f1(p.deflateMs)} ms CPU, once per event for all clients)`, 'report']);
    rows.push(['stream payload, Arrow events (base64)', p.switches.toLocaleString('en-US'), `full ${(p.arrowFullBytes / 1e6).toFixed(2)} MB, delta ${(p.arrowDeltaBytes / 1e6).toFixed(2)} MB (${f1((100 * p.arrowFullBytes) / p.fullBytes)} % of the CSV full event)`, 'report']);
  }
  for (const f of r.freshness) {
    const goal = f.mode === 'poll' ? `report; formula ≈ U(0, ${f.pollIntervalMs ?? 0} ms) + fetch + prepare` : f.switches >= 100_000 ? `p99 ≤ 250 ms: ${percentile(f.samples, 99) <= 250 ? 'met' : 'NOT met'}` : `p99 ≤ 50 ms: ${percentile(f.samples, 99) <= 50 ? 'met' : 'NOT met'}`;
    rows.push([`freshness tick→GetMetric (${f.mode}${f.mode === 'poll' ? `, poll ${(f.pollIntervalMs ?? 0) / 1000} s` : `, ${f.format === 'arrow' ? 'Arrow' : 'CSV'} events`})`, f.switches.toLocaleString('en-US'), `p50 ${f1(percentile(f.samples, 50))} ms, p99 ${f1(percentile(f.samples, 99))} ms, max ${f1(Math.max(...f.samples))} ms (${f.samples.length} ticks)`, goal]);
  }
  for (const o of r.fanOut) {
    rows.push([
      `fan-out ${o.clients} × /telemetry/stream?changes=1, ${o.churn === 'sparse' ? `${100 * SPARSE_SHARE} % of switches change` : 'default churn'}${o.deflate ? ', deflated' : ''}`,
      o.switches.toLocaleString('en-US'),
      `${o.opened} open, changes event ${(o.eventBytes / 1e3).toFixed(1)} kB (${((o.eventBytes * o.clients) / 1e6).toFixed(0)} MB per snapshot to all clients), every event: ${o.everyEvent ? 'yes' : 'NO'}; delivery after swap p50 ${f1(o.deliveryP50Ms)} ms, p99 ${f1(o.deliveryP99Ms)} ms, max ${f1(o.deliveryMaxMs)} ms; loop delay max ${f1(o.loopDelayMaxMs)} ms (p99 ${f1(o.loopDelayP99Ms)}); RSS ${f1(o.rssBeforeMb)} → ${f1(o.rssAfterMb)} MB over ${o.snapshots} snapshots; slowest delivery per snapshot [${o.perSnapshotMaxMs.map((x) => x.toFixed(0)).join(' ')}] ms`,
      `p99 ≤ 100 ms: ${o.deliveryP99Ms <= 100 ? 'met' : 'NOT met'}; loop max ≤ 20 ms: ${o.loopDelayMaxMs <= 20 ? 'met' : 'NOT met'}`,
    ]);
  }
  for (const i of r.idle) {
    rows.push([`idle stream connections`, '1,000', `${i.opened} held; RSS ${f1(i.rssBeforeMb)} → ${f1(i.rssAfterMb)} MB: ${f1(i.perConnectionKb)} KB per connection`, 'report']);
  }
  return table(rows);
}

async function main(): Promise<void> {
  const loadBefore = loadavg();
  const result = await streamsBench(quick, partsOf(process.argv));
  const text = streamsTable(result);
  process.stdout.write(`${text}\n\nmachine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, Node ${process.version}, load average before ${loadBefore.map((l) => l.toFixed(2)).join(' ')}, after ${loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
  const dir = join(root, 'bench/results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `streams-${new Date().toISOString().replace(/[:.]/g, '-')}${quick ? '-quick' : ''}.json`), JSON.stringify({ date: new Date().toISOString(), node: process.version, loadBefore, loadAfter: loadavg(), result }, null, 2));
  process.exit(0);
}

if (process.argv[1]?.endsWith('streams.js')) void main();
