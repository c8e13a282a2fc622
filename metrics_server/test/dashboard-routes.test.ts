/**
 * The dashboard's static routes (http/dashboard-routes.ts), over a small fake build: content types,
 * cache policy (no-cache page, immutable hashed assets), precompressed bodies chosen by
 * Accept-Encoding, ETag revalidation, the CSP on every answer, no CORS, 404/405 like the API, and a
 * clear 503 when the dashboard is not built.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { brotliCompressSync, brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import { DASHBOARD_CSP, dashboardPlugin } from '../src/http/dashboard-routes.js';
import { testApp } from './helpers.js';

const HTML = '<!doctype html><title>t</title><script type="module" src="/assets/index-AbC123.js"></script>';
const JS = 'console.log("dashboard");'.repeat(50);

function fakeBuild(): string {
  const dir = mkdtempSync(join(tmpdir(), 'dash-build-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), HTML);
  writeFileSync(join(dir, 'index.html.gz'), gzipSync(HTML));
  writeFileSync(join(dir, 'assets/index-AbC123.js'), JS);
  writeFileSync(join(dir, 'assets/index-AbC123.js.gz'), gzipSync(JS));
  writeFileSync(join(dir, 'assets/index-AbC123.js.br'), brotliCompressSync(JS));
  writeFileSync(join(dir, 'assets/index-XyZ789.css'), 'body{color:red}');
  writeFileSync(join(dir, '.build-stamp'), 'x');
  return dir;
}

test('the page: HTML, no-cache, CSP without inline script, ETag revalidation, no CORS', async (t) => {
  const { app } = testApp('INFO', () => [dashboardPlugin(fakeBuild())]);
  t.after(() => app.close());
  const res = await app.inject({ url: '/', headers: { origin: 'http://evil.example' } });
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['content-type'], 'text/html; charset=utf-8');
  assert.equal(res.headers['cache-control'], 'no-cache');
  assert.equal(res.headers['content-security-policy'], DASHBOARD_CSP);
  assert.match(DASHBOARD_CSP, /script-src 'self'(;|$)/);
  assert.doesNotMatch(DASHBOARD_CSP, /unsafe-inline|unsafe-eval/);
  assert.equal(res.headers['x-content-type-options'], 'nosniff');
  assert.equal(res.headers['access-control-allow-origin'], undefined);
  assert.equal(res.body, HTML);
  const etag = res.headers.etag as string;
  const again = await app.inject({ url: '/', headers: { 'if-none-match': etag } });
  assert.equal(again.statusCode, 304);
  assert.equal(again.body, '');
  const index = await app.inject({ url: '/index.html', headers: { 'accept-encoding': 'gzip' } });
  assert.equal(index.headers['content-encoding'], 'gzip');
  assert.equal(gunzipSync(index.rawPayload).toString(), HTML);
});

test('hashed assets: content type, immutable, brotli preferred, gzip, identity', async (t) => {
  const { app } = testApp('INFO', () => [dashboardPlugin(fakeBuild())]);
  t.after(() => app.close());
  const br = await app.inject({ url: '/assets/index-AbC123.js', headers: { 'accept-encoding': 'gzip, deflate, br' } });
  assert.equal(br.statusCode, 200);
  assert.equal(br.headers['content-type'], 'text/javascript; charset=utf-8');
  assert.equal(br.headers['cache-control'], 'public, max-age=31536000, immutable');
  assert.equal(br.headers['content-encoding'], 'br');
  assert.equal(br.headers.vary, 'Accept-Encoding');
  assert.equal(brotliDecompressSync(br.rawPayload).toString(), JS);
  const gz = await app.inject({ url: '/assets/index-AbC123.js', headers: { 'accept-encoding': 'gzip' } });
  assert.equal(gunzipSync(gz.rawPayload).toString(), JS);
  const plain = await app.inject({ url: '/assets/index-AbC123.js' });
  assert.equal(plain.headers['content-encoding'], undefined);
  assert.equal(plain.body, JS);
  const css = await app.inject({ url: '/assets/index-XyZ789.css', headers: { 'accept-encoding': 'br' } });
  assert.equal(css.headers['content-type'], 'text/css; charset=utf-8');
  assert.equal(css.headers['content-encoding'], undefined, 'no copy, no coding');
  const head = await app.inject({ method: 'HEAD', url: '/assets/index-XyZ789.css' });
  assert.equal(head.statusCode, 200);
});

test('unknown assets are 404, other methods 405, the build stamp is not served', async (t) => {
  const { app } = testApp('INFO', () => [dashboardPlugin(fakeBuild())]);
  t.after(() => app.close());
  for (const url of ['/assets/missing.js', '/assets/..%2Findex.html', '/assets/.build-stamp', '/.build-stamp']) {
    const res = await app.inject({ url });
    assert.equal(res.statusCode, 404, url);
    assert.equal(res.headers['content-type'], 'application/json; charset=utf-8');
  }
  const post = await app.inject({ method: 'POST', url: '/' });
  assert.equal(post.statusCode, 405);
  assert.equal(post.headers.allow, 'GET, HEAD');
});

test('without a build, the page is a 503 naming the command that builds it; the API is unaffected', async (t) => {
  const { app } = testApp('INFO', () => [dashboardPlugin(mkdtempSync(join(tmpdir(), 'dash-empty-')))]);
  t.after(() => app.close());
  const res = await app.inject({ url: '/' });
  assert.equal(res.statusCode, 503);
  assert.match(JSON.parse(res.body).error, /npm run build:dashboard/);
  assert.equal((await app.inject({ url: '/healthz' })).statusCode, 200);
});
