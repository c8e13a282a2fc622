/**
 * The snapshot (snapshot/snapshot.ts) and its switch index (snapshot/switch-index.ts) through their
 * whole public surface: the identity fields every answer carries (ETag, Last-Modified, timestamp),
 * the lookups the views use, and the index's hash table, which travels in the wire form and so must
 * be built the same way by every process. snapshot-wire.test.ts covers the bytes; these cover what is
 * read from them. Written for `npm run mutation -- snapshot`.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ANY_DECIMALS, metricNames, type TelemetryColumns } from '../src/snapshot/columns.js';
import { Snapshot } from '../src/snapshot/snapshot.js';
import { FNV_OFFSET, SwitchIndex, buildTable, findRow, hashBytes, hashString, insertRow, isSwitchIdBytes, tableSizeFor } from '../src/snapshot/switch-index.js';
import { encodeColumns } from '../src/snapshot/wire.js';

function columnsOf(ids: readonly string[], metrics: readonly { name: string; decimals: number; values: number[] }[]): TelemetryColumns {
  const idText = new Uint8Array(Buffer.from(ids.join('\n'), 'latin1'));
  const idEnds = new Int32Array(ids.length);
  let end = -1;
  for (const [row, id] of ids.entries()) idEnds[row] = end = end + 1 + id.length;
  return { rowCount: ids.length, ids: { idText, idEnds, table: buildTable(idText, idEnds) }, metrics: metrics.map((m) => ({ ...m, values: Float64Array.from(m.values) })) };
}

const COLUMNS = columnsOf(
  ['sw1', 'sw2', 'sw10'],
  [
    { name: 'latency_ms', decimals: 2, values: [1.42, 6.8, 0] },
    { name: 'link_status', decimals: 0, values: [1, 1, 0] },
    { name: 'weird', decimals: ANY_DECIMALS, values: [Math.PI, 1e300, -1] },
  ],
);

function snapshotOf(columns: TelemetryColumns, version: number, ingestedAtMs: number, previous?: Snapshot): Snapshot {
  const made = Snapshot.fromContent({ version, term: 4 }, { block: encodeColumns(columns), ingestedAtMs }, previous);
  assert.ok(made.ok, made.ok ? '' : made.reason);
  return made.value;
}

test('a snapshot carries its identity: version, term, whole-second timestamp, ETag and Last-Modified', () => {
  const s = snapshotOf(COLUMNS, 12, 1766501919_999);
  assert.equal(s.version, 12);
  assert.equal(s.term, 4);
  assert.equal(s.ingestedAtMs, 1766501919_999);
  assert.equal(s.timestamp, 1766501919, 'rounded down, never up into the next second');
  assert.equal(s.etag, '"v12"');
  assert.equal(s.lastModified, 'Tue, 23 Dec 2025 14:58:39 GMT');
  assert.ok(Object.isFrozen(s));
  assert.ok(Object.isFrozen(s.metrics));
  assert.deepEqual(s.metrics, ['latency_ms', 'link_status', 'weird']);
  assert.deepEqual(metricNames(COLUMNS), ['latency_ms', 'link_status', 'weird']);
  assert.deepEqual(s.decimals, [2, 0, ANY_DECIMALS]);
  // A block that is not one: refused with the decoder's reason, no snapshot.
  const bad = Snapshot.fromContent({ version: 1, term: 0 }, { block: new Uint8Array(8), ingestedAtMs: 0 });
  assert.ok(!bad.ok);
  assert.match(bad.reason, /column block: 8 bytes is shorter than its header/);
});

test('lookups: rows, values, whole rows and columns by name; unknown switches and metrics are undefined', () => {
  const s = snapshotOf(COLUMNS, 1, 0);
  assert.equal(s.switchCount, 3);
  assert.deepEqual(s.switchIds, ['sw1', 'sw2', 'sw10']);
  assert.deepEqual(['sw1', 'sw2', 'sw10', 'sw3', 'sw', 'sw100', ''].map((id) => s.rowOf(id)), [0, 1, 2, -1, -1, -1, -1]);
  assert.deepEqual(['sw10', 'sw3'].map((id) => s.hasSwitch(id)), [true, false]);
  assert.deepEqual(['link_status', 'bandwidth_mbps'].map((m) => s.hasMetric(m)), [true, false]);
  assert.equal(s.value('sw2', 'latency_ms'), 6.8);
  assert.equal(s.value('sw10', 'link_status'), 0);
  assert.equal(s.value('sw2', 'nope'), undefined);
  assert.equal(s.value('nope', 'latency_ms'), undefined);
  assert.deepEqual(s.row('sw2'), [6.8, 1, 1e300]);
  assert.equal(s.row('sw3'), undefined);
  assert.equal(s.decimalsOf('latency_ms'), 2);
  assert.equal(s.decimalsOf('weird'), ANY_DECIMALS);
  assert.equal(s.decimalsOf('nope'), undefined);

  // copyColumn is a copy (writing it leaves the snapshot alone); columnView is the column itself.
  const copy = s.copyColumn('latency_ms')!;
  assert.deepEqual([...copy], [1.42, 6.8, 0]);
  copy[0] = 99;
  assert.equal(s.value('sw1', 'latency_ms'), 1.42);
  const view = s.columnView('latency_ms')!;
  assert.deepEqual([...view], [1.42, 6.8, 0]);
  assert.equal(view.buffer, s.block.buffer, 'a view of the block, not a copy');
  assert.equal(s.copyColumn('nope'), undefined);
  assert.equal(s.columnView('nope'), undefined);
  const row = s.row('sw1')!;
  row[0] = 99;
  assert.equal(s.value('sw1', 'latency_ms'), 1.42, 'row() is a copy too');
});

test('age in seconds with millisecond precision, never negative (a clock behind ingestion)', () => {
  const s = snapshotOf(COLUMNS, 1, 10_000);
  assert.equal(s.ageSeconds(12_345), 2.345);
  assert.equal(s.ageSeconds(10_000), 0);
  assert.equal(s.ageSeconds(9_000), 0);
  assert.ok(s.ageSeconds() > 1e9, 'defaults to now');
});

test('same ids: the next snapshot shares the decoded id list; other ids are decoded afresh', () => {
  const first = snapshotOf(COLUMNS, 1, 0);
  const ids = first.switchIds;
  const same = snapshotOf(columnsOf(['sw1', 'sw2', 'sw10'], [{ name: 'a', decimals: 0, values: [1, 2, 3] }]), 2, 0, first);
  assert.equal(same.switchIds, ids, 'shared, not decoded again');
  assert.ok(same.sameIdsAs(first));
  const other = snapshotOf(columnsOf(['sw1', 'sw2', 'sw11'], [{ name: 'a', decimals: 0, values: [1, 2, 3] }]), 3, 0, first);
  assert.notEqual(other.switchIds, ids);
  assert.deepEqual(other.switchIds, ['sw1', 'sw2', 'sw11']);
  assert.equal(other.sameIdsAs(first), false, 'same length, other bytes');
  const shorter = snapshotOf(columnsOf(['sw1', 'sw2'], [{ name: 'a', decimals: 0, values: [1, 2] }]), 4, 0, first);
  assert.equal(shorter.sameIdsAs(first), false);
  assert.deepEqual(shorter.switchIds, ['sw1', 'sw2']);
});

test('the index hash is FNV-1a (the table travels in the wire form, so every build must hash alike)', () => {
  // Published FNV-1a 32-bit test vectors.
  assert.equal(hashString(''), FNV_OFFSET);
  assert.equal(hashString('a'), 0xe40c292c);
  assert.equal(hashString('foobar'), 0xbf9cf968);
  const bytes = new Uint8Array(Buffer.from('xxfoobarxx'));
  assert.equal(hashBytes(bytes, 2, 8), 0xbf9cf968);
  assert.equal(hashBytes(bytes, 3, 3), FNV_OFFSET);
});

test('table size: a power of two, at least 16 and at least twice the rows', () => {
  assert.deepEqual([0, 1, 8, 9, 16, 17, 100, 1000].map(tableSizeFor), [16, 16, 16, 32, 32, 64, 256, 2048]);
});

test('switch id check: the schema pattern ^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$ on a byte range', () => {
  const check = (text: string): boolean => isSwitchIdBytes(new Uint8Array(Buffer.from(`,${text},`, 'latin1')), 1, 1 + text.length);
  for (const good of ['a', 'Z', '0', 'sw1', 'a_b.c:d-e', 'x'.repeat(64), 'A9']) assert.equal(check(good), true, good);
  for (const bad of ['', '_a', '.a', '-a', ':a', 'x'.repeat(65), 'a b', 'a,b', 'a/b', 'é', 'a\nb', 'a"']) assert.equal(check(bad), false, JSON.stringify(bad));
  assert.equal(isSwitchIdBytes(new Uint8Array(Buffer.from('sw1')), -1, 2), false, 'a start before the buffer');
});

test('the index finds every id and no other, through collisions and wrap-around of its table', () => {
  // 100 ids in a table of 256: probing chains and wrap-around at the end of the table happen.
  const ids = Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? `sw${i}` : `leaf-${i}.pod:${i % 7}`));
  const { ids: data } = columnsOf(ids, []);
  const index = new SwitchIndex(data);
  assert.equal(index.count, 100);
  for (const [row, id] of ids.entries()) {
    assert.equal(index.lookup(id), row, id);
    const bytes = new Uint8Array(Buffer.from(`>${id}<`, 'latin1'));
    assert.equal(findRow(data, bytes, 1, 1 + id.length, hashBytes(bytes, 1, 1 + id.length)), row, id);
  }
  for (const absent of ['sw1', 'sw100', 'leaf-1.pod:2', 'sw', 'leaf-1.pod:1x', 'Sw0']) {
    assert.equal(index.lookup(absent), -1, absent);
    const bytes = new Uint8Array(Buffer.from(absent, 'latin1'));
    assert.equal(findRow(data, bytes, 0, bytes.length, hashBytes(bytes, 0, bytes.length)), -1, absent);
  }
  // A full chain: every id hashed to the last slot, so probing must wrap to slot 0.
  const table = new Int32Array(16);
  for (let row = 0; row < 3; row++) insertRow(table, 15, row);
  assert.deepEqual([table[15], table[0], table[1], table[2]], [1, 2, 3, 0]);
  // The same id text found through that table only when the comparison, not the hash, says so.
  const wrapped = { idText: new Uint8Array(Buffer.from('aa\nab\nba')), idEnds: Int32Array.from([2, 5, 8]), table };
  const probe = new Uint8Array(Buffer.from('ba'));
  assert.equal(findRow(wrapped, probe, 0, 2, 15), 2);
  assert.equal(findRow(wrapped, new Uint8Array(Buffer.from('bb')), 0, 2, 15), -1);
  assert.equal(findRow(wrapped, new Uint8Array(Buffer.from('b')), 0, 1, 15), -1, 'another length is never compared');
});

test('an index over no ids lists none; a table that is not a power of two is refused', () => {
  const empty = new SwitchIndex({ idText: new Uint8Array(0), idEnds: new Int32Array(0), table: new Int32Array(16) });
  assert.deepEqual(empty.ids(), []);
  assert.equal(empty.lookup(''), -1);
  for (const size of [0, 3, 24]) {
    assert.throws(() => new SwitchIndex({ idText: new Uint8Array(0), idEnds: new Int32Array(0), table: new Int32Array(size) }), /power of two/, `size ${size}`);
  }
  // ids() is decoded once and then the same frozen array.
  const { ids: data } = columnsOf(['a', 'b'], []);
  const index = new SwitchIndex(data);
  assert.equal(index.ids(), index.ids());
  assert.ok(Object.isFrozen(index.ids()));
  // Sharing the decoded list only when the ids are the same.
  assert.equal(SwitchIndex.over(columnsOf(['a', 'b'], []).ids, index).ids(), index.ids());
  assert.notEqual(SwitchIndex.over(columnsOf(['a', 'c'], []).ids, index).ids(), index.ids());
  assert.deepEqual(SwitchIndex.over(columnsOf(['a', 'c'], []).ids, undefined).ids(), ['a', 'c']);
});
