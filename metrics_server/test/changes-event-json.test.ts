/**
 * The stream's whole-fabric `changes` event is rendered as bytes in the render worker
 * (views/changes-event-json.ts); the string version in views/stream-events.ts (used for filtered
 * events and resumes) is its reference. They must agree byte for byte on any pair of snapshots.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeColumns } from '../src/snapshot/wire.js';
import type { Snapshot } from '../src/snapshot/snapshot.js';
import type { TelemetryColumns } from '../src/snapshot/columns.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { renderChangesJson } from '../src/views/changes-event-json.js';
import { changesEventJson } from '../src/views/stream-events.js';
import { VIEW_KINDS } from '../src/views/view-kinds.js';
import { publishCsv } from './helpers.js';

const columnsOf = (snapshot: Snapshot): TelemetryColumns => {
  const decoded = decodeColumns(snapshot.block, 'own');
  if (!decoded.ok) throw new Error(decoded.reason);
  return decoded.value;
};

/** A value's CSV text of one number kind: integers, or decimals with 1 or 2 places (negative too). */
const valueText = (kind: number): fc.Arbitrary<string> =>
  kind === 0 ? fc.integer({ min: -1e9, max: 1e9 }).map(String) : fc.integer({ min: -1e7, max: 1e7 }).map((n) => (n / 10 ** kind).toFixed(kind));

/** Two ticks of one fabric: the second keeps, changes or zeroes each value (a link going down). */
const twoTicks = fc
  .record({ switches: fc.integer({ min: 1, max: 40 }), kinds: fc.array(fc.constantFrom(0, 1, 2), { minLength: 1, maxLength: 5 }) })
  .chain(({ switches, kinds }) =>
    fc.record({
      kinds: fc.constant(kinds),
      ids: fc.uniqueArray(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,11}$/), { minLength: switches, maxLength: switches }),
      before: fc.array(fc.tuple(...kinds.map(valueText)), { minLength: switches, maxLength: switches }),
      change: fc.array(fc.tuple(...kinds.map((k) => fc.oneof(fc.constant('keep'), fc.constant('0'), valueText(k)))), { minLength: switches, maxLength: switches }),
    }),
  );

test('the byte-rendered whole-fabric changes event equals the string version, byte for byte', () => {
  fc.assert(
    fc.property(twoTicks, ({ kinds, ids, before, change }) => {
      const header = `switch_id,${kinds.map((_, c) => `m${c}`).join(',')}`;
      const csv = (rows: readonly (readonly string[])[]): string => `${header}\n${rows.map((row, r) => `${ids[r]},${row.join(',')}`).join('\n')}\n`;
      const after = before.map((row, r) => row.map((v, c) => (change[r]![c] === 'keep' ? v : change[r]![c]!)));
      const store = new MemoryStore({ firstVersion: 7 });
      const previous = publishCsv(store, csv(before), 1766501919_000);
      const current = publishCsv(store, csv(after), 1766501924_000);
      const expected = changesEventJson(previous, current, {});
      const actual = renderChangesJson(columnsOf(previous), columnsOf(current), current.version, current.timestamp);
      assert.ok(expected !== undefined && actual !== undefined);
      assert.equal(actual.toString('latin1'), expected.toString('latin1'));
    }),
    { numRuns: 300 },
  );
});

test('snapshots with other switches or metrics give no changes event (the stream sends a snapshot)', () => {
  const store = new MemoryStore();
  const a = publishCsv(store, 'switch_id,m0,m1\nsw1,1,2\nsw2,3,4\n');
  const otherIds = publishCsv(store, 'switch_id,m0,m1\nsw1,1,2\nsw3,3,4\n');
  const otherMetrics = publishCsv(store, 'switch_id,m0,m2\nsw1,1,2\nsw2,3,4\n');
  assert.equal(renderChangesJson(columnsOf(a), columnsOf(otherIds), 2, 0), undefined);
  assert.equal(renderChangesJson(columnsOf(a), columnsOf(otherMetrics), 3, 0), undefined);
  // The view says so with an empty body; without a previous snapshot too.
  const view = VIEW_KINDS['stream-changes.json'];
  assert.equal((view(columnsOf(otherIds), { version: 2, timestamp: 0, previousBlock: a.block }) as Uint8Array).length, 0);
  assert.equal((view(columnsOf(a), { version: 1, timestamp: 0 }) as Uint8Array).length, 0);
  const unchanged = publishCsv(store, 'switch_id,m0,m1\nsw1,1,2\nsw2,3,4\n');
  assert.equal(Buffer.from(view(columnsOf(unchanged), { version: 4, timestamp: 9, previousBlock: a.block }) as Uint8Array).toString(), '{"version":4,"timestamp":9,"switches":{}}');
});
