/**
 * The in-process part of `npm run bench`: the byte-level parser and renderers against their simple
 * string references (and csv-parse) on the same 100,000-switch body; and the request log's line
 * batching against sonic-boom's own.
 */
import { openSync } from 'node:fs';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import { pino } from 'pino';
import { LineBatcher } from '../common/line-batcher.js';
import { LOG_BATCH_BYTES, LOG_FLUSH_INTERVAL_MS } from '../common/logger.js';
import { parse as csvParse } from 'csv-parse/sync';
import { METRIC_NAMES, parseDecimalNumber } from '../common/telemetry-schema.js';
import { parseCsvBytes } from '../metrics_server/src/ingest/csv/parser.js';
import { prepareBody } from '../metrics_server/src/ingest/prepare.js';
import { decodeColumns, encodeColumns, encodeSnapshotWire } from '../metrics_server/src/snapshot/wire.js';
import { renderFabricGzip, renderFabricText } from '../metrics_server/src/views/fabric-metrics-text.js';
import { brotliListMetrics, gzipListMetrics, renderListMetricsJson } from '../metrics_server/src/views/list-metrics-json.js';
import { parseTelemetryCsvReference } from '../metrics_server/test/reference/csv-parser.js';
import { renderFabricTextReference } from '../metrics_server/test/reference/fabric-metrics-text.js';
import { renderListMetricsJsonReference } from '../metrics_server/test/reference/list-metrics-json.js';
import { DEFAULT_SIMULATION } from '../telemetry_generator/src/config.js';
import { renderCsv } from '../telemetry_generator/src/csv-writer.js';
import { simulate } from '../telemetry_generator/src/simulator.js';
import { SEED, type Settings } from './settings.js';

export interface CodecRow {
  readonly what: string;
  readonly optimizedMs: number;
  readonly referenceMs: number;
  readonly csvParseMs?: number;
  readonly bytes: number;
}

/** CPU time of this process in ms, user and system, all its threads (differences of it time a piece of work). */
export function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function time(samples: number, run: () => unknown): number {
  run();
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t0 = performance.now();
    run();
    times.push(performance.now() - t0);
  }
  return median(times);
}

export async function timeAsync(samples: number, run: () => Promise<unknown>): Promise<number> {
  await run();
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t0 = performance.now();
    await run();
    times.push(performance.now() - t0);
  }
  return median(times);
}

export async function codecBench(settings: Settings, switches: number): Promise<CodecRow[]> {
  const body = renderCsv(simulate({ switchCount: switches, simulation: DEFAULT_SIMULATION, seed: SEED }, 3), [...METRIC_NAMES]);
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  const timestamp = 1766501919;
  const parsed = parseCsvBytes(body, 2);
  const reference = parseTelemetryCsvReference(decoder.decode(body));
  if (!parsed.ok || !reference.ok) throw new Error('the benchmark CSV does not parse');
  const columns = parsed.parsed.columns;
  const { switchIds, metrics, rows: referenceRows } = reference.data;
  const n = settings.samples;
  const csvParse6 = (): Float64Array => {
    const records = csvParse(body, { from_line: 2 }) as string[][];
    const out = new Float64Array(records.length * 6);
    let k = 0;
    for (const record of records) for (let c = 1; c < record.length; c++) out[k++] = parseDecimalNumber(record[c]!) ?? NaN;
    return out;
  };
  const block = encodeColumns(columns);
  const listMetricsBody = renderListMetricsJson(columns, timestamp);
  const compact = encodeColumns(columns, { compact: true, withIndexTable: false });
  const rows: CodecRow[] = [
    { what: 'parse CSV', optimizedMs: time(n, () => parseCsvBytes(body, 2)), referenceMs: time(n, () => parseTelemetryCsvReference(decoder.decode(body))), csvParseMs: time(Math.min(n, 3), csvParse6), bytes: body.length },
    {
      what: 'ListMetrics JSON',
      optimizedMs: time(n, () => renderListMetricsJson(columns, timestamp)),
      referenceMs: time(n, () => encoder.encode(renderListMetricsJsonReference(switchIds, metrics, referenceRows, timestamp))),
      bytes: renderListMetricsJson(columns, timestamp).length,
    },
    {
      what: 'ListMetrics brotli q1 (served to Accept-Encoding: br), vs gzip level 6 (zlib default)',
      optimizedMs: time(n, () => brotliListMetrics(listMetricsBody)),
      referenceMs: time(n, () => gzipSync(listMetricsBody, { level: 6 })),
      bytes: brotliListMetrics(listMetricsBody).length,
    },
    {
      what: 'ListMetrics gzip level 1 (served to Accept-Encoding: gzip), vs gzip level 6',
      optimizedMs: time(n, () => gzipListMetrics(listMetricsBody)),
      referenceMs: time(n, () => gzipSync(listMetricsBody, { level: 6 })),
      bytes: gzipListMetrics(listMetricsBody).length,
    },
    {
      what: 'Prometheus fabric text',
      optimizedMs: time(n, () => renderFabricText(columns)),
      referenceMs: time(n, () => encoder.encode(renderFabricTextReference(switchIds, metrics, referenceRows))),
      bytes: renderFabricText(columns).length,
    },
    {
      what: 'Prometheus fabric gzip (first scrape of a snapshot)',
      optimizedMs: await timeAsync(n, () => renderFabricGzip(columns)),
      referenceMs: time(n, () => gzipSync(renderFabricText(columns), { level: 1 })),
      bytes: (await renderFabricGzip(columns)).length,
    },
    {
      what: 'prepare in the ingestion worker (parse, index, column block)',
      optimizedMs: time(n, () => prepareBody(body)),
      referenceMs: time(n, () => parseTelemetryCsvReference(decoder.decode(body))),
      bytes: body.length,
    },
    {
      what: 'snapshot wire form, compact (Redis, checkpoint): encode, vs JSON.stringify of ListMetrics',
      optimizedMs: time(n, () => encodeSnapshotWire({ version: 1, term: 0, ingestedAtMs: timestamp * 1000, block: encodeColumns(columns, { compact: true, withIndexTable: false }) })),
      referenceMs: time(n, () => encoder.encode(renderListMetricsJsonReference(switchIds, metrics, referenceRows, timestamp))),
      bytes: compact.length,
    },
    {
      what: 'snapshot wire form: decode on the main thread (own block, views) vs foreign (checked, index rebuilt)',
      optimizedMs: time(n, () => decodeColumns(block, 'own')),
      referenceMs: time(n, () => decodeColumns(compact, 'foreign')),
      bytes: block.length,
    },
    await logBatchingRow(settings.samples),
  ];
  return rows;
}

/**
 * 100,000 request log lines written to /dev/null, 50 per event-loop turn (as requests arrive under
 * load): LineBatcher ahead of an unbatched sonic-boom (what the logger uses) against sonic-boom's own
 * `minLength` batching (what it used before). Only the time inside `write` calls is counted.
 */
async function logBatchingRow(samples: number): Promise<CodecRow> {
  const lines = 100_000;
  const line = (i: number): string => `2026-11-25T11:38:21.123Z INFO /telemetry/GetMetric?switch=sw${i % 100_000}&metric=latency_ms 200 0.12ms\n`;
  type Destination = ReturnType<typeof pino.destination>;
  const run = async (minLength: number, makeSink: (dest: Destination) => { write(s: string): unknown }): Promise<number> => {
    const dest = pino.destination({ fd: openSync('/dev/null', 'w'), sync: false, minLength });
    const sink = makeSink(dest);
    let inside = 0;
    for (let i = 0; i < lines; i++) {
      const text = line(i);
      const t0 = performance.now();
      sink.write(text);
      inside += performance.now() - t0;
      if (i % 50 === 49) await nextTurn();
    }
    if (sink instanceof LineBatcher) sink.flushSync();
    // end() writes out what is buffered and closes the descriptor once the last write is done.
    await new Promise((resolve) => {
      dest.once('close', resolve);
      dest.end();
    });
    return inside;
  };
  const measure = async (minLength: number, makeSink: (dest: Destination) => { write(s: string): unknown }): Promise<number> => {
    const times: number[] = [];
    for (let i = 0; i < Math.max(3, samples); i++) times.push(await run(minLength, makeSink));
    return median(times);
  };
  // What the logger does: LineBatcher ahead of an unbatched destination.
  const batched = await measure(0, (dest) => new LineBatcher(dest, LOG_BATCH_BYTES, LOG_FLUSH_INTERVAL_MS));
  // What it did before: the destination's own batching (periodicFlush is left out: nothing here waits 100 ms).
  const library = await measure(LOG_BATCH_BYTES, (dest) => dest);
  return { what: 'request log, 100,000 lines (LineBatcher vs sonic-boom minLength)', optimizedMs: batched, referenceMs: library, bytes: line(1).length * lines };
}

