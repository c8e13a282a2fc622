/**
 * Shared-chunk deflate streams (common/sse-deflate.ts), held to Node's zlib: the Adler-32 against
 * zlib's own trailer, and any sequence of independently deflated chunks between our header and
 * trailer inflates (checksum verified) to the chunks' bytes in order.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deflateSync, inflateSync, createInflate } from 'node:zlib';
import fc from 'fast-check';
import { ADLER32_EMPTY, ZLIB_HEADER, adler32, adler32Combine, deflateChunk, deflateChunkSync, zlibTrailer } from '../sse-deflate.js';

const bytes = fc.uint8Array({ maxLength: 20_000 });

test('property: adler32 is the checksum zlib writes, and combining two runs equals the checksum of both', () => {
  fc.assert(
    fc.property(bytes, bytes, (a, b) => {
      const zlibAdler = deflateSync(a).readUInt32BE(deflateSync(a).length - 4);
      assert.equal(adler32(a), zlibAdler);
      assert.equal(adler32Combine(adler32(a), adler32(b), b.length), adler32(Buffer.concat([a, b])));
    }),
    { numRuns: 200 },
  );
  // Long runs: the sums are reduced every 5,552 bytes without overflowing.
  const long = new Uint8Array(1_000_003).fill(0xff);
  assert.equal(adler32(long), deflateSync(long).readUInt32BE(deflateSync(long).length - 4));
  assert.equal(adler32(new Uint8Array(0)), ADLER32_EMPTY);
});

test('property: header, independently deflated chunks and trailer are one zlib stream of the chunks in order', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.oneof(bytes, fc.string({ maxLength: 2000 }).map((s) => new Uint8Array(Buffer.from(`data: ${s}\n\n`)))), { maxLength: 8 }), fc.boolean(), async (raws, async) => {
      const chunks = await Promise.all(raws.map((r) => (async ? deflateChunk(r) : Promise.resolve(deflateChunkSync(r)))));
      let adler = ADLER32_EMPTY;
      for (const c of chunks) adler = adler32Combine(adler, c.adler, c.rawLength);
      const stream = Buffer.concat([ZLIB_HEADER, ...chunks.map((c) => c.bytes), zlibTrailer(adler)]);
      assert.deepEqual(inflateSync(stream), Buffer.concat(raws));
    }),
    { numRuns: 100 },
  );
});

test('each chunk decodes as soon as it arrives (a sync flush ends it), before the stream ends', async () => {
  const inflate = createInflate();
  const out: Buffer[] = [];
  inflate.on('data', (d: Buffer) => out.push(d));
  inflate.write(ZLIB_HEADER);
  const first = deflateChunkSync(Buffer.from('id: 1\ndata: {"a":1}\n\n'));
  inflate.write(first.bytes);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(Buffer.concat(out).toString(), 'id: 1\ndata: {"a":1}\n\n');
  inflate.end(zlibTrailer(first.adler));
  await new Promise((r) => inflate.once('end', r));
});

test('a wrong checksum in the trailer is an error: the trailer is checked', () => {
  const chunk = deflateChunkSync(Buffer.from('x'));
  assert.throws(() => inflateSync(Buffer.concat([ZLIB_HEADER, chunk.bytes, zlibTrailer(chunk.adler ^ 1)])), /incorrect data check/);
});
