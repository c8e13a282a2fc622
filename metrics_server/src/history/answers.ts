/**
 * The answers of GetHistory, Aggregate and Top as JSON bodies, from a query whose parameters the HTTP
 * layer has already read and checked. This is the part of each request that reads the history, so it
 * runs where the history lives: in the history worker (history-thread.ts) in production, on the
 * calling thread for an in-process store (tests, tools). Both run this one job, so their answers are
 * the same bytes.
 *
 * What only the history can tell (an id that only the history knows, a window holding too many
 * samples) comes back as a refusal with its status; the HTTP layer turns it into the error body.
 */
import type { AggregateFn } from './aggregate-fns.js';
import type { HistoryChunk } from './history-chunk.js';
import { MAX_VALUE_TEXT, writeValue } from '../snapshot/value-text.js';
import { aggregateJob, sampleCount, seriesBuckets, seriesPieces, topJob, visitSeries, type SeriesPiece } from './queries.js';
import type { SlicedJob } from './slices.js';

/** Which of the query's ids the current snapshot already has (the main thread knows; the history is asked about the others). */
export interface KnownIds {
  readonly switch: boolean;
  readonly metric: boolean;
}

/** GetHistory of one series: raw samples (`step` null) or buckets of `step` seconds. */
export interface GetHistoryQuery {
  readonly kind: 'getHistory';
  readonly switch: string;
  readonly metric: string;
  readonly since: number;
  readonly until: number;
  readonly step: number | null;
  /** Most raw samples one answer holds, and the step to suggest beyond it. */
  readonly maxPoints: number;
  readonly suggestedStep: string;
  /** A 400 the parameters alone decide (too many buckets), given after the id checks: an unknown id is a 404 whatever the step. */
  readonly tooManyBuckets: string | null;
  readonly known: KnownIds;
}

/** Aggregate: one `fn` over `[from, to]`, of one switch or (switch null) the fabric. */
export interface AggregateQuery {
  readonly kind: 'aggregate';
  readonly metric: string;
  readonly fn: AggregateFn;
  /** The window as the request wrote it (echoed in the body). */
  readonly window: string;
  readonly switch: string | null;
  readonly from: number;
  readonly to: number;
  readonly known: KnownIds;
}

/** Top: the k switches ranked by `fn` over `[from, to]`. */
export interface TopQuery {
  readonly kind: 'top';
  readonly metric: string;
  readonly fn: AggregateFn;
  readonly window: string;
  readonly k: number;
  readonly order: 'asc' | 'desc';
  readonly from: number;
  readonly to: number;
  readonly known: KnownIds;
}

/** Any of the three. */
export type HistoryQuery = GetHistoryQuery | AggregateQuery | TopQuery;

/**
 * The JSON body, or why there is none (the status and message of the error body). A string, not
 * bytes: it crosses from the history worker by copy into the main thread's young generation and dies
 * there once written, where a transferred ArrayBuffer per answer counted as external memory and, at a
 * few thousand GetHistory answers a second, set off a full collection on the main thread every
 * ~150 ms (4-5 ms each, `--trace-gc`: "GC in old space requested").
 */
export type HistoryAnswer = { readonly ok: true; readonly body: string } | { readonly ok: false; readonly status: 400 | 404; readonly message: string };

/** What a query reads of a history store. */
export interface QueryableHistory {
  view(): readonly HistoryChunk[];
  hasSwitch(id: string): boolean;
  hasMetric(name: string): boolean;
}

/** A number as JSON text: `String` writes the shortest text that reads back as the same double (as the views' jsonNumber). */
const num = (value: number): string => String(value);
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const ok = (body: string): HistoryAnswer => ({ ok: true, body });
const refuse = (status: 400 | 404, message: string): HistoryAnswer => ({ ok: false, status, message });

const TIMESTAMP_KEY = encoder.encode('{"timestamp":');
const VALUE_KEY = encoder.encode(',"value":');
/** Bytes of one sample's text at most: `{"timestamp":` t `,"value":` v `},`. */
const MAX_SAMPLE_TEXT = TIMESTAMP_KEY.length + VALUE_KEY.length + 2 * MAX_VALUE_TEXT + 2;
/** Reused between answers (one at a time on the history's thread); only the body's string is new. */
let sampleScratch = new Uint8Array(1 << 16);

/**
 * GetHistory's raw samples as the JSON body: `head`, then `count` samples written digit by digit
 * from the decoded units (value-text.ts: the very text `String(value)` gives, as GetMetric's), then
 * `]}`. No object or string per sample: at an hour of one series that was most of the answer's
 * garbage, and the collections it caused set GetHistory's tail latency.
 */
function samplesBody(pieces: readonly SeriesPiece[], head: string, count: number): string {
  const needed = head.length * 3 + count * MAX_SAMPLE_TEXT + 2;
  if (sampleScratch.length < needed) sampleScratch = new Uint8Array(Math.max(needed, sampleScratch.length * 2));
  const out = sampleScratch;
  let p = encoder.encodeInto(head, out).written;
  const start = p;
  visitSeries(pieces, (piece, units) => {
    const { decimals, scale } = piece.metric;
    const times = piece.chunk.timestamps;
    for (let i = piece.from; i < piece.to; i++) {
      if (p !== start) out[p++] = 44; // ,
      out.set(TIMESTAMP_KEY, p);
      p = writeValue(out, p + TIMESTAMP_KEY.length, times[i]!, 0, 0, 1, 1);
      out.set(VALUE_KEY, p);
      p = writeValue(out, p + VALUE_KEY.length, units[i]! / scale, decimals, 0, 1, 1);
      out[p++] = 125; // }
    }
  });
  out[p++] = 93; // ]
  out[p++] = 125; // }
  return decoder.decode(out.subarray(0, p));
}

/** The answer to `query`, as a sliced job (slices.ts). */
export function* answerJob(history: QueryableHistory, query: HistoryQuery): SlicedJob<HistoryAnswer> {
  const sw = query.kind === 'top' ? null : query.switch;
  if (sw !== null && !query.known.switch && !history.hasSwitch(sw)) return refuse(404, `unknown switch '${sw}'`);
  if (!query.known.metric && !history.hasMetric(query.metric)) return refuse(404, `unknown metric '${query.metric}'`);
  if (query.kind === 'getHistory' && query.tooManyBuckets !== null) return refuse(400, query.tooManyBuckets);
  const chunks = history.view();
  switch (query.kind) {
    case 'getHistory': {
      const { switch: id, metric, since, until, step } = query;
      const head = `{"switch":"${id}","metric":"${metric}","since":${since},"until":${until},"step":${step ?? 'null'},"samples":[`;
      if (step === null) {
        const pieces = seriesPieces(chunks, id, metric, since, until);
        const count = sampleCount(pieces);
        if (count > query.maxPoints) return refuse(400, `the window holds ${count} samples, more than ${query.maxPoints}; ask for buckets with step=${query.suggestedStep} or larger`);
        return ok(samplesBody(pieces, head, count));
      }
      const rows = seriesBuckets(chunks, id, metric, since, until, step);
      return ok(`${head}${rows.map((b) => `{"timestamp":${b.timestamp},"min":${num(b.min)},"max":${num(b.max)},"avg":${num(b.avg)},"count":${b.count}}`).join(',')}]}`);
    }
    case 'aggregate': {
      const { metric, fn, window, from, to } = query;
      const result = yield* aggregateJob(chunks, metric, fn, from, to, query.switch ?? undefined);
      const value = result.value === null ? 'null' : num(result.value);
      return ok(`{"metric":"${metric}","fn":"${fn}","window":"${window}",${query.switch === null ? '' : `"switch":"${query.switch}",`}"from":${from},"to":${to},"samples":${result.samples},"value":${value}}`);
    }
    case 'top': {
      const { metric, fn, window, k, order, from, to } = query;
      const ranked = yield* topJob(chunks, metric, fn, from, to, k, order);
      const entries = ranked.map((e) => `{"switch":"${e.switch}","value":${num(e.value)}}`).join(',');
      return ok(`{"metric":"${metric}","fn":"${fn}","window":"${window}","k":${k},"order":"${order}","switches":[${entries}]}`);
    }
  }
}
