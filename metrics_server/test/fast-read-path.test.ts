/**
 * The read fast path must be invisible: over real sockets, a server with it answers every request
 * exactly as the same server without it (status, body, headers but Date and the age value), writes
 * the same request log line and tells the same observers. And it must actually be taken for plain
 * successes, or the benchmark would be measuring the other path.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { METRIC_NAMES } from '../../common/telemetry-schema.js';
import type { RoutePlugin } from '../src/http/app.js';
import { SEED_CSV, publishCsv, testApp } from './helpers.js';

interface Answer {
  readonly status: number;
  readonly body: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

interface Served {
  readonly port: number;
  readonly sink: { readonly lines: string[] };
  /** Requests Fastify saw (its onRequest hook ran). */
  fastifyRequests: number;
  /** Observer calls: `route method status`. */
  readonly observed: string[];
  close(): Promise<void>;
}

async function serve(fastReadPath: boolean): Promise<Served> {
  const counters = { fastifyRequests: 0 };
  const observed: string[] = [];
  const probe: RoutePlugin = {
    paths: [],
    register: (app) =>
      app.addHook('onRequest', (_request, _reply, done) => {
        counters.fastifyRequests += 1;
        done();
      }),
    onResponse: (route, method, status) => observed.push(`${route} ${method} ${status}`),
  };
  const { app, store, views, sink } = testApp('DEBUG', () => [probe], { fastReadPath, firstVersion: 7 });
  // The ListMetrics body at hand, as it is once a snapshot has been read (the fast path never waits for a render).
  await views.body('list-metrics.json', publishCsv(store, SEED_CSV));
  await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    port: (app.server.address() as AddressInfo).port,
    sink,
    get fastifyRequests() {
      return counters.fastifyRequests;
    },
    set fastifyRequests(n: number) {
      counters.fastifyRequests = n;
    },
    observed,
    close: () => app.close(),
  };
}

function request(port: number, method: string, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** What must match between the two servers: everything but the clock-dependent headers. */
function comparable(answer: Answer): unknown {
  const headers = { ...answer.headers };
  const hasAge = headers['x-snapshot-age-seconds'] !== undefined;
  delete headers['date'];
  delete headers['x-snapshot-age-seconds'];
  return { status: answer.status, body: answer.body, headers, hasAge };
}

let fast: Served;
let slow: Served;
before(async () => {
  fast = await serve(true);
  slow = await serve(false);
});
after(async () => {
  await fast.close();
  await slow.close();
});

async function assertSame(method: string, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  const a = await request(fast.port, method, path, headers);
  const b = await request(slow.port, method, path, headers);
  assert.deepEqual(comparable(a), comparable(b), `${method} ${path} ${JSON.stringify(headers)}`);
  return a;
}

/** Log lines without the timestamp and the duration: `LEVEL url status`. */
function logged(sink: { readonly lines: string[] }): string[] {
  return sink.lines.filter((l) => l.includes('/telemetry/')).map((l) => l.split(' ').slice(1, 4).join(' '));
}

test('plain GetMetric and ListMetrics successes take the fast path and answer as the routes do', async () => {
  const before = fast.fastifyRequests;
  for (const sw of ['sw1', 'sw2', 'sw3']) {
    for (const metric of METRIC_NAMES) {
      const answer = await assertSame('GET', `/telemetry/GetMetric?switch=${sw}&metric=${metric}`);
      assert.equal(answer.status, 200);
      assert.equal(answer.headers['etag'], '"v7"');
    }
  }
  const list = await assertSame('GET', '/telemetry/ListMetrics');
  assert.equal(list.status, 200);
  assert.equal(fast.fastifyRequests, before, 'Fastify saw none of the plain successes');
  assert.equal(slow.fastifyRequests > 0, true);
});

test('everything else falls through to the routes and is answered identically', async () => {
  const cases: [string, string, Record<string, string>?][] = [
    ['GET', '/telemetry/GetMetric?switch=sw9&metric=latency_ms'],
    ['GET', '/telemetry/GetMetric?switch=sw1&metric=nope'],
    ['GET', '/telemetry/GetMetric?switch=sw1'],
    ['GET', '/telemetry/GetMetric'],
    ['GET', '/telemetry/GetMetric?switch=sw1&switch=sw2&metric=latency_ms'],
    ['GET', '/telemetry/GetMetric?switch=&metric=latency_ms'],
    ['GET', '/telemetry/GetMetric?switch=sw%31&metric=latency_ms'],
    ['GET', '/telemetry/GetMetric?switch=s%20w&metric=latency_ms'],
    ['GET', `/telemetry/GetMetric?switch=sw1&metric=latency_ms&pad=${'x'.repeat(3000)}`],
    ['GET', '/telemetry/GetMetric?switch=sw1&metric=latency_ms', { 'if-none-match': '"v7"' }],
    ['GET', '/telemetry/GetMetric?switch=sw1&metric=latency_ms', { 'if-none-match': '"v6"' }],
    ['HEAD', '/telemetry/GetMetric?switch=sw1&metric=latency_ms'],
    ['POST', '/telemetry/GetMetric?switch=sw1&metric=latency_ms'],
    ['GET', '/telemetry/GetMetric/?switch=sw1&metric=latency_ms'],
    ['GET', '/telemetry/ListMetrics?x=1'],
    ['GET', '/telemetry/ListMetrics', { 'if-none-match': '*' }],
    ['HEAD', '/telemetry/ListMetrics'],
    ['DELETE', '/telemetry/ListMetrics'],
  ];
  for (const [method, path, headers] of cases) await assertSame(method, path, headers);
});

test('query strings from a grammar of valid, encoded, repeated and hostile parts answer identically', async () => {
  const id = fc.constantFrom('sw1', 'sw2', 'sw3', 'sw4', 'SW1', 'sw1%20', '', 'a'.repeat(65), 'sw%31', 'sw%2', '%E2%9C%93', 'sw+1', 'sw.1:x-y_z');
  const metric = fc.constantFrom(...METRIC_NAMES, 'latency', '', 'LATENCY_MS', 'latency%5Fms', 'x'.repeat(70));
  const part = fc.oneof(
    id.map((v) => `switch=${v}`),
    metric.map((v) => `metric=${v}`),
    fc.constantFrom('switch', 'metric', '=', '&', 'a=b', '__proto__=x', 'constructor=y', 'switch[]=sw1', 'switch=sw1=2', 'metric=latency_ms#x', 'swi%74ch=sw1', 'metric+=latency_ms', 'Switch=sw1'),
  );
  await fc.assert(
    fc.asyncProperty(fc.array(part, { maxLength: 4 }), async (parts) => {
      await assertSame('GET', `/telemetry/GetMetric?${parts.join('&')}`);
    }),
    { numRuns: 150 },
  );
});

/** A request written by hand on a raw socket: what `http.request` cannot send (no Host, HTTP/1.0). */
function rawRequest(port: number, head: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.end(head));
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const [headText = '', body = ''] = text.split('\r\n\r\n');
      const [statusLine = '', ...lines] = headText.split('\r\n');
      const headers: http.IncomingHttpHeaders = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({ status: Number(statusLine.split(' ')[1]), body, headers });
    });
  });
}

test('requests without Host and over HTTP/1.0 answer identically (the fast path must not answer what the route refuses)', async () => {
  // Planted bug this catches: the fast path without its missing-Host guard answered 200 where the
  // route answers 400 for an HTTP/1.1 request without Host.
  for (const head of [
    'GET /telemetry/GetMetric?switch=sw1&metric=latency_ms HTTP/1.1\r\nConnection: close\r\n\r\n',
    'GET /telemetry/ListMetrics HTTP/1.1\r\nConnection: close\r\n\r\n',
    'GET /telemetry/GetMetric?switch=sw1&metric=latency_ms HTTP/1.0\r\n\r\n',
    'GET /telemetry/GetMetric?switch=sw1&metric=latency_ms HTTP/1.0\r\nHost: x\r\n\r\n',
    'GET /telemetry/ListMetrics HTTP/1.0\r\n\r\n',
  ]) {
    const a = await rawRequest(fast.port, head);
    const b = await rawRequest(slow.port, head);
    assert.deepEqual(comparable(a), comparable(b), JSON.stringify(head));
    if (head.includes('HTTP/1.1')) assert.equal(a.status, 400, 'HTTP/1.1 without Host is refused');
    else assert.equal(a.status, 200, 'HTTP/1.0 needs no Host');
  }
});

test('both paths write the same request log lines and tell the observers the same', async () => {
  // Everything above ran against both servers in the same order.
  assert.deepEqual(logged(fast.sink), logged(slow.sink));
  assert.deepEqual(fast.observed, slow.observed);
  assert.ok(fast.observed.includes('/telemetry/GetMetric GET 200'));
  assert.ok(fast.observed.includes('/telemetry/GetMetric GET 404'));
});

test('with no snapshot yet the fast path steps aside for the 503', async () => {
  const { app } = testApp('DEBUG', () => [], { fastReadPath: true });
  await app.listen({ host: '127.0.0.1', port: 0 });
  try {
    const answer = await request((app.server.address() as AddressInfo).port, 'GET', '/telemetry/GetMetric?switch=sw1&metric=latency_ms');
    assert.equal(answer.status, 503);
    assert.equal(answer.headers['retry-after'], '1');
  } finally {
    await app.close();
  }
});

test('once the app starts closing, the fast path steps aside for the 503 the app answers', async () => {
  const net = await import('node:net');
  let started!: () => void;
  const slowStarted = new Promise<void>((resolve) => (started = resolve));
  const slow: RoutePlugin = {
    paths: ['/slow'],
    register: (app) =>
      app.get('/slow', async () => {
        started();
        await new Promise((resolve) => setTimeout(resolve, 300));
        return { ok: true };
      }),
  };
  const { app, store } = testApp('ERROR', () => [slow], { fastReadPath: true, firstVersion: 7 });
  publishCsv(store, SEED_CSV);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  // One connection: a slow request keeps it busy (so close() does not reap it as idle); a GetMetric
  // written on it after close() has begun arrives at a closing app.
  const socket = net.connect(port, '127.0.0.1');
  let text = '';
  socket.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
  const ended = new Promise((resolve) => socket.on('close', resolve));
  socket.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n');
  await slowStarted;
  const closing = app.close();
  await new Promise((resolve) => setTimeout(resolve, 20));
  socket.write('GET /telemetry/GetMetric?switch=sw1&metric=latency_ms HTTP/1.1\r\nHost: x\r\n\r\n');
  await ended;
  await closing;
  const statuses = [...text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => m[1]);
  assert.deepEqual(statuses, ['200', '503'], text);
});
