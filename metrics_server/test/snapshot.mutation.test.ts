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
import { adoptForeignBlock, decodeColumns, decodeSnapshotWire, encodeColumns, encodeSnapshotWire } from '../src/snapshot/wire.js';

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

// ---- The wire form's refusals, one header field at a time (written after `npm run mutation -- snapshot`
// left 101 mutants of wire.ts alive: the garbage tests only asserted `ok: false`, and a later check
// refused the bytes anyway, so each check could be removed, or its bound moved by one, unseen. Each
// case names the reason it must give; planted by hand in src/ and seen failing, then restored:
// `rows === 0` check removed, `metricCount > 4096` to `>= 4096`, `tableLength < rows * 2` to
// `rows / 2`, `p + length + 2` to `p + length - 2`, `p >= metaEnd` to `>`, the foreign finite-value
// loop `r < rows` to `r >= rows`, `version < 1` to `version <= 1`, `m > 0x7fffffff` to `>=`, the
// alignment test `% 8` to `* 8`, `withIndexTable ?? true` to `&& true`, adoptForeignBlock without
// its `!columns.ok` return, isSwitchIdBytes without `length < 1`, buildTable's `row <= length`.
// A replay of every survivor of that run against this file alone kills all but the 11 the README
// lists as equivalent.)

/** Bytes of `block` with the u32/u16/i8/u8 at `at` set to `value`. */
function patched(block: Uint8Array, at: number, value: number, size: 'u32' | 'u16' | 'i8' | 'u8'): Uint8Array {
  const copy = new Uint8Array(block);
  const view = new DataView(copy.buffer);
  if (size === 'u32') view.setUint32(at, value, true);
  else if (size === 'u16') view.setUint16(at, value, true);
  else if (size === 'i8') view.setInt8(at, value);
  else view.setUint8(at, value);
  return copy;
}

function reasonOf(bytes: Uint8Array, what = 'the bytes'): string {
  const result = decodeColumns(bytes, 'foreign');
  assert.ok(!result.ok, `${what} refused`);
  return result.reason;
}

test('a column block is refused with the reason of the first field that is wrong', () => {
  const block = encodeColumns(COLUMNS); // 3 rows, 3 metrics, table of 16 entries, f64 columns
  const size = block.length;
  // Metric section: "latency_ms" (1 + 10 + 2), "link_status" (1 + 11 + 2), "weird" (1 + 5 + 2).
  const metaBytes = 13 + 14 + 8;
  assert.equal(new DataView(block.buffer).getUint32(24, true), metaBytes);
  assert.ok(decodeColumns(block, 'foreign').ok);
  const cases: [bytes: Uint8Array, reason: RegExp][] = [
    [block.subarray(0, 31), /31 bytes is shorter than its header/],
    [new Uint8Array(32), /bad magic/], // exactly a header's length is not "shorter"
    [patched(block, 0, 0x42435447, 'u32'), /bad magic/],
    [patched(block, 4, 2, 'u16'), /format version 2, this server reads 1/],
    [patched(block, 6, 3, 'u16'), /unknown flags 3/],
    [patched(block, 8, 0, 'u32'), /no rows/],
    [patched(block, 12, 0, 'u32'), /: 0 metrics/],
    [patched(block, 12, 4097, 'u32'), /: 4097 metrics/],
    [patched(block, 16, 1, 'u32'), /section sizes do not fit the block/], // 3 ids need ≥ 5 bytes
    [patched(block, 16, size + 1, 'u32'), /section sizes do not fit the block/],
    [patched(block, 24, size + 1, 'u32'), /section sizes do not fit the block/],
    [patched(block, 20, size + 1, 'u32'), /section sizes do not fit the block/],
    [patched(block, 6, 0, 'u16'), /table flag and table size disagree/],
    [patched(block, 20, 24, 'u32'), /table size 24 is not a power of two/],
    [patched(block, 20, 4, 'u32'), /table of 4 entries for 3 rows/],
    [patched(block, 24, size - 31, 'u32'), /metric section runs past the end/],
    [patched(block, 24, 0, 'u32'), /metric section too short/],
    [patched(block, 32 + 13 + 14, 6, 'u8'), /metric section too short/], // "weird"'s length one too long
    [patched(block, 32 + 13 + 14, 7, 'u8'), /metric section too short/], // two too long
    [patched(block, 33, 0x2d, 'u8'), /invalid metric name "-atency_ms"/],
    [patched(block, 32 + 11, 16, 'i8'), /metric latency_ms: decimals 16/],
    [patched(block, 32 + 11, -2, 'i8'), /metric latency_ms: decimals -2/],
    [patched(block, 32 + 12, 2, 'u8'), /metric latency_ms: encoding 2/],
    [patched(block, 32 + 13 + 14 + 7, 1, 'u8'), /metric weird: encoding 1/], // i32 needs decimals ≥ 0
    [patched(block, 24, metaBytes + 1, 'u32'), /metric section has trailing bytes/],
    [Uint8Array.from([...block, 0, 0, 0, 0, 0, 0, 0, 0]), new RegExp(`${size + 8} bytes where the header describes ${size}`)],
  ];
  for (const [i, [bytes, reason]] of cases.entries()) assert.match(reasonOf(bytes, `case ${i}`), reason);
  // Bounds that are not refusals: exactly 4096 metrics, decimals 15, and a table of exactly 2 × rows
  // pass their own checks (each fails later, on another field).
  assert.doesNotMatch(reasonOf(patched(block, 12, 4096, 'u32')), /metrics$/);
  assert.ok(decodeColumns(patched(block, 32 + 11, 15, 'i8'), 'foreign').ok, 'decimals 15 is a valid kind');
  assert.doesNotMatch(reasonOf(patched(block, 20, 8, 'u32')), /table/);
  assert.doesNotMatch(reasonOf(patched(block, 16, size, 'u32')), /section sizes/);
  assert.doesNotMatch(reasonOf(patched(block, 24, size - 32, 'u32')), /runs past the end/);
  assert.match(reasonOf(patched(block, 24, size, 'u32')), /runs past the end/, 'a section as long as the block fits the size check');
  assert.doesNotMatch(reasonOf(patched(block, 20, size, 'u32')), /section sizes/);
  // The section ends where the bytes end, one metric short: "too short", not a read past the end.
  assert.match(reasonOf(patched(block.subarray(0, 32 + metaBytes), 12, 4, 'u32')), /metric section too short/);
});

test('metric names in a block: invalid (quoted, cut to 40 characters) and duplicate ones are refused', () => {
  const long = `-${'x'.repeat(50)}`;
  const invalid = encodeColumns(columnsOf(['a'], [{ name: long, decimals: 0, values: [1] }]));
  assert.match(reasonOf(invalid), new RegExp(`invalid metric name "${long.slice(0, 40)}"$`));
  const duplicate = encodeColumns(columnsOf(['a'], [{ name: 'm', decimals: 0, values: [1] }, { name: 'm', decimals: 0, values: [2] }]));
  assert.match(reasonOf(duplicate), /duplicate metric m$/);
});

test('foreign blocks: ids and values are checked one by one; own blocks are read as they are', () => {
  const ids = (text: string, ends: number[]): TelemetryColumns => {
    const idText = new Uint8Array(Buffer.from(text, 'latin1'));
    const idEnds = Int32Array.from(ends);
    return { rowCount: ends.length, ids: { idText, idEnds, table: new Int32Array(16) }, metrics: [{ name: 'm', decimals: ANY_DECIMALS, values: new Float64Array(ends.length) }] };
  };
  const foreign = (columns: TelemetryColumns): string => reasonOf(encodeColumns(columns, { withIndexTable: false }));
  assert.match(foreign(ids('sw1\nsw2\nsw3', [3, 2, 11])), /id 1 ends at 2, outside its place/);
  assert.match(foreign(ids('sw1\nsw2\nsw3', [3, 7, 12])), /id 2 ends at 12, outside its place/);
  assert.match(foreign(ids('sw1\n\nsw3xx', [3, 4, 8])), /id 1 is not a valid switch id/); // empty: ends where it starts
  assert.match(foreign(ids('sw1xsw2\nsw3', [3, 7, 11])), /id 0 is not followed by a separator/);
  assert.match(foreign(ids('sw1\nsw2\nsw3\n', [3, 7, 11])), /id 2 is not followed by a separator/);
  assert.match(foreign(ids('sw1\nsw2\nsw1', [3, 7, 11])), /duplicate switch ids/);

  const withNaN = columnsOf(['a', 'b'], [{ name: 'm', decimals: ANY_DECIMALS, values: [1, NaN] }]);
  assert.match(reasonOf(encodeColumns(withNaN)), /metric m row 1: not a finite number/);
  assert.match(reasonOf(encodeColumns(columnsOf(['a'], [{ name: 'm', decimals: ANY_DECIMALS, values: [-Infinity] }]))), /metric m row 0: not a finite number/);
  const adopted = adoptForeignBlock(encodeColumns(withNaN));
  assert.ok(!adopted.ok && /not a finite number/.test(adopted.reason), 'adopting checks as foreign');
  const garbage = adoptForeignBlock(new Uint8Array(8));
  assert.ok(!garbage.ok && /shorter than its header/.test(garbage.reason));
  // Trusted: structural checks only, and the block's own table and columns used in place.
  const own = decodeColumns(encodeColumns(withNaN), 'own');
  assert.ok(own.ok);
  assert.ok(Number.isNaN(own.value.metrics[0]!.values[1]!));
  const block = encodeColumns(COLUMNS);
  const decoded = decodeColumns(block, 'own');
  assert.ok(decoded.ok);
  assert.equal(decoded.value.ids.table.buffer, block.buffer, 'the table travelled with the block: not rebuilt');
});

test('decoding reads an 8-aligned block in place and copies an unaligned one', () => {
  const block = encodeColumns(COLUMNS);
  const padded = new Uint8Array(block.length + 16);
  padded.set(block, 8);
  const aligned = decodeColumns(padded.subarray(8, 8 + block.length), 'own');
  assert.ok(aligned.ok);
  assert.equal(aligned.value.metrics[0]!.values.buffer, padded.buffer, 'no copy at offset 8');
  padded.copyWithin(1, 8, 8 + block.length);
  const unaligned = decodeColumns(padded.subarray(1, 1 + block.length), 'own');
  assert.ok(unaligned.ok, 'offset 1 would not allow a Float64Array view: copied');
  assert.deepEqual([...unaligned.value.metrics[0]!.values], [1.42, 6.8, 0]);
});

test('encoding: the id table is included unless asked not to; compact columns are 32-bit where every value fits', () => {
  assert.equal(new DataView(encodeColumns(COLUMNS).buffer).getUint16(6, true), 1, 'table flag by default');
  assert.equal(new DataView(encodeColumns(COLUMNS, { withIndexTable: false }).buffer).getUint16(6, true), 0);
  // The encoding byte of a one-metric block sits after the header and name: 32 + 1 + 1 + 1.
  const encodingOf = (decimals: number, values: number[]): number => encodeColumns(columnsOf(values.map((_, i) => `s${i}`), [{ name: 'm', decimals, values }]), { compact: true })[35]!;
  assert.equal(encodingOf(0, [2147483647, -2147483647, 0]), 1, 'the 32-bit bounds fit');
  assert.equal(encodingOf(0, [2147483648]), 0);
  assert.equal(encodingOf(0, [-2147483648]), 0, 'no -2^31: the range is symmetric');
  assert.equal(encodingOf(2, [1.25, -0.5]), 1);
  assert.equal(encodingOf(2, [1.255]), 0, 'more digits than its kind: kept as f64');
  assert.equal(encodingOf(15, [1e-15, 0.000000000000002]), 1, 'decimals 15 scale by 10^15');
  assert.equal(encodingOf(0, [-0]), 0, 'negative zero has no Int32 form');
  const negZero = decodeColumns(encodeColumns(columnsOf(['a'], [{ name: 'm', decimals: 0, values: [-0] }]), { compact: true }), 'foreign');
  assert.ok(negZero.ok && Object.is(negZero.value.metrics[0]!.values[0], -0));
  assert.equal(encodingOf(ANY_DECIMALS, [1, 2]), 0, 'a column of any kind is always f64');
});

test('the snapshot envelope: each identity field is checked, and its bounds are allowed', () => {
  const block = encodeColumns(COLUMNS);
  const wire = (version: number, term: number, ingestedAtMs: number, b: Uint8Array = block): ReturnType<typeof decodeSnapshotWire> => decodeSnapshotWire(encodeSnapshotWire({ version, term, ingestedAtMs, block: b }));
  const reason = (result: ReturnType<typeof decodeSnapshotWire>): string => (result.ok ? 'ok' : result.reason);
  assert.equal(reason(wire(1, 0, 0)), 'ok', 'the smallest version, term and time');
  assert.equal(reason(wire(1, 0, 0, new Uint8Array(0))), 'ok', 'exactly a header (the block is not decoded here)');
  assert.match(reason(wire(0, 0, 0)), /snapshot wire: version 0$/);
  assert.match(reason(wire(1.5, 0, 0)), /version 1.5$/);
  assert.match(reason(wire(1, -1, 0)), /term -1$/);
  assert.match(reason(wire(1, 0.5, 0)), /term 0.5$/);
  assert.match(reason(wire(1, 0, -1)), /ingestion time -1$/);
  assert.match(reason(wire(1, 0, Infinity)), /ingestion time Infinity$/);
  const good = encodeSnapshotWire({ version: 3, term: 1, ingestedAtMs: 5, block });
  assert.match(reason(decodeSnapshotWire(good.subarray(0, 39))), /39 bytes is shorter than its header/);
  assert.match(reason(decodeSnapshotWire(patched(good, 0, 0, 'u32'))), /not a snapshot \(bad magic\)/);
  assert.match(reason(decodeSnapshotWire(Uint8Array.from([...good, 0]))), new RegExp(`${good.length + 1} bytes where the header describes ${good.length} \\(truncated or padded\\)`));
});

test('the id index: an empty range is never an id, and a built table holds exactly one entry per row', () => {
  assert.equal(isSwitchIdBytes(new Uint8Array(Buffer.from('ab')), 1, 1), false, 'empty, though a valid character follows');
  const { ids: data } = columnsOf(['a', 'b', 'c'], []);
  assert.deepEqual([...data.table].filter((e) => e !== 0).sort(), [1, 2, 3]);
});
