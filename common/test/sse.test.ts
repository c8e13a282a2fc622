/**
 * The SSE framing both services write (common/sse.ts), read back by eventsource-parser (a well-kept
 * parser of the format, not our decoder): any payload's lines come out as the event's data.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { encodeSseEvent } from '../sse.js';

/** What a client must see as data: LF-joined lines, a CR before an LF dropped, a final LF ending the last line. */
function expectedData(payload: string): string {
  const lines = payload.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  if (payload.endsWith('\n')) lines.pop();
  return lines.join('\n');
}

test('property: a framed event is read back by eventsource-parser with its id, type and data', () => {
  // CSV-like lines, empty lines, CRLF endings; no lone CR (a client would split the line there).
  const payloadLine = fc.stringMatching(/^[a-z0-9,._ :-]{0,12}$/);
  const payload = fc.array(fc.tuple(payloadLine, fc.constantFrom('\n', '\r\n')), { maxLength: 12 }).chain((lines) =>
    fc.tuple(fc.constant(lines.map(([l, e]) => l + e).join('')), payloadLine).map(([body, tail]) => body + tail),
  );
  fc.assert(
    fc.property(payload, fc.boolean(), fc.constantFrom('delta', 'changes', undefined), (text, asBytes, event) => {
      const framed = encodeSseEvent({ id: 'run:7', ...(event === undefined ? {} : { event }), data: asBytes ? Buffer.from(text) : text });
      const got: EventSourceMessage[] = [];
      createParser({ onEvent: (e) => got.push(e) }).feed(framed.toString());
      assert.equal(got.length, 1);
      assert.equal(got[0]!.data, expectedData(text));
      assert.equal(got[0]!.id, 'run:7');
      assert.equal(got[0]!.event, event);
      // Every line is a field: nothing but `id:`, `event:` and `data:` lines, then one blank line.
      const lines = framed.toString().split('\n');
      assert.deepEqual(lines.slice(-2), ['', '']);
      for (const l of lines.slice(0, -2)) assert.match(l, /^(id|event|data): /);
    }),
    { numRuns: 1000 },
  );
});

test('a payload given as a view into a larger buffer is framed from its own bytes only', () => {
  const big = Buffer.from('xxxxa,1\nb,2\nyyyy');
  const framed = encodeSseEvent({ data: big.subarray(4, 12) });
  assert.equal(framed.toString(), 'data: a,1\ndata: b,2\n\n');
  assert.equal(encodeSseEvent({ data: '' }).toString(), 'data: \n\n');
});
