/**
 * The ceiling of `npm run bench`: a bare `node:http` server in its own process that answers with a
 * constant, pre-built body of n bytes. Bodies are built on first request for a size and kept; the
 * query string is ignored, so the load generator can send it exactly the requests the server under
 * test gets. Two response shapes:
 * - `GET /bytes/<n>`: JSON content type, a Content-Length and an ETag (the generator's /counters and
 *   the reference rows are compared with this);
 * - `GET /snapshot-bytes/<n>`: the same response shape as a metrics server answer built from a
 *   snapshot: the same header names, values of the same length (ETag, Last-Modified,
 *   X-Snapshot-Age-Seconds, Cache-Control, Content-Type, Content-Length), so what the ratio measures
 *   is the server's work, not the size of the headers it chose to send.
 * It prints `{"port":P}` once listening and stops on SIGTERM/SIGINT.
 */
import { createServer } from 'node:http';

const bodies = new Map<number, Buffer>();
const JSON_TYPE = 'application/json; charset=utf-8';

const server = createServer((req, res) => {
  const match = /^\/(bytes|snapshot-bytes)\/(\d+)(?:\?|$)/.exec(req.url ?? '');
  if (match === null) {
    res.writeHead(404).end();
    return;
  }
  const size = Math.min(Number(match[2]), 256 * 1024 * 1024);
  let body = bodies.get(size);
  if (body === undefined) {
    body = Buffer.alloc(size, 'x');
    bodies.set(size, body);
  }
  if (match[1] === 'bytes') res.writeHead(200, { 'content-type': JSON_TYPE, 'content-length': body.length, etag: '"v1"' });
  else {
    res.writeHead(200, [
      'etag', '"v1"',
      'last-modified', 'Wed, 25 Nov 2026 10:47:08 GMT',
      'x-snapshot-age-seconds', '1.234',
      'cache-control', 'no-cache',
      'content-type', JSON_TYPE,
      'content-length', String(body.length),
    ]);
  }
  res.end(body);
});

server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('not bound to a TCP port');
  process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
});

const stop = (): void => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
