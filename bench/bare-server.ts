/**
 * The ceiling of `npm run bench`: a bare `node:http` server in its own process that answers
 * `GET /bytes/<n>` with a constant, pre-built body of n bytes (JSON content type, a Content-Length,
 * an ETag, as the metrics server sends). Bodies are built on first request for a size and kept. It
 * prints `{"port":P}` once listening and stops on SIGTERM/SIGINT.
 */
import { createServer } from 'node:http';

const bodies = new Map<number, Buffer>();

const server = createServer((req, res) => {
  const match = /^\/bytes\/(\d+)/.exec(req.url ?? '');
  if (match === null) {
    res.writeHead(404).end();
    return;
  }
  const size = Math.min(Number(match[1]), 256 * 1024 * 1024);
  let body = bodies.get(size);
  if (body === undefined) {
    body = Buffer.alloc(size, 'x');
    bodies.set(size, body);
  }
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length, etag: '"v1"' });
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
