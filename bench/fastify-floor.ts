/**
 * A reference point for `npm run bench`: Fastify with no hooks, no logging and no routes but one,
 * answering a constant body of the size under test. Its ratio to the bare node:http server is the
 * framework's own share of the gap, separate from what the metrics server adds. Prints
 * `{"port":P}` once listening; stops on SIGTERM/SIGINT.
 */
import Fastify from 'fastify';

const app = Fastify({ logger: false });
const bodies = new Map<number, Buffer>();
app.get<{ Params: { size: string } }>('/bytes/:size', (request, reply) => {
  const size = Math.min(Number(request.params.size), 256 * 1024 * 1024);
  let body = bodies.get(size);
  if (body === undefined) {
    body = Buffer.alloc(size, 'x');
    bodies.set(size, body);
  }
  return reply.header('content-type', 'application/json; charset=utf-8').header('etag', '"v1"').send(body);
});

app.listen({ host: '127.0.0.1', port: 0 }).then(
  () => {
    const address = app.server.address();
    if (address === null || typeof address === 'string') throw new Error('not bound to a TCP port');
    process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
  },
  (err: unknown) => {
    process.stderr.write(`fastify-floor: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
const stop = (): void => {
  void app.close().then(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
