/**
 * Validation of what the upstream sends: switch ids and metric names that fail the documented
 * patterns (common/telemetry-schema.ts) are rejected rows or a rejected header, and never reach a
 * response or a log line unescaped. Checks every line the server logged (poller and request log) for
 * raw control characters, and every response for the rejected ids in any form.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SWITCH_ID_PATTERN } from '../../common/telemetry-schema.js';
import { startMetricsServer } from '../src/metrics-server.js';
import { BAD_METRIC_NAME, CONTROL_IDS, FakeGenerator, RAW_CONTROL } from './fake-generator.js';
import { memoryLogger, testConfig } from './helpers.js';


const OTHER_BAD_IDS = ['bad"1', "bad'2", 'bad\\3', 'bad 1', ' bad2', 'bad3 ', 'bad\t4', 's'.repeat(10 * 1024)];

test('rejected ids and metric names never reach a response or a log line unescaped', async (t) => {
  const fake = await FakeGenerator.start();
  t.after(() => fake.close());
  const { logger, sink } = memoryLogger('DEBUG');
  const server = await startMetricsServer(testConfig({ generatorUrl: fake.url, pollIntervalMs: 3_600_000, fetchTimeoutMs: 1000 }), { logger });
  t.after(() => server.stop());
  await server.source.pollOnce();

  const bodies: string[] = [];
  const collect = async (path: string): Promise<{ status: number; body: string }> => {
    const res = await fetch(`${server.url}${path}`);
    const body = await res.text();
    bodies.push(body);
    return { status: res.status, body };
  };

  for (const behaviour of ['id_control', 'id_quote', 'id_space', 'id_10kb', 'bad_metric_name'] as const) {
    await fake.behave(behaviour);
    await server.source.pollOnce();
    await collect('/telemetry/ListMetrics');
    await collect('/telemetry/Status');
    await collect('/readyz');
    for (const id of server.store.current()?.switchIds ?? []) {
      assert.match(id, SWITCH_ID_PATTERN, 'only valid ids are served');
      await collect(`/telemetry/GetMetric?switch=${id}&metric=latency_ms`);
    }
  }
  const record = server.health.lastRecord!;
  assert.equal(record.outcome, 'failed', 'a header with a bad metric name rejects the cycle');
  assert.equal(record.error, 'unusable CSV: invalid column name "band\\u001b[2Jwidth\\u0085\\u007f"');

  // Asking for a rejected id directly is a 400 that does not echo it.
  for (const id of [...CONTROL_IDS, ...OTHER_BAD_IDS]) {
    const res = await collect(`/telemetry/GetMetric?switch=${encodeURIComponent(id)}&metric=latency_ms`);
    assert.equal(res.status, id.length > 2000 ? 414 : 400, JSON.stringify(id.slice(0, 20)));
    assert.equal(typeof (JSON.parse(res.body) as { error: unknown }).error, 'string');
  }
  const metricRes = await collect(`/telemetry/GetMetric?switch=sw1&metric=${encodeURIComponent(BAD_METRIC_NAME)}`);
  assert.equal(metricRes.status, 400);

  for (const body of bodies) {
    assert.doesNotMatch(body, RAW_CONTROL, 'no raw control character in a response');
    for (const id of [...CONTROL_IDS, ...OTHER_BAD_IDS, BAD_METRIC_NAME]) {
      assert.ok(!body.includes(id), `response contains rejected id ${JSON.stringify(id.slice(0, 20))}`);
      assert.ok(!body.includes(JSON.stringify(id).slice(1, -1)), `response contains escaped rejected id ${JSON.stringify(id.slice(0, 20))}`);
    }
  }
  assert.ok(sink.lines.length > 20);
  for (const line of sink.lines) {
    assert.doesNotMatch(line, RAW_CONTROL, `raw control character in log line ${JSON.stringify(line)}`);
    // The request log echoes the client's own (percent-encoded) URL, as the spec asks; the poller
    // never echoes an upstream id.
    if (line.includes('[poller]')) assert.ok(!line.includes('s'.repeat(1000)), 'a 10 KB upstream id is not logged');
  }
});
