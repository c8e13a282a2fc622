import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChangeTracker } from '../src/change-tracker.js';
import { renderCsv } from '../src/csv-writer.js';

test('the first tick is all rows; then only rows with a changed value; nothing changed gives the header only', () => {
  const tracker = new ChangeTracker(['bandwidth_mbps', 'link_status']);
  const bandwidth = Int32Array.from([10, 20, 30]);
  const link = Uint8Array.from([1, 1, 1]);
  const source = { switchCount: 3, columns: { bandwidth_mbps: bandwidth, link_status: link } };
  assert.deepEqual([...tracker.changedRows(source)], [0, 1, 2]);
  bandwidth[1] = 21;
  link[2] = 0;
  const rows = tracker.changedRows(source);
  assert.deepEqual([...rows], [1, 2]);
  assert.equal(renderCsv(source, ['bandwidth_mbps', 'link_status'], rows).toString(), 'switch_id,bandwidth_mbps,link_status\nsw2,21,1\nsw3,30,0\n');
  const none = tracker.changedRows(source);
  assert.equal(none.length, 0);
  assert.equal(renderCsv(source, ['bandwidth_mbps', 'link_status'], none).toString(), 'switch_id,bandwidth_mbps,link_status\n');
});

test('only rows below switchCount are compared: a column longer than switchCount (CsvSource allows it) adds no row', () => {
  const tracker = new ChangeTracker(['bandwidth_mbps']);
  const bandwidth = Int32Array.from([10, 20, 30, 40]);
  const source = { switchCount: 3, columns: { bandwidth_mbps: bandwidth } };
  assert.deepEqual([...tracker.changedRows(source)], [0, 1, 2]);
  bandwidth[0] = 11;
  bandwidth[3] = 41; // beyond switchCount: no switch sw4 exists, so no line may name it
  assert.deepEqual([...tracker.changedRows(source)], [0]);
});
