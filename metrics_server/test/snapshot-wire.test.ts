/**
 * The snapshot's wire form (snapshot/wire.ts): every encoding round-trips exactly, and bytes from
 * outside (a Redis value, a checkpoint file) that are truncated, corrupt, from another format version
 * or simply garbage are refused with a reason, never a throw, never a half-read snapshot.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ANY_DECIMALS, type TelemetryColumns } from '../src/snapshot/columns.js';
import { Snapshot } from '../src/snapshot/snapshot.js';
import { SwitchIndex, buildTable } from '../src/snapshot/switch-index.js';
import { WIRE_FORMAT_VERSION, adoptForeignBlock, decodeColumns, decodeSnapshotWire, encodeColumns, encodeSnapshotWire } from '../src/snapshot/wire.js';

/** Random columns: unique valid ids; each metric of a random number kind, its values fitting the kind. */
const columnsArbitrary: fc.Arbitrary<TelemetryColumns> = fc
  .tuple(
    fc.uniqueArray(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,20}$/), { minLength: 1, maxLength: 60 }),
    fc.uniqueArray(fc.stringMatching(/^[a-z_][a-z0-9_]{0,15}$/), { minLength: 1, maxLength: 8 }).map((names) => names.filter((n) => n !== 'timestamp' && n !== 'switch_id')),
  )
  .filter(([, names]) => names.length > 0)
  .chain(([ids, names]) =>
    fc.tuple(
      fc.constant(ids),
      fc.tuple(
        ...names.map((name) =>
          fc.constantFrom(ANY_DECIMALS, 0, 1, 2, 3, 6).chain((decimals) =>
            fc
              .array(
                decimals === ANY_DECIMALS
                  ? fc.double({ noNaN: true, noDefaultInfinity: true })
                  : fc.oneof(
                      { weight: 9, arbitrary: fc.integer({ min: -(10 ** 9), max: 10 ** 9 }).map((m) => m / 10 ** decimals) },
                      { weight: 1, arbitrary: fc.constantFrom(-0, 0, 2 ** 31 / 10 ** decimals, 1e12 / 10 ** decimals) },
                    ),
                { minLength: ids.length, maxLength: ids.length },
              )
              .map((values) => ({ name, decimals, values: Float64Array.from(values) })),
          ),
        ),
      ),
    ),
  )
  .map(([ids, metrics]) => {
    const idText = new Uint8Array(Buffer.from(ids.join('\n'), 'latin1'));
    const idEnds = new Int32Array(ids.length);
    let end = -1;
    for (const [row, id] of ids.entries()) idEnds[row] = end = end + 1 + id.length;
    return { rowCount: ids.length, ids: { idText, idEnds, table: buildTable(idText, idEnds) }, metrics };
  });

function assertSameColumns(actual: TelemetryColumns, expected: TelemetryColumns): void {
  assert.equal(actual.rowCount, expected.rowCount);
  assert.deepEqual(Buffer.from(actual.ids.idText), Buffer.from(expected.ids.idText));
  assert.deepEqual([...actual.ids.idEnds], [...expected.ids.idEnds]);
  assert.deepEqual(
    actual.metrics.map((m) => [m.name, m.decimals]),
    expected.metrics.map((m) => [m.name, m.decimals]),
  );
  for (const [c, metric] of expected.metrics.entries()) {
    for (let r = 0; r < expected.rowCount; r++) assert.ok(Object.is(actual.metrics[c]!.values[r], metric.values[r]), `${metric.name}[${r}]: ${actual.metrics[c]!.values[r]} vs ${metric.values[r]}`);
  }
  const index = new SwitchIndex(actual.ids);
  for (const [row, id] of index.ids().entries()) assert.equal(index.lookup(id), row);
}

test('property: every encoding decodes to exactly the columns it was made of', () => {
  fc.assert(
    fc.property(columnsArbitrary, fc.boolean(), fc.boolean(), fc.boolean(), (columns, compact, withIndexTable, shared) => {
      const block = encodeColumns(columns, { compact, withIndexTable, shared });
      assert.equal(block.buffer instanceof SharedArrayBuffer, shared);
      for (const trust of ['own', 'foreign'] as const) {
        const decoded = decodeColumns(block, trust);
        assert.ok(decoded.ok, decoded.ok ? '' : decoded.reason);
        assertSameColumns(decoded.value, columns);
      }
      const envelope = encodeSnapshotWire({ version: 42, term: 7, ingestedAtMs: 1766501919_123, block });
      const back = decodeSnapshotWire(envelope);
      assert.ok(back.ok);
      assert.deepEqual([back.value.version, back.value.term, back.value.ingestedAtMs], [42, 7, 1766501919_123]);
      assert.ok(Buffer.from(back.value.block).equals(Buffer.from(block)));
    }),
    { numRuns: 300 },
  );
});

test('the compact encoding stores exact decimals as 32-bit integers and keeps Float64 where a value would not survive', () => {
  const idText = new Uint8Array(Buffer.from('sw1\nsw2\nsw3'));
  const idEnds = Int32Array.from([3, 7, 11]);
  const columns: TelemetryColumns = {
    rowCount: 3,
    ids: { idText, idEnds, table: buildTable(idText, idEnds) },
    metrics: [
      { name: 'latency_ms', decimals: 2, values: Float64Array.from([1.42, 6.8, 0]) },
      { name: 'negative_zero', decimals: 0, values: Float64Array.from([1, -0, 2]) },
      { name: 'too_large', decimals: 0, values: Float64Array.from([1, 2 ** 40, 2]) },
      { name: 'any', decimals: ANY_DECIMALS, values: Float64Array.from([Math.PI, 1e300, -1e-300]) },
    ],
  };
  const plain = encodeColumns(columns, { withIndexTable: false });
  const compact = encodeColumns(columns, { compact: true, withIndexTable: false });
  assert.equal(plain.length - compact.length, 8, 'latency_ms: 3 × 4 bytes saved, padded to 8');
  for (const block of [plain, compact]) {
    const decoded = decodeColumns(block, 'foreign');
    assert.ok(decoded.ok);
    assertSameColumns(decoded.value, columns);
  }
});

test('foreign bytes: truncated, corrupt, another version, garbage and bombs are refused with a reason', () => {
  const prepared = encodeColumns({
    rowCount: 2,
    ids: { idText: new Uint8Array(Buffer.from('sw1\nsw2')), idEnds: Int32Array.from([3, 7]), table: buildTable(new Uint8Array(Buffer.from('sw1\nsw2')), Int32Array.from([3, 7])) },
    metrics: [{ name: 'latency_ms', decimals: 2, values: Float64Array.from([1.42, 6.8]) }],
  });
  const envelope = encodeSnapshotWire({ version: 3, term: 1, ingestedAtMs: 1000, block: prepared });

  // Every truncation of the envelope.
  for (let length = 0; length < envelope.length; length++) {
    const result = decodeSnapshotWire(envelope.subarray(0, length));
    assert.equal(result.ok, false, `truncated to ${length}`);
  }
  // Every single flipped bit of the block is caught by the checksum.
  for (let i = 40; i < envelope.length; i++) {
    const flipped = Uint8Array.from(envelope);
    flipped[i]! ^= 1 << (i % 8);
    const result = decodeSnapshotWire(flipped);
    assert.ok(!result.ok && /checksum mismatch/.test(result.reason), `bit flipped at ${i}`);
  }
  const future = Uint8Array.from(envelope);
  new DataView(future.buffer).setUint16(4, WIRE_FORMAT_VERSION + 1, true);
  const refused = decodeSnapshotWire(future);
  assert.ok(!refused.ok && refused.reason === `snapshot wire: format version ${WIRE_FORMAT_VERSION + 1}, this server reads ${WIRE_FORMAT_VERSION}`);
  assert.ok(!decodeSnapshotWire(new Uint8Array(Buffer.from('{"not":"a snapshot"} but long enough to have a header'))).ok);

  // A block whose header promises more than it holds: a huge row count, metric count, section sizes.
  for (const [offset, value] of [[8, 0xffffffff], [12, 0xffffffff], [16, 0x7fffffff], [20, 1 << 30], [24, 0xffffffff]] as const) {
    const bomb = Uint8Array.from(prepared);
    new DataView(bomb.buffer).setUint32(offset, value, true);
    const result = decodeColumns(bomb, 'foreign');
    assert.equal(result.ok, false, `header field at ${offset} set to ${value}`);
  }
  // Every truncation and extension of a block.
  for (let length = 0; length < prepared.length; length++) assert.equal(decodeColumns(prepared.subarray(0, length), 'foreign').ok, false);
  assert.equal(decodeColumns(Uint8Array.from([...prepared, 0, 0, 0, 0, 0, 0, 0, 0]), 'foreign').ok, false);
});

test('foreign ids are checked: bad characters, duplicates, ends out of order; a foreign index table is never trusted', () => {
  const block = (ids: string, ends: number[], table?: Int32Array): Uint8Array => {
    const idText = new Uint8Array(Buffer.from(ids, 'latin1'));
    const idEnds = Int32Array.from(ends);
    return encodeColumns({ rowCount: ends.length, ids: { idText, idEnds, table: table ?? new Int32Array(16) }, metrics: [{ name: 'a', decimals: 0, values: new Float64Array(ends.length) }] }, { withIndexTable: table !== undefined });
  };
  const reason = (bytes: Uint8Array): string => {
    const result = decodeColumns(bytes, 'foreign');
    assert.ok(!result.ok);
    return result.reason;
  };
  assert.match(reason(block('sw1\nsw"2', [3, 8])), /id 1 is not a valid switch id/);
  assert.match(reason(block('sw1\nsw1', [3, 7])), /duplicate switch ids/);
  assert.match(reason(block('sw1\nsw2', [7, 3])), /outside its place|not a valid switch id/);
  assert.match(reason(block('sw1xsw2', [3, 7])), /not followed by a separator/);
  // A table that sends every lookup to the wrong row (or would never end): rebuilt, so lookups are right.
  const lying = new Int32Array(16).fill(2);
  const decoded = decodeColumns(block('sw1\nsw2', [3, 7], lying), 'foreign');
  assert.ok(decoded.ok);
  const index = new SwitchIndex(decoded.value.ids);
  assert.deepEqual([index.lookup('sw1'), index.lookup('sw2'), index.lookup('sw3')], [0, 1, -1]);
});

test('adopted foreign bytes become an own block in shared memory that a snapshot reads in place', () => {
  const compact = encodeColumns(
    {
      rowCount: 2,
      ids: { idText: new Uint8Array(Buffer.from('a\nb')), idEnds: Int32Array.from([1, 3]), table: new Int32Array(16) },
      metrics: [{ name: 'latency_ms', decimals: 2, values: Float64Array.from([1.42, 6.8]) }],
    },
    { compact: true, withIndexTable: false },
  );
  const adopted = adoptForeignBlock(compact);
  assert.ok(adopted.ok);
  assert.ok(adopted.value.buffer instanceof SharedArrayBuffer);
  const snapshot = Snapshot.fromContent({ version: 9, term: 2 }, { block: adopted.value, ingestedAtMs: 1766501919_500 });
  assert.ok(snapshot.ok);
  assert.equal(snapshot.value.value('b', 'latency_ms'), 6.8);
  assert.equal(snapshot.value.etag, '"v9"');
  assert.equal(snapshot.value.timestamp, 1766501919);
  assert.deepEqual(snapshot.value.decimals, [2]);
  assert.ok(Object.isFrozen(snapshot.value));
});
