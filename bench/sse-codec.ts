/**
 * `npm run bench:sse`: the push stream's SSE framing and decoding at 10,000 and 100,000 switches,
 * beside the library or plain-string way of doing the same, in one process, alternating so other
 * load on the machine hits both alike. CPU time per event, medians over the rounds (first round
 * discarded as warm-up).
 *
 * - encode: our `encodeSseEvent` (one pass of byte copies) against the plain string way
 *   (`split('\n')`, prefix, `join`), for a delta event's CSV (generator side, once per tick);
 * - decode: our byte-level `SseDecoder` against eventsource-parser (string-based: the bytes decoded
 *   to text, parsed, the data turned back into bytes for the ingestion worker), fed in 64 KiB
 *   chunks as a socket delivers them (server side, once per tick).
 */
import { loadavg } from 'node:os';
import { createParser } from 'eventsource-parser';
import { createLogger, MemorySink } from '../common/logger.js';
import { encodeSseEvent } from '../common/sse.js';
import { METRIC_NAMES } from '../common/telemetry-schema.js';
import { SseDecoder } from '../metrics_server/src/sources/sse-decoder.js';
import { DEFAULT_SIMULATION } from '../telemetry_generator/src/config.js';
import { TelemetryFeed } from '../telemetry_generator/src/feed.js';
import { cpuMs, median } from './codec-bench.js';

const ROUNDS = Number(process.env['BENCH_SSE_ROUNDS'] ?? 11);
const CHUNK = 64 * 1024;

/** CPU milliseconds (user + system) of `f`, and its result. */
function cpu<T>(f: () => T): [T, number] {
  const before = cpuMs();
  const result = f();
  return [result, cpuMs() - before];
}

/** The plain way to frame: text, split into lines, prefixed, joined. */
function encodeWithStrings(id: string, event: string, data: Buffer): Buffer {
  const lines = data.toString('latin1').replace(/\n$/, '').split('\n');
  return Buffer.from(`id: ${id}\nevent: ${event}\n${lines.map((l) => `data: ${l}`).join('\n')}\n\n`, 'latin1');
}

function chunksOf(bytes: Buffer): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += CHUNK) chunks.push(bytes.subarray(at, at + CHUNK));
  return chunks;
}

function decodeOurs(chunks: readonly Buffer[]): Buffer {
  const decoder = new SseDecoder(1 << 28);
  let data: Buffer | undefined;
  for (const chunk of chunks) for (const m of decoder.push(chunk)) data = m.data;
  return data!;
}

function decodeWithLibrary(chunks: readonly Buffer[]): Buffer {
  let data: string | undefined;
  const parser = createParser({ onEvent: (e) => (data = e.data) });
  const text = new TextDecoder();
  for (const chunk of chunks) parser.feed(text.decode(chunk, { stream: true }));
  return Buffer.from(data!, 'latin1');
}

function measure(switches: number): string[] {
  const feed = new TelemetryFeed({ switchCount: switches, metrics: METRIC_NAMES, simulation: DEFAULT_SIMULATION, seed: 3, updateIntervalSeconds: 3600, logger: createLogger({ level: 'CRITICAL', format: 'text', sink: new MemorySink() }) });
  const t = { ours: [] as number[], strings: [] as number[], decodeOurs: [] as number[], decodeLibrary: [] as number[] };
  let bytes = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const tick = feed.advance();
    const id = `run:${tick.tick}`;
    const order = round % 2 === 0 ? [0, 1] : [1, 0];
    let framed: Buffer | undefined;
    for (const which of order) {
      if (which === 0) {
        const [out, ms] = cpu(() => encodeSseEvent({ id, event: 'delta', data: tick.delta }));
        framed = out;
        if (round > 0) t.ours.push(ms);
      } else {
        const [out, ms] = cpu(() => encodeWithStrings(id, 'delta', tick.delta));
        if (round > 0) t.strings.push(ms);
        if (framed !== undefined && !out.equals(framed)) throw new Error('the two framings differ');
      }
    }
    bytes = framed!.length;
    const chunks = chunksOf(framed!);
    const expected = tick.delta.subarray(0, tick.delta.length - 1);
    for (const which of order) {
      const [data, ms] = which === 0 ? cpu(() => decodeOurs(chunks)) : cpu(() => decodeWithLibrary(chunks));
      if (!data.equals(expected)) throw new Error(`${which === 0 ? 'SseDecoder' : 'eventsource-parser'} decoded other data`);
      if (round > 0) (which === 0 ? t.decodeOurs : t.decodeLibrary).push(ms);
    }
  }
  const n = switches.toLocaleString('en-US');
  const row = (what: string, ours: number[], theirs: number[]): string => `| ${what} | ${n} | ${median(ours).toFixed(1)} ms | ${median(theirs).toFixed(1)} ms | ${(median(theirs) / median(ours)).toFixed(1)}x |`;
  return [
    row(`encode a delta event (${(bytes / 1e6).toFixed(2)} MB): ours vs split/join strings`, t.ours, t.strings),
    row('decode it from 64 KiB chunks: SseDecoder vs eventsource-parser', t.decodeOurs, t.decodeLibrary),
  ];
}

const before = loadavg();
const rows = [measure(10_000), measure(100_000)].flat();
process.stdout.write(
  [
    `SSE codec (npm run bench:sse): CPU time per event, medians of ${ROUNDS - 1} rounds`,
    '| step | switches | ours | baseline | baseline / ours |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...rows,
    '',
    `load average before ${before.map((l) => l.toFixed(2)).join(' ')}, after ${loadavg().map((l) => l.toFixed(2)).join(' ')}`,
    '',
  ].join('\n'),
);
