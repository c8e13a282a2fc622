/** Graceful shutdown: requests in flight complete; the poller stops; nothing is accepted after. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startMetricsServer } from '../src/metrics-server.js';
import { SEED_CSV, csvHandler, fakeUpstream, memoryLogger, testConfig } from './helpers.js';

test('stop() drains a request in flight, then refuses new connections', async (t) => {
  const upstream = await fakeUpstream(csvHandler(SEED_CSV));
  t.after(() => upstream.close());
  const { logger, sink } = memoryLogger('INFO');
  let release: () => void = () => undefined;
  const slowStarted = new Promise<void>((resolveStarted) => {
    release = resolveStarted;
  });
  const server = await startMetricsServer(testConfig({ generatorUrl: upstream.url, pollIntervalMs: 50 }), {
    logger,
    plugins: [
      {
        // A deliberately slow route, so that a request is surely in flight when stop() is called.
        paths: ['/test/slow'],
        register: (app) =>
          app.get('/test/slow', async (_request, reply) => {
            release();
            await new Promise((r) => setTimeout(r, 300));
            return reply.type('application/json').send('{"slow":true}');
          }),
      },
    ],
  });
  const inFlight = fetch(`${server.url}/test/slow`);
  await slowStarted;
  const pollsBefore = upstream.requests;
  await server.stop();
  const res = await inFlight;
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { slow: true });
  await assert.rejects(fetch(`${server.url}/healthz`), 'no new connections after stop');
  await new Promise((r) => setTimeout(r, 150));
  assert.ok(upstream.requests <= pollsBefore + 1, 'the poller stopped');
  assert.ok(sink.lines.some((l) => /INFO \[server\] shutting down: draining requests/.test(l)));
  assert.ok(sink.lines.some((l) => /INFO \/test\/slow 200 \d+\.\d\dms/.test(l)), 'the drained request was logged');
});
