/** `/counters` as an Arrow IPC stream: negotiation, validators, once per tick, and the same values as the CSV. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { tableFromIPC, Type } from 'apache-arrow';
import { ARROW_STREAM_TYPE, prefersArrow } from '../../common/arrow-media.js';
import { createLogger, MemorySink } from '../../common/logger.js';
import { METRIC_NAMES, METRICS, type MetricName } from '../../common/telemetry-schema.js';
import { buildGeneratorApp } from '../src/app.js';
import { renderArrow } from '../src/arrow-writer.js';
import { DEFAULT_SIMULATION } from '../src/config.js';
import { renderCsvText } from '../src/csv-writer.js';
import { TelemetryFeed } from '../src/feed.js';
import { simulate } from '../src/simulator.js';

function makeFeed(switchCount = 5): TelemetryFeed {
  return new TelemetryFeed({
    switchCount,
    metrics: METRIC_NAMES,
    simulation: DEFAULT_SIMULATION,
    seed: 7,
    updateIntervalSeconds: 10,
    logger: createLogger({ level: 'ERROR', format: 'text', sink: new MemorySink() }),
    now: () => Date.UTC(2025, 0, 2),
  });
}

/** The CSV as columns of numbers, read the plain way. */
function csvColumns(text: string): { ids: string[]; header: string[]; values: number[][] } {
  const [headerLine = '', ...lines] = text.trimEnd().split('\n');
  const header = headerLine.split(',');
  const ids: string[] = [];
  const values: number[][] = header.slice(1).map(() => []);
  for (const line of lines) {
    const [id = '', ...fields] = line.split(',');
    ids.push(id);
    fields.forEach((f, c) => values[c]!.push(Number(f)));
  }
  return { ids, header, values };
}

test("property: apache-arrow's reader gives the CSV's values exactly, for any config and seed", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 2 ** 32 - 1 }),
      fc.integer({ min: 1, max: 400 }),
      fc.integer({ min: 0, max: 20 }),
      fc.shuffledSubarray([...METRIC_NAMES], { minLength: 1 }),
      (seed, switchCount, tick, metrics: MetricName[]) => {
        const state = simulate({ switchCount, simulation: DEFAULT_SIMULATION, seed }, tick);
        const csv = csvColumns(renderCsvText(state, metrics));
        const table = tableFromIPC(renderArrow(state, metrics));
        assert.deepEqual(table.schema.fields.map((f) => f.name), csv.header);
        assert.equal(table.numRows, switchCount);
        assert.deepEqual(table.getChild('switch_id')!.toArray(), csv.ids);
        for (const [c, metric] of metrics.entries()) {
          const field = table.schema.fields[c + 1]!;
          // SPEC: integer metrics as Int32, decimal metrics as Float64.
          if (METRICS[metric].format.kind === 'integer') assert.ok(field.typeId === Type.Int && field.type.toString() === 'Int32', `${metric}: ${field.type}`);
          else assert.equal(field.type.toString(), 'Float64', metric);
          assert.deepEqual(Array.from(table.getChild(metric)!.toArray() as ArrayLike<number>), csv.values[c], metric);
        }
      },
    ),
    { numRuns: 80 },
  );
});

test('Accept decides the representation; CSV stays the default', () => {
  assert.equal(prefersArrow(undefined, 'text/csv'), false);
  assert.equal(prefersArrow('*/*', 'text/csv'), false);
  assert.equal(prefersArrow('text/csv', 'text/csv'), false);
  assert.equal(prefersArrow(ARROW_STREAM_TYPE, 'text/csv'), true);
  assert.equal(prefersArrow(`${ARROW_STREAM_TYPE}, text/csv;q=0.5`, 'text/csv'), true);
  assert.equal(prefersArrow(`text/csv, ${ARROW_STREAM_TYPE};q=0.5`, 'text/csv'), false);
  assert.equal(prefersArrow(`${ARROW_STREAM_TYPE};q=0`, 'text/csv'), false);
  assert.equal(prefersArrow(`${ARROW_STREAM_TYPE}, */*;q=0.1`, 'text/csv'), true);
  assert.equal(prefersArrow('APPLICATION/VND.APACHE.ARROW.STREAM', 'application/json'), true);
});

test('GET /counters with Accept: Arrow serves the stream with its own ETag, Vary: Accept and 304s', async () => {
  const feed = makeFeed();
  const app = buildGeneratorApp({ feed });
  const csv = await app.inject({ method: 'GET', url: '/counters' });
  const arrow = await app.inject({ method: 'GET', url: '/counters', headers: { accept: ARROW_STREAM_TYPE } });
  assert.equal(arrow.statusCode, 200);
  assert.equal(arrow.headers['content-type'], ARROW_STREAM_TYPE);
  assert.equal(arrow.headers['vary'], 'Accept');
  assert.equal(csv.headers['vary'], 'Accept');
  assert.match(String(arrow.headers['etag']), /^"7-[0-9a-f]{8}-0\.arrow"$/);
  assert.notEqual(arrow.headers['etag'], csv.headers['etag']);
  assert.equal(arrow.headers['last-modified'], csv.headers['last-modified']);
  assert.equal(tableFromIPC(arrow.rawPayload).numRows, 5);
  // Each representation is validated against its own ETag.
  const same = await app.inject({ method: 'GET', url: '/counters', headers: { accept: ARROW_STREAM_TYPE, 'if-none-match': String(arrow.headers['etag']) } });
  assert.equal(same.statusCode, 304);
  const other = await app.inject({ method: 'GET', url: '/counters', headers: { accept: ARROW_STREAM_TYPE, 'if-none-match': String(csv.headers['etag']) } });
  assert.equal(other.statusCode, 200);
  const head = await app.inject({ method: 'HEAD', url: '/counters', headers: { accept: ARROW_STREAM_TYPE } });
  assert.equal(head.headers['content-type'], ARROW_STREAM_TYPE);
  assert.equal(head.rawPayload.length, 0);
  await app.close();
});

test('the Arrow body is rendered at most once per tick, and with the tick while it is being read', async () => {
  const feed = makeFeed();
  const first = await feed.currentArrow();
  assert.equal(await feed.currentArrow(), first, 'no re-render within a tick');
  feed.advance();
  // Read during tick 0, so tick 1 rendered it with the tick: the same object on every read.
  const second = await feed.currentArrow();
  assert.equal(second.tick, 1);
  assert.equal((await feed.currentArrow()).body, second.body);
  assert.notEqual(second.etag, first.etag);
  feed.advance();
  feed.advance(); // nobody asked during tick 2: tick 3 renders it on demand only
  assert.equal((await feed.currentArrow()).tick, 3);
});
