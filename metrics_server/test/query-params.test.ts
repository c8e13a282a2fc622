/**
 * The query parameters on their own: the strict readers the routes use (singleParam, switchParam,
 * metricParam) and the fast path's scanner (scanGetMetricQuery), which must accept exactly the plain
 * queries whose two parameters the routes would accept, and hand over the same values. Before these,
 * the scanner was checked only through the fast path's equivalence test, where a scanner that says
 * "no" too often is invisible (the route answers the same); mutation testing showed it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { isValidMetricName, isValidSwitchId } from '../../common/telemetry-schema.js';
import { HttpError } from '../src/http/errors.js';
import { metricParam, scanGetMetricQuery, scannedGetMetric, singleParam, switchParam, type Query } from '../src/http/query-params.js';

/** The error a reader throws, as `status message`. */
function refusal(read: () => unknown): string {
  try {
    read();
  } catch (err) {
    assert.ok(err instanceof HttpError, String(err));
    return `${err.statusCode} ${err.message}`;
  }
  return 'accepted';
}

test('singleParam: exactly once and non-empty, or the 400 that says which', () => {
  assert.equal(singleParam({ switch: 'sw1' }, 'switch'), 'sw1');
  assert.equal(refusal(() => singleParam({}, 'switch')), "400 missing query parameter 'switch'");
  assert.equal(refusal(() => singleParam({ switch: undefined }, 'switch')), "400 missing query parameter 'switch'");
  assert.equal(refusal(() => singleParam({ switch: ['a', 'b'] }, 'switch')), "400 query parameter 'switch' must be given once");
  assert.equal(refusal(() => singleParam({ metric: '' }, 'metric')), "400 query parameter 'metric' is empty");
  // An inherited property is not a parameter.
  const inherited = Object.create({ switch: 'sw1' }) as Query;
  assert.equal(refusal(() => singleParam(inherited, 'switch')), "400 missing query parameter 'switch'");
});

test('switchParam and metricParam check the schema patterns', () => {
  assert.equal(switchParam({ switch: 'leaf-01.rack:3_a' }), 'leaf-01.rack:3_a');
  assert.equal(metricParam({ metric: 'latency_ms' }), 'latency_ms');
  assert.equal(refusal(() => switchParam({ switch: 'sw 1' })), "400 query parameter 'switch' is not a valid switch id (letters, digits and _ . : -, at most 64)");
  assert.equal(refusal(() => metricParam({ metric: 'latency-ms' })), "400 query parameter 'metric' is not a valid metric name (letters, digits and _, at most 64)");
  assert.equal(refusal(() => metricParam({ metric: 'timestamp' })), "400 query parameter 'metric' is not a valid metric name (letters, digits and _, at most 64)");
});

/**
 * What the scanner must answer, written the plain way: no `%` or `+` anywhere; pairs split on `&`,
 * the key before the first `=`; `switch` and `metric` each exactly once, with a `=`, and valid.
 */
function expectedScan(query: string): { switchId: string; metric: string } | undefined {
  if (query.includes('%') || query.includes('+')) return undefined;
  const found: Record<'switch' | 'metric', string[]> = { switch: [], metric: [] };
  for (const pair of query.split('&')) {
    const eq = pair.indexOf('=');
    const key = eq === -1 ? pair : pair.slice(0, eq);
    if (key !== 'switch' && key !== 'metric') continue;
    if (eq === -1) return undefined;
    found[key].push(pair.slice(eq + 1));
  }
  if (found.switch.length !== 1 || found.metric.length !== 1) return undefined;
  const [switchId, metric] = [found.switch[0]!, found.metric[0]!];
  return isValidSwitchId(switchId) && isValidMetricName(metric) ? { switchId, metric } : undefined;
}

function scan(query: string, prefix = '/telemetry/GetMetric?'): { switchId: string; metric: string } | undefined {
  return scanGetMetricQuery(prefix + query, prefix.length) ? { ...scannedGetMetric } : undefined;
}

test('scanGetMetricQuery: examples at each edge', () => {
  const cases: [string, { switchId: string; metric: string } | undefined][] = [
    ['switch=sw1&metric=latency_ms', { switchId: 'sw1', metric: 'latency_ms' }],
    ['metric=latency_ms&switch=sw1', { switchId: 'sw1', metric: 'latency_ms' }],
    ['x=1&switch=sw1&y&metric=latency_ms&z=2', { switchId: 'sw1', metric: 'latency_ms' }],
    ['switch=sw1&metric=a=b', undefined],
    ['switch=sw=1&metric=latency_ms', undefined],
    ['switch=sw1&&metric=latency_ms&', { switchId: 'sw1', metric: 'latency_ms' }],
    ['switch=sw1', undefined],
    ['metric=latency_ms', undefined],
    ['', undefined],
    ['switch&metric=latency_ms', undefined],
    ['switch=&metric=latency_ms', undefined],
    ['switch=sw1&metric=', undefined],
    ['switch=sw1&switch=sw1&metric=latency_ms', undefined],
    ['switch=sw1&metric=latency_ms&metric=latency_ms', undefined],
    ['switch=sw%31&metric=latency_ms', undefined],
    ['switch=sw1&metric=latency_ms&x=%20', undefined],
    ['switch=sw1&metric=latency_ms&x=a+b', undefined],
    ['switches=sw1&metric=latency_ms', undefined],
    ['switc=sw1&metric=latency_ms', undefined],
    ['Switch=sw1&metric=latency_ms', undefined],
    ['xswitch=sw1&metric=latency_ms', undefined],
    ['metricx=a&switch=sw1&metric=latency_ms', { switchId: 'sw1', metric: 'latency_ms' }],
    ['switch=sw1&metric=timestamp', undefined],
    ['switch=sw 1&metric=latency_ms', undefined],
    [`switch=${'a'.repeat(64)}&metric=${'m'.repeat(64)}`, { switchId: 'a'.repeat(64), metric: 'm'.repeat(64) }],
    [`switch=${'a'.repeat(65)}&metric=latency_ms`, undefined],
    // A key without `=` at the very end, or before the real one (mutation testing: both survived).
    ['switch=sw1&metric=latency_ms&switch', undefined],
    ['switch=sw1&metric=latency_ms&metric', undefined],
    ['metric&switch=sw1&metric=latency_ms', undefined],
  ];
  for (const [query, expected] of cases) {
    assert.deepEqual(scan(query), expected, query);
    assert.deepEqual(expectedScan(query), expected, `model: ${query}`);
  }
  // `from` is where the query starts: what comes before it is not read.
  assert.deepEqual(scan('switch=sw1&metric=latency_ms', '/a%b+c?'), { switchId: 'sw1', metric: 'latency_ms' });
  assert.deepEqual(scan('switch=sw1&metric=latency_ms', 'switch=x&'), { switchId: 'sw1', metric: 'latency_ms' });
  // From index 0, a key without `=` must not be read as a value that starts at the url's start.
  assert.deepEqual(scan('switch&metric=latency_ms', ''), undefined);
});

test('property: scanGetMetricQuery accepts exactly what the plain model accepts, with its values', () => {
  const part = fc.oneof(
    fc.constantFrom('switch', 'metric', 'sw1', 'sw-2.a:b', 'latency_ms', 'timestamp', '=', '&', '%', '%41', '+', ' ', 'x', '', 'switches', 'metri'),
    fc.string({ maxLength: 3 }),
  );
  const pair = fc.oneof(
    fc.tuple(fc.constantFrom('switch', 'metric'), fc.constantFrom('sw1', 'leaf_9', 'latency_ms', 'bad id', '', 'a=b', 'x%y')).map(([k, v]) => `${k}=${v}`),
    fc.array(part, { maxLength: 4 }).map((p) => p.join('')),
  );
  fc.assert(
    fc.property(fc.array(pair, { maxLength: 6 }), (pairs) => {
      const query = pairs.join('&');
      assert.deepEqual(scan(query), expectedScan(query), query);
    }),
    { numRuns: 2000 },
  );
});
