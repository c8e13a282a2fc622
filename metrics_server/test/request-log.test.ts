import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SEED_CSV, publishCsv, testApp } from './helpers.js';
import { MemorySink, createLogger } from '../../common/logger.js';
import { escapeForLog, levelForStatus } from '../src/http/request-log.js';

const LINE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (INFO|WARNING|ERROR) (\S+) (\d{3}) (\d+\.\d{2})ms$/;

test("one line per request in the seed's form, level by status", async () => {
  const { app, store, sink } = testApp('DEBUG');
  await app.inject({ url: '/telemetry/ListMetrics' }); // 503
  publishCsv(store, SEED_CSV);
  await app.inject({ url: '/telemetry/ListMetrics' });
  await app.inject({ url: '/telemetry/GetMetric?switch=sw9&metric=latency_ms' });
  await app.inject({ method: 'DELETE', url: '/telemetry/ListMetrics' });
  const lines = sink.lines.map((l) => LINE.exec(l)).filter((m) => m !== null);
  assert.equal(lines.length, 4, sink.lines.join('\n'));
  assert.deepEqual(
    lines.map((m) => [m[1], m[2], m[3]]),
    [
      ['ERROR', '/telemetry/ListMetrics', '503'],
      ['INFO', '/telemetry/ListMetrics', '200'],
      ['WARNING', '/telemetry/GetMetric?switch=sw9&metric=latency_ms', '404'],
      ['WARNING', '/telemetry/ListMetrics', '405'],
    ],
  );
  for (const m of lines) assert.ok(Number(m[4]) >= 0 && Number(m[4]) < 1000);
});

test('the configured level filters request lines', async () => {
  const { app, store, sink } = testApp('WARNING');
  publishCsv(store, SEED_CSV);
  await app.inject({ url: '/telemetry/ListMetrics' });
  await app.inject({ url: '/nope' });
  assert.equal(sink.lines.length, 1);
  assert.match(sink.lines[0]!, / WARNING \/nope 404 \d+\.\d\dms$/);
});

test('level by status, at every boundary', () => {
  // Planted bug this catches: `>= 500` changed to `> 500` (500 logged at WARNING); likewise `>= 400`.
  const cases: [number, string][] = [
    [100, 'INFO'], [200, 'INFO'], [304, 'INFO'], [399, 'INFO'],
    [400, 'WARNING'], [404, 'WARNING'], [499, 'WARNING'],
    [500, 'ERROR'], [503, 'ERROR'], [599, 'ERROR'],
  ];
  for (const [status, level] of cases) assert.equal(levelForStatus(status), level, String(status));
});

test('escapeForLog: printable ASCII but " and \\ passes, everything else is %XX, at every position', () => {
  // Mutation testing found the escaping boundaries unchecked (only whole requests were): `< 0x21`
  // as `<= 0x21`, `> 0x7e` as `>= 0x7e`, a dropped `"` or `\\` test, in the scan or in the copy loop,
  // all survived. Each character is tried alone, first, last and after a clean prefix (the scan
  // loop), and twice (the copy loop).
  const cases: [string, string][] = [
    [' ', '%20'], ['!', '!'], ['~', '~'], ['\u007f', '%7F'], ['"', '%22'], ['\\', '%5C'], ['#', '#'], ['[', '['],
    ['\n', '%0A'], ['\r', '%0D'], ['\t', '%09'], ['\u0000', '%00'], ['\u001b', '%1B'], ['\u0080', '%80'], ['\u0085', '%85'], ['\u00e9', '%E9'], ['\u00ff', '%FF'],
  ];
  for (const [ch, escaped] of cases) {
    const where = JSON.stringify(ch);
    assert.equal(escapeForLog(ch), escaped, where);
    assert.equal(escapeForLog(`${ch}/a`), `${escaped}/a`, where);
    assert.equal(escapeForLog(`/a${ch}`), `/a${escaped}`, where);
    assert.equal(escapeForLog(`/a?b=${ch}&c`), `/a?b=${escaped}&c`, where);
    assert.equal(escapeForLog(`/a%${ch}x${ch}"${ch}`), `/a%${escaped}x${escaped}%22${escaped}`, where);
  }
  const plain = '/telemetry/GetMetric?switch=sw1&metric=latency_ms';
  assert.equal(escapeForLog(plain), plain);
  assert.equal(escapeForLog(''), '');
});

test('json format writes one object per line with the level name', () => {
  const sink = new MemorySink();
  const logger = createLogger({ level: 'INFO', format: 'json', sink });
  logger.debug('hidden');
  logger.child('poller').warning('poll failed', { reason: 'timeout' });
  assert.equal(sink.lines.length, 1);
  const record = JSON.parse(sink.lines[0]!) as Record<string, unknown>;
  assert.equal(record['level'], 'WARNING');
  assert.equal(record['component'], 'poller');
  assert.equal(record['msg'], 'poll failed');
  assert.equal(record['reason'], 'timeout');
});

test('a request the router rejects (malformed URL) still gets exactly one line, over a real socket', async () => {
  const net = await import('node:net');
  const observed: string[] = [];
  const { app, sink } = testApp('DEBUG', () => [{ paths: [], register: () => undefined, onResponse: (route, method, status) => observed.push(`${route} ${method} ${status}`) }]);
  await app.listen({ host: '127.0.0.1', port: 0 });
  try {
    const { port } = app.server.address() as import('node:net').AddressInfo;
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => socket.end('GET /telemetry/%E0%A4%A HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
      let text = '';
      socket.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    assert.match(answer, /^HTTP\/1\.1 400 /);
    assert.match(answer, /\{"error":"malformed URL"\}$/);
    // The line is written once the answer is handed to the socket, so wait for it (generously: a
    // fixed 50 ms could miss it on a loaded machine), then a moment more to see no second line.
    for (const deadline = Date.now() + 5000; !sink.lines.some((l) => l.includes('%E0%A4%A')) && Date.now() < deadline; ) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    const lines = sink.lines.filter((l) => l.includes('%E0%A4%A'));
    assert.equal(lines.length, 1, sink.lines.join('\n'));
    assert.match(lines[0]!, LINE);
    assert.match(lines[0]!, / WARNING \/telemetry\/%E0%A4%A 400 /);
    assert.deepEqual(observed, ['unmatched GET 400']);
  } finally {
    await app.close();
  }
});

/** Sends raw bytes on a fresh connection and waits for the server to close it (or `ms`). */
async function rawExchange(port: number, bytes: string, ms = 3000): Promise<string> {
  const net = await import('node:net');
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(Buffer.from(bytes, 'latin1')));
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (text += chunk));
    const done = (): void => resolve(text);
    socket.on('close', done);
    socket.on('error', done);
    setTimeout(() => socket.destroy(), ms);
  });
}

test('JSON lines carry method, path, status, duration_ms, remote address and a request id; the text stays the seed\'s', async (t) => {
  const { app, store, sink } = testApp('INFO', () => [], { logFormat: 'json' });
  t.after(() => app.close());
  publishCsv(store, SEED_CSV);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${(app.server.address() as import('node:net').AddressInfo).port}`;
  await fetch(`${url}/telemetry/GetMetric?switch=sw1&metric=latency_ms`, { headers: { 'x-request-id': 'trace-42.a' } });
  await fetch(`${url}/telemetry/GetMetric?switch=sw9&metric=latency_ms`, { headers: { 'x-request-id': 'not a "token"' } });
  await fetch(`${url}/telemetry/ListMetrics?switch=sw1`);
  const records = sink.lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((r) => typeof r['path'] === 'string');
  assert.equal(records.length, 3, sink.lines.join('\n'));
  const [ok, missing, filtered] = records as [Record<string, unknown>, Record<string, unknown>, Record<string, unknown>];
  assert.deepEqual([ok['level'], ok['method'], ok['path'], ok['status'], ok['remote_address'], ok['request_id']], ['INFO', 'GET', '/telemetry/GetMetric?switch=sw1&metric=latency_ms', 200, '127.0.0.1', 'trace-42.a']);
  assert.match(String(ok['msg']), /^\/telemetry\/GetMetric\?switch=sw1&metric=latency_ms 200 \d+\.\d\dms$/);
  assert.equal(typeof ok['duration_ms'], 'number');
  assert.deepEqual([missing['level'], missing['status']], ['WARNING', 404]);
  assert.match(String(missing['request_id']), /^[a-z0-9]+-[a-z0-9]+-[a-z0-9]+$/, 'a client id that is not a plain token is replaced');
  assert.notEqual(missing['request_id'], filtered['request_id']);
  assert.equal(filtered['path'], '/telemetry/ListMetrics?switch=sw1');
});

test('requests Node refuses before they are whole get their line too (431, malformed, 408), with what the client sent escaped', async (t) => {
  const { app, sink } = testApp('DEBUG');
  t.after(() => app.close());
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as import('node:net').AddressInfo).port;
  const before = sink.lines.length;
  const big = await rawExchange(port, `GET /telemetry/GetMetric?switch=${'a'.repeat(20_000)} HTTP/1.1\r\nHost: t\r\n\r\n`);
  assert.match(big, /^HTTP\/1\.1 431 /);
  const hostile = await rawExchange(port, 'GET /x"y\\z\x01\x1b[31m HTTP/1.1\r\nHost: t\r\n\r\n');
  assert.match(hostile, /^HTTP\/1\.1 400 /);
  const lines = sink.lines.slice(before).filter((l) => / (431|400) /.test(l));
  assert.equal(lines.length, 2, sink.lines.slice(before).join('\n'));
  assert.match(lines[0]!, / WARNING \/telemetry\/GetMetric\?switch=a+ 431 \d+\.\d\dms$/);
  // The line holds no raw control character, quote or backslash from the client: each is %XX.
  assert.match(lines[1]!, / WARNING \/x%22y%5Cz%01%1B\[31m 400 \d+\.\d\dms$/);
  for (const line of lines) assert.ok([...line].every((ch) => ch.charCodeAt(0) >= 0x20 && ch.charCodeAt(0) < 0x7f && ch !== '"' && ch !== '\\'), line);
});
