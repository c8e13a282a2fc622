/**
 * The HTTP edges that streams and a dashboard will stand on: a plugin may claim a path prefix (with
 * the same 404/405 rules as exact paths), and a graceful stop ends long-lived responses first
 * instead of waiting for them forever.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { test } from 'node:test';
import type { RoutePlugin } from '../src/http/app.js';
import { startMetricsServer } from '../src/metrics-server.js';
import { SEED_CSV, csvHandler, fakeUpstream, memoryLogger, testApp, testConfig } from './helpers.js';

const assetsPlugin: RoutePlugin = {
  paths: [],
  prefixes: ['/assets/'],
  register(app) {
    app.get('/assets/*', (request, reply) => reply.type('text/plain').send(`asset ${request.url.slice('/assets/'.length)}`));
  },
};

test('a plugin serves everything under its prefix; other methods there get 405, neighbours stay 404', async (t) => {
  const { app } = testApp('ERROR', () => [assetsPlugin]);
  t.after(() => app.close());
  const ok = await app.inject({ url: '/assets/app-1a2b.js' });
  assert.equal(ok.statusCode, 200);
  assert.equal(ok.body, 'asset app-1a2b.js');
  const post = await app.inject({ method: 'POST', url: '/assets/app-1a2b.js' });
  assert.equal(post.statusCode, 405);
  assert.equal(post.headers['allow'], 'GET, HEAD');
  const patch = await app.inject({ method: 'PATCH', url: '/assets/x' });
  assert.equal(patch.statusCode, 405);
  for (const url of ['/asset', '/assetsx/y', '/other/assets/y']) {
    const res = await app.inject({ url });
    assert.equal(res.statusCode, 404, url);
    assert.deepEqual(res.json(), { error: 'no such endpoint' });
  }
});

/** A route that opens an event stream and never ends it by itself. */
function streamPlugin(opened: () => void): RoutePlugin {
  return {
    paths: ['/test/stream'],
    register(app, { longLived }) {
      app.get('/test/stream', (request, reply) => {
        if (!longLived.track(reply.raw)) return reply.code(503).send({ error: 'closing' });
        reply.hijack();
        reply.raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        reply.raw.write(': open\n\n');
        opened();
        return reply;
      });
    },
  };
}

test('a graceful stop ends open streams promptly, instead of draining forever', async (t) => {
  const upstream = await fakeUpstream(csvHandler(SEED_CSV));
  t.after(() => upstream.close());
  let open = 0;
  const { logger } = memoryLogger('ERROR');
  const server = await startMetricsServer(testConfig({ generatorUrl: upstream.url }), { logger, plugins: [streamPlugin(() => (open += 1))] });
  const clients = 20;
  const ended = Array.from(
    { length: clients },
    () =>
      new Promise<string>((resolve, reject) => {
        http
          .get(`${server.url}/test/stream`, (res) => {
            let text = '';
            res.on('data', (chunk: Buffer) => (text += chunk.toString()));
            res.on('end', () => resolve(text));
            res.on('error', reject);
          })
          .on('error', reject);
      }),
  );
  while (open < clients) await new Promise((resolve) => setTimeout(resolve, 10));
  const started = performance.now();
  await server.stop();
  const stopMs = performance.now() - started;
  const texts = await Promise.all(ended);
  // Promptly, not forever: without ending them the drain never finishes (5 s leaves room for a loaded machine).
  assert.ok(stopMs < 5000, `stop took ${stopMs.toFixed(0)} ms`);
  for (const text of texts) assert.equal(text, ': open\n\n', 'each stream ended cleanly (end of body, not a reset)');
});
