/**
 * The in-process part of `npm run bench`: the byte-level parser and renderers against their simple
 * string references (and csv-parse) on the same 100,000-switch body.
 */
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
import { SEED, type Settings } from './settings.js';

export interface CodecRow {
  readonly what: string;
  readonly optimizedMs: number;
  readonly referenceMs: number;
  readonly csvParseMs?: number;
  readonly bytes: number;
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
      optimizedMs: time(n, () => prepareWithColumns(body, timestamp, true)),
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

