/**
 * `node --import tsx bench/arrow-stream-stages.ts [switches] [rounds]`: what one push-mode tick
 * costs per stage, CSV events against Arrow events, in one process, the two formats alternating so
 * that other load on the machine hits both alike (medians over the rounds).
 *
 * - generator: the stream's share of a tick beyond the CSV it renders anyway (Arrow full + delta,
 *   base64 and framing of the delta event; for CSV, framing the delta event);
 * - event bytes on the wire (delta event, as a `?delta=1` client gets it);
 * - server: the SSE decoder over the event's bytes (main thread);
 * - server: prepareDelta (base64 decode for Arrow, parse, validate, apply to the current snapshot,
 *   encode the block), which runs in the ingestion worker.
 *
 * Freshness end to end is `npm run bench:streams -- --only freshness`; this shows where a tick's
 * time goes, which that figure cannot under a shared machine's load.
 */
import { loadavg } from 'node:os';
import { createLogger, MemorySink } from '../common/logger.js';
import { encodeSseEvent } from '../common/sse.js';
import { METRIC_NAMES } from '../common/telemetry-schema.js';
import { DEFAULT_SIMULATION } from '../telemetry_generator/src/config.js';
import { TelemetryFeed } from '../telemetry_generator/src/feed.js';
import { prepareBody, prepareDelta } from '../metrics_server/src/ingest/prepare.js';
import { SseDecoder } from '../metrics_server/src/sources/sse-decoder.js';

const switches = Number(process.argv[2] ?? 100_000);
const rounds = Number(process.argv[3] ?? 9);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const time = <T>(f: () => T): [T, number] => {
  const t = performance.now();
  const r = f();
  return [r, performance.now() - t];
};

async function main(): Promise<void> {
  const feed = new TelemetryFeed({ switchCount: switches, metrics: METRIC_NAMES, simulation: DEFAULT_SIMULATION, seed: 3, updateIntervalSeconds: 3600, logger: createLogger({ level: 'CRITICAL', format: 'text', sink: new MemorySink() }) });
  await feed.loadArrow();
  const csvBase = prepareBody(feed.current().body);
  const arrowBase = prepareBody(feed.currentArrowBodies()!.full, 'arrow');
  if (!csvBase.ok || !arrowBase.ok) throw new Error('base snapshot');
  const stats = { csvGen: [] as number[], arrowGen: [] as number[], csvBytes: [] as number[], arrowBytes: [] as number[], csvDecode: [] as number[], arrowDecode: [] as number[], csvPrepare: [] as number[], arrowPrepare: [] as number[] };
  const loadBefore = loadavg();
  for (let round = 0; round < rounds; round++) {
    const tick = feed.advance();
    const id = `run:${tick.tick}`;
    for (const format of round % 2 === 0 ? (['csv', 'arrow'] as const) : (['arrow', 'csv'] as const)) {
      const [event, genMs] =
        format === 'csv'
          ? time(() => encodeSseEvent({ id, event: 'delta', data: tick.delta }))
          : time(() => encodeSseEvent({ id, event: 'delta', data: Buffer.from(feed.currentArrowBodies()!.delta.toString('base64'), 'latin1') }));
      const [messages, decodeMs] = time(() => new SseDecoder(64 * 1024 * 1024).push(event));
      const data = messages[0]!.data;
      const [prepared, prepareMs] = time(() => (format === 'csv' ? prepareDelta(data, csvBase.block) : prepareDelta(data, arrowBase.block, 'arrow', 'base64')));
      if (!prepared.ok) throw new Error(prepared.reason);
      if (round === 0) continue; // warm-up
      stats[`${format}Gen`].push(genMs);
      stats[`${format}Bytes`].push(event.length);
      stats[`${format}Decode`].push(decodeMs);
      stats[`${format}Prepare`].push(prepareMs);
    }
  }
  const row = (name: string, csv: number[], arrow: number[], unit: string, digits = 1): string => `| ${name} | ${median(csv).toFixed(digits)} ${unit} | ${median(arrow).toFixed(digits)} ${unit} | ${(median(csv) / median(arrow)).toFixed(2)}x |`;
  const mb = (xs: number[]): number[] => xs.map((x) => x / 1e6);
  process.stdout.write(
    [
      `| ${switches.toLocaleString('en-US')} switches, delta events, medians of ${rounds - 1} | CSV | Arrow | CSV / Arrow |`,
      '| --- | ---: | ---: | ---: |',
      row('generator: the stream\'s extra work per tick (Arrow render + base64 + framing; CSV: framing)', stats.csvGen, stats.arrowGen, 'ms'),
      row('delta event bytes', mb(stats.csvBytes), mb(stats.arrowBytes), 'MB', 2),
      row('server main thread: SSE decode of the event', stats.csvDecode, stats.arrowDecode, 'ms'),
      row('server worker: prepareDelta (decode, parse, validate, apply, encode)', stats.csvPrepare, stats.arrowPrepare, 'ms'),
      '',
      `load average before ${loadBefore.map((l) => l.toFixed(2)).join(' ')}, after ${loadavg().map((l) => l.toFixed(2)).join(' ')}`,
      '',
    ].join('\n'),
  );
}

void main();
