/**
 * The `/telemetry/stream` event JSON (views/stream-events.ts) called directly, without sockets: the
 * exact bytes of snapshot and changes events, filters, and the cases where no changes event can be
 * made. Written for the mutation run (`npm run mutation -- stream-events`) to pin what the socket
 * tests leave loose: exact text (separators), the pre-rendered body being used, switches that left,
 * and the "different metrics" refusal.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { changesEventJson, snapshotEventJson } from '../src/views/stream-events.js';
import { snapshotFromCsv } from './helpers.js';

const HEADER = 'switch_id,bandwidth_mbps,latency_ms,link_status';
const csv = (...rows: string[]): string => `${HEADER}\n${rows.join('\n')}\n`;
const V1 = csv('sw1,100,0.5,1', 'sw2,200,0.6,1', 'sw3,300,0.7,1');
const V2 = csv('sw1,100,0.5,1', 'sw2,250,0.6,1', 'sw3,0,0,0');
const TS = 1766501919;

test('snapshot event, unfiltered: version, timestamp and the ListMetrics object, byte for byte', () => {
  const snapshot = snapshotFromCsv(V1, 7);
  const text = snapshotEventJson(snapshot, {}).toString();
  assert.equal(
    text,
    `{"version":7,"timestamp":${TS},"switches":{` +
      `"sw1":{"bandwidth_mbps":100,"latency_ms":0.5,"link_status":1,"timestamp":${TS}},` +
      `"sw2":{"bandwidth_mbps":200,"latency_ms":0.6,"link_status":1,"timestamp":${TS}},` +
      `"sw3":{"bandwidth_mbps":300,"latency_ms":0.7,"link_status":1,"timestamp":${TS}}}}`,
  );
  // The render worker's body for this snapshot, when given, is used as it is (not rendered again).
  const given = snapshotEventJson(snapshot, {}, Buffer.from('{"from":"worker"}')).toString();
  assert.equal(given, `{"version":7,"timestamp":${TS},"switches":{"from":"worker"}}`);
});

test('snapshot event, filtered: only the asked switches and metrics, each with its timestamp; a switch gone is left out', () => {
  const snapshot = snapshotFromCsv(V1, 3);
  assert.equal(
    snapshotEventJson(snapshot, { switchIds: ['sw1', 'gone', 'sw3'], metrics: ['latency_ms', 'link_status'] }).toString(),
    `{"version":3,"timestamp":${TS},"switches":{"sw1":{"latency_ms":0.5,"link_status":1,"timestamp":${TS}},"sw3":{"latency_ms":0.7,"link_status":1,"timestamp":${TS}}}}`,
  );
  // Metrics only: every switch, in snapshot order.
  assert.equal(
    snapshotEventJson(snapshot, { metrics: ['bandwidth_mbps'] }).toString(),
    `{"version":3,"timestamp":${TS},"switches":{"sw1":{"bandwidth_mbps":100,"timestamp":${TS}},"sw2":{"bandwidth_mbps":200,"timestamp":${TS}},"sw3":{"bandwidth_mbps":300,"timestamp":${TS}}}}`,
  );
  // Switches only: every metric.
  assert.equal(
    snapshotEventJson(snapshot, { switchIds: ['sw2'] }).toString(),
    `{"version":3,"timestamp":${TS},"switches":{"sw2":{"bandwidth_mbps":200,"latency_ms":0.6,"link_status":1,"timestamp":${TS}}}}`,
  );
  // None of the asked switches is left: an empty object, still valid JSON.
  assert.equal(snapshotEventJson(snapshot, { switchIds: ['gone'] }).toString(), `{"version":3,"timestamp":${TS},"switches":{}}`);
});

test('changes event: only changed values, comma-separated, no per-switch timestamp', () => {
  const before = snapshotFromCsv(V1, 1);
  const after = snapshotFromCsv(V2, 2);
  assert.equal(
    changesEventJson(before, after, {})?.toString(),
    `{"version":2,"timestamp":${TS},"switches":{"sw2":{"bandwidth_mbps":250},"sw3":{"bandwidth_mbps":0,"latency_ms":0,"link_status":0}}}`,
  );
  // Filtered by switch (one of them gone) and by metric.
  assert.equal(
    changesEventJson(before, after, { switchIds: ['sw1', 'nope', 'sw3'], metrics: ['latency_ms', 'link_status'] })?.toString(),
    `{"version":2,"timestamp":${TS},"switches":{"sw3":{"latency_ms":0,"link_status":0}}}`,
  );
  assert.equal(changesEventJson(before, after, { switchIds: ['sw2'] })?.toString(), `{"version":2,"timestamp":${TS},"switches":{"sw2":{"bandwidth_mbps":250}}}`);
  // Nothing changed: an empty switches object.
  assert.equal(changesEventJson(before, snapshotFromCsv(V1, 2), {})?.toString(), `{"version":2,"timestamp":${TS},"switches":{}}`);
  // The filter's switch list decides the rows even when the changed switch is not in it.
  assert.equal(changesEventJson(before, after, { switchIds: ['sw1'] })?.toString(), `{"version":2,"timestamp":${TS},"switches":{}}`);
});

test('no changes event between snapshots of different switches or different metrics', () => {
  const before = snapshotFromCsv(V1, 1);
  // A switch went away.
  assert.equal(changesEventJson(before, snapshotFromCsv(csv('sw1,100,0.5,1', 'sw2,200,0.6,1'), 2), {}), undefined);
  // The same switches in another order.
  assert.equal(changesEventJson(before, snapshotFromCsv(csv('sw2,200,0.6,1', 'sw1,100,0.5,1', 'sw3,300,0.7,1'), 2), {}), undefined);
  // The same switches and values, one metric fewer.
  const fewer = snapshotFromCsv('switch_id,bandwidth_mbps,latency_ms\nsw1,100,0.5\nsw2,200,0.6\nsw3,300,0.7\n', 2);
  assert.equal(changesEventJson(before, fewer, {}), undefined);
  // The same switches, the same metric count, another metric.
  const other = snapshotFromCsv('switch_id,bandwidth_mbps,latency_ms,packet_errors\nsw1,100,0.5,1\nsw2,200,0.6,1\nsw3,300,0.7,1\n', 2);
  assert.equal(changesEventJson(before, other, {}), undefined);
});
