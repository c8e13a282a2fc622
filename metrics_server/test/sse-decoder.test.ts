/** The push source's byte-level SSE decoder, held to eventsource-parser on random streams and chunkings. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { SseDecodeError, SseDecoder } from '../src/sources/sse-decoder.js';

const line = fc.oneof(
  fc.constantFrom('', ': keep-alive', 'retry: 1000', 'event: full', 'event: delta', 'id: r:1', 'id: r:2', 'data', 'data:', 'data: x', 'data:  two spaces', 'unknown: field'),
  fc.stringMatching(/^data: [a-z0-9,._]{0,20}$/),
);
const ending = fc.constantFrom('\n', '\r\n', '\r');

test('property: the same events as eventsource-parser, whatever the line endings and chunk boundaries', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(line, ending), { maxLength: 40 }), fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 10 }), (lines, cuts) => {
      const text = `${lines.map(([l, e]) => l + e).join('')}\n\n`;
      const expected: EventSourceMessage[] = [];
      const parser = createParser({ onEvent: (e) => expected.push(e) });
      parser.feed(text);
      const decoder = new SseDecoder(1 << 20);
      const bytes = Buffer.from(text);
      const actual: { event: string; id: string | undefined; data: string }[] = [];
      let pos = 0;
      let k = 0;
      while (pos < bytes.length) {
        const size = cuts[k++ % cuts.length]!;
        for (const m of decoder.push(bytes.subarray(pos, pos + size))) actual.push({ event: m.event, id: m.id, data: m.data.toString() });
        pos += size;
      }
      assert.deepEqual(
        actual.map((e) => ({ event: e.event, data: e.data })),
        expected.map((e) => ({ event: e.event ?? 'message', data: e.data })),
      );
      // The library reports the id an event itself set; ours also carries it (and, per the
      // specification, the last id seen before, for events that set none).
      expected.forEach((e, i) => {
        if (e.id !== undefined && e.id !== '') assert.equal(actual[i]!.id, e.id);
      });
    }),
    { numRuns: 500 },
  );
});

test('an event past the limit is an error, also when its data never ends', () => {
  assert.throws(() => new SseDecoder(100).push(Buffer.from(`data: ${'x'.repeat(200)}\n`)), SseDecodeError);
  assert.throws(() => new SseDecoder(100).push(Buffer.from(`data: ${'x'.repeat(200)}`)), SseDecodeError);
  const ok = new SseDecoder(100).push(Buffer.from('event: full\nid: a:1\ndata: a\ndata: b\n\n'));
  assert.deepEqual(ok.map((m) => [m.event, m.id, m.data.toString()]), [['full', 'a:1', 'a\nb']]);
});
