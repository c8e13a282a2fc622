/**
 * The dashboard in a real browser: Debian's headless Chromium (playwright-core) against the real
 * generator and metrics server as child processes on loopback. Without /usr/bin/chromium these
 * tests are skipped with a SKIP line, and fail under CI=true (`.ci/run` installs it).
 *
 * History and the server's event stream are other issues (12, 13): when the server answers 404 for
 * them, the tests that need them are skipped with a SKIP line saying so, and the tests of the
 * fallbacks (polling, "history not available") run instead; once they exist, the reverse.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { chromiumMissing, launchChromium, probe, startGenerator, startServer, waitFor, type Browser, type ChildService } from '../../../scripts/dashboard-browser.js';
import { csvHandler, fakeUpstream } from '../helpers.js';

const missing = chromiumMissing();
if (missing !== undefined && process.env['CI'] === 'true') {
  test('Chromium is installed for the dashboard tests (CI)', () => assert.fail(`${missing}: .ci/run installs the chromium package`));
}
const skip = missing === undefined ? false : `SKIP: ${missing}`;

/** Endpoints of other issues whose absence the page handles (and whose 404s the console shows). */
const OPTIONAL_PATHS = ['/telemetry/GetHistory', '/telemetry/Top', '/telemetry/stream'];

/** Whether the server has an endpoint: false when it answers 404 "no such endpoint". */
async function hasEndpoint(url: string): Promise<boolean> {
  const abort = new AbortController();
  try {
    const res = await fetch(url, { signal: abort.signal });
    if (res.status !== 404) return true;
    const body = (await res.json().catch(() => ({}))) as { error?: string };
    return body.error !== 'no such endpoint';
  } finally {
    abort.abort();
  }
}

/** Console errors, page errors, CSP violations and dialogs seen by a page, less the expected 404s of absent endpoints. */
function watch(page: Page, absent: readonly string[]): string[] {
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    const path = new URL(message.location().url || 'http://x/').pathname;
    // A 404 for an endpoint this server does not have is the degraded mode under test, not a fault.
    if (absent.includes(path) && /status of 404|MIME type/.test(message.text())) return;
    problems.push(`console: ${message.text()} (${message.location().url})`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('dialog', (dialog) => {
    problems.push(`dialog opened: ${dialog.type()} ${dialog.message()}`);
    void dialog.dismiss();
  });
  return problems;
}

/** Counts CSP violations in the page (listener added before any script of the page runs). */
const CSP_LISTENER = `window.__csp = []; document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));`;

async function cspViolations(page: Page): Promise<string[]> {
  return (await page.evaluate('window.__csp')) as string[];
}

async function text(page: Page, selector: string): Promise<string> {
  return (await page.locator(selector).textContent()) ?? '';
}

/** The visible table rows' cells, top to bottom. */
async function visibleRows(page: Page): Promise<string[][]> {
  return (await page.evaluate(
    `[...document.querySelectorAll('#table-spacer .trow:not([hidden])')].map((r) => ({ y: new DOMMatrix(getComputedStyle(r).transform).m42, cells: [...r.children].map((c) => c.textContent) })).sort((a, b) => a.y - b.y).map((r) => r.cells)`,
  )) as string[][];
}

describe('dashboard in Chromium, real generator and server', { skip, timeout: 180_000 }, () => {
  let generator: ChildService;
  let server: ChildService;
  let browser: Browser;
  let page: Page;
  let problems: string[];
  let absent: string[];
  /** The Content-Encoding of each live-stream response the page got. */
  const streamEncodings: string[] = [];
  const generatorPort = { value: 0 };

  before(async () => {
    generator = await startGenerator({ switches: 50, intervalSeconds: 1 });
    generatorPort.value = Number(new URL(generator.url).port);
    // readiness 2 s: the stale banner must show within that plus one health poll (1 s here).
    server = await startServer({ generatorUrl: `${generator.url}/counters`, pollSeconds: 0.5, timeoutSeconds: 0.5, readinessSeconds: 2 });
    await waitFor(async () => (await fetch(`${server.url}/readyz`)).ok, 'the first snapshot');
    absent = [];
    if (!(await hasEndpoint(`${server.url}/telemetry/GetHistory?switch=sw1&metric=latency_ms`))) absent.push('/telemetry/GetHistory', '/telemetry/Top');
    if (!(await hasEndpoint(`${server.url}/telemetry/stream?changes=1`))) absent.push('/telemetry/stream');
    browser = await launchChromium();
    page = await browser.context.newPage();
    await page.addInitScript(CSP_LISTENER);
    problems = watch(page, absent);
    page.on('response', (response) => {
      if (new URL(response.url()).pathname === '/telemetry/stream') streamEncodings.push(response.headers()['content-encoding'] ?? 'identity');
    });
    await page.goto(`${server.url}/`);
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    await generator?.stop();
  });

  test('the page loads with no console errors and no CSP violations, and shows the right switch count', async () => {
    await waitFor(async () => (await text(page, '#sum-switches')) === '50', 'the switch count');
    assert.equal(await text(page, '#table-count'), '50 switches');
    assert.equal((await probe(page)).switches, 50);
    assert.equal(await page.locator('#heatmap').count(), 1);
    // No DOM element per switch: the heatmap is one canvas, the table a window of rows.
    assert.ok((await page.locator('#table-spacer .trow').count()) < 50);
    assert.deepEqual(await cspViolations(page), []);
    assert.deepEqual(problems, []);
    assert.equal((await probe(page)).mode, absent.includes('/telemetry/stream') ? 'polling' : 'stream');
    // Stream events are parsed in the worker: a worker the CSP refused would fall back to 'main' silently.
    assert.equal((await probe(page)).parsePlace, 'worker');
    // The browser takes the stream deflated (stream.compression's default), and decodes it event by event.
    if (!absent.includes('/telemetry/stream')) assert.deepEqual(streamEncodings.slice(0, 1), ['deflate']);
  });

  test('with ?parse=main (no worker) stream events still update the page', async (t) => {
    if (absent.includes('/telemetry/stream')) return t.skip('this server has no /telemetry/stream');
    const mainPage = await browser.context.newPage();
    await mainPage.addInitScript(CSP_LISTENER);
    const mainProblems = watch(mainPage, OPTIONAL_PATHS);
    await mainPage.goto(`${server.url}/?parse=main`);
    await waitFor(async () => (await probe(mainPage)).mode === 'stream', 'the live stream');
    const before = (await probe(mainPage)).version ?? 0;
    await waitFor(async () => ((await probe(mainPage)).version ?? 0) > before + 1, 'two newer snapshots');
    assert.equal((await probe(mainPage)).parsePlace, 'main');
    assert.equal(await text(mainPage, '#sum-switches'), '50');
    assert.deepEqual(await cspViolations(mainPage), []);
    assert.deepEqual(mainProblems, []);
    await mainPage.close();
  });

  test('a new snapshot updates the summary, the table and the heatmap without a reload', async () => {
    await page.evaluate('window.__sameDocument = true');
    const before = await probe(page);
    const heat = (): Promise<string> => page.evaluate(`document.getElementById('heatmap').toDataURL()`) as Promise<string>;
    const [heatBefore, rowsBefore] = [await heat(), JSON.stringify(await visibleRows(page))];
    await waitFor(async () => ((await probe(page)).version ?? 0) > (before.version ?? 0) + 1, 'two newer snapshots');
    const now = await probe(page);
    assert.equal(await text(page, '#sum-version'), `v${now.version}`);
    assert.notEqual(JSON.stringify(await visibleRows(page)), rowsBefore, 'the table shows new values');
    assert.notEqual(await heat(), heatBefore, 'the heatmap was redrawn with new colours');
    assert.equal(await page.evaluate('window.__sameDocument'), true, 'no reload');
    assert.deepEqual(problems, []);
  });

  test('sorting by a metric, both ways, and filtering by id', async () => {
    const latencies = async (): Promise<number[]> => (await visibleRows(page)).map((cells) => Number(cells[2]));
    await page.locator('#table-head button[data-column="latency_ms"]').click();
    assert.equal(await page.locator('#table-head button[data-column="latency_ms"]').getAttribute('aria-sort'), 'descending');
    let values = await latencies();
    assert.ok(values.length >= 10);
    assert.deepEqual(values, [...values].sort((a, b) => b - a));
    await page.locator('#table-head button[data-column="latency_ms"]').click();
    assert.equal(await page.locator('#table-head button[data-column="latency_ms"]').getAttribute('aria-sort'), 'ascending');
    values = await latencies();
    assert.deepEqual(values, [...values].sort((a, b) => a - b));

    await page.locator('#table-filter').fill('SW1');
    await waitFor(async () => (await text(page, '#table-count')) === '11 of 50 switches match', 'the filtered count');
    const ids = (await visibleRows(page)).map((cells) => cells[0]);
    assert.equal(ids.length, 11);
    for (const id of ids) assert.match(id!, /^sw1/);
    await page.locator('#table-filter').fill('');
    await page.locator('#table-head button[data-column="switch_id"]').click();
    assert.equal((await visibleRows(page))[0]![0], 'sw1', 'back to snapshot order');
  });

  test('without history on the server, the detail and the top-N panel say so (and the detail still opens from the heatmap)', async () => {
    // Its own server with history off (config history.enabled: false), beside the suite's, on the same generator.
    const bare = await startServer({ generatorUrl: `${generator.url}/counters`, pollSeconds: 0.5, timeoutSeconds: 0.5, history: false });
    const noHistoryPage = await browser.context.newPage();
    try {
      await waitFor(async () => (await fetch(`${bare.url}/readyz`)).ok, 'the first snapshot');
      assert.equal((await fetch(`${bare.url}/telemetry/GetHistory?switch=sw1&metric=latency_ms`)).status, 404);
      await noHistoryPage.addInitScript(CSP_LISTENER);
      const pageProblems = watch(noHistoryPage, ['/telemetry/GetHistory', '/telemetry/Top']);
      await noHistoryPage.goto(`${bare.url}/`);
      await waitFor(async () => (await text(noHistoryPage, '#sum-switches')) === '50', 'the switch count');
      const cell = (await noHistoryPage.evaluate(`window.fabricDashboard.cellCenter('sw7')`)) as { x: number; y: number };
      await noHistoryPage.locator('#heatmap').click({ position: cell });
      await waitFor(async () => (await text(noHistoryPage, '#detail-title')) === 'sw7', 'the detail of sw7');
      await waitFor(async () => /history not available on this server/.test(await text(noHistoryPage, '#detail-note')), 'the no-history note');
      assert.equal(await noHistoryPage.locator('#detail-charts .uplot').count(), 6, 'one chart per metric, extended live');
      await waitFor(async () => (await text(noHistoryPage, '#top-note')) === 'history not available on this server', 'the top-N note');
      await noHistoryPage.locator('#detail-close').click();
      assert.equal(await noHistoryPage.locator('#detail').isHidden(), true);
      assert.deepEqual(pageProblems, []);
    } finally {
      await noHistoryPage.close();
      await bare.stop();
    }
  });

  test('with history: a heatmap click opens the detail with charts from GetHistory, and the top-N panel matches Top', async (t) => {
    if (absent.includes('/telemetry/GetHistory')) {
      t.skip('SKIP: GetHistory answers 404 on this server (history, issue 12, not merged yet)');
      return;
    }
    const cell = (await page.evaluate(`window.fabricDashboard.cellCenter('sw3')`)) as { x: number; y: number };
    await page.locator('#heatmap').click({ position: cell });
    await waitFor(async () => (await probe(page)).history === 'ok', 'history loaded');
    assert.equal(await text(page, '#detail-title'), 'sw3');
    assert.equal(await page.locator('#detail-charts .uplot').count(), 6);
    const history = (await (await fetch(`${server.url}/telemetry/GetHistory?switch=sw3&metric=latency_ms&since=-15m`)).json()) as { samples: unknown[] };
    assert.ok(history.samples.length > 0, 'the server has samples to draw');
    await page.locator('#detail-close').click();

    await page.locator('#top-window').selectOption('5m');
    await waitFor(async () => {
      const top = (await (await fetch(`${server.url}/telemetry/Top?metric=latency_ms&fn=max&window=5m&k=10&order=desc`)).json()) as { switches: { switch: string }[] };
      const shown = await page.locator('#top-latency li button').allTextContents();
      return shown.length > 0 && JSON.stringify(shown) === JSON.stringify(top.switches.map((s) => s.switch));
    }, 'the top-N panel to match /telemetry/Top', 30_000);
    assert.deepEqual(problems, []);
  });

  test('killing the stream makes the page fall back to polling and keep updating', async (t) => {
    if (absent.includes('/telemetry/stream')) {
      t.skip('SKIP: /telemetry/stream answers 404 on this server (streams, issue 13, not merged yet); the page polls from the start, as the tests above show');
      return;
    }
    await waitFor(async () => (await probe(page)).mode === 'stream', 'the live stream');
    await page.route('**/telemetry/stream**', (route) => route.abort());
    await page.evaluate('window.fabricDashboard.dropStream()');
    await waitFor(async () => (await probe(page)).mode === 'polling', 'the polling fallback');
    assert.match(await text(page, '#banner-stream'), /Live stream lost/);
    const version = (await probe(page)).version ?? 0;
    await waitFor(async () => ((await probe(page)).version ?? 0) > version, 'updates by polling');
    await page.unroute('**/telemetry/stream**');
    await waitFor(async () => (await probe(page)).mode === 'stream', 'the stream back', 20_000);
    assert.equal(await page.locator('#banner-stream').isHidden(), true);
  });

  test('stopping the generator brings the stale banner within the readiness age; restarting clears it', async () => {
    assert.equal(await page.locator('#banner-stale').isHidden(), true);
    await generator.stop();
    const stoppedAt = Date.now();
    // Readiness 2 s + one health poll (1 s) + the page's frame and a loaded machine's slack.
    await waitFor(async () => page.locator('#banner-stale').isVisible(), 'the stale banner', 8000);
    const elapsed = Date.now() - stoppedAt;
    assert.ok(elapsed <= 2000 + 1000 + 5000, `banner after ${elapsed} ms`);
    assert.match(await text(page, '#banner-stale'), /not ready|cannot reach/);
    generator = await startGenerator({ switches: 50, intervalSeconds: 1, port: generatorPort.value });
    await waitFor(async () => page.locator('#banner-stale').isHidden(), 'the banner to clear', 15_000);
    // The browser logs each 503 from /readyz: that is the state under test, nothing else may show.
    assert.deepEqual(problems.filter((p) => !/status of 503 .*\/readyz\)$/.test(p)), []);
  });
});

/** A CSV a hostile generator could serve that passes ingestion: legal but markup-ish ids, odd metric names. */
const HOSTILE_CSV = [
  'switch_id,bandwidth_mbps,latency_ms,__proto__,constructor,innerHTML,link_status',
  'constructor,1,2,3,4,5,1',
  'toString,1e3,-0.5,1,1,1,1',
  'javascript:alert,1,1,1,1,1,0',
  'img:src-x.onerror,1,1,1,1,1,1',
  '__proto__x,1,1,1,1,1,1',
  'sw1,8123,1.42,0,1,128,1',
  '',
].join('\n');

describe('dashboard in Chromium, programmable generator', { skip, timeout: 120_000 }, () => {
  let upstream: Awaited<ReturnType<typeof fakeUpstream>>;
  let server: ChildService;
  let browser: Browser;

  before(async () => {
    upstream = await fakeUpstream(csvHandler(HOSTILE_CSV));
    server = await startServer({ generatorUrl: upstream.url.href, pollSeconds: 0.5 });
    await waitFor(async () => (await fetch(`${server.url}/readyz`)).ok, 'the first snapshot');
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    await upstream?.close();
  });

  test("a hostile generator's ids and values render as text: no element injected, no dialog", async () => {
    const page = await browser.context.newPage();
    await page.addInitScript(CSP_LISTENER);
    const problems = watch(page, OPTIONAL_PATHS);
    await page.goto(`${server.url}/`);
    const accepted = Object.keys((await (await fetch(`${server.url}/telemetry/ListMetrics`)).json()) as object);
    await waitFor(async () => (await probe(page)).switches === accepted.length, 'the hostile snapshot');
    const ids = (await visibleRows(page)).map((cells) => cells[0]);
    assert.deepEqual(ids, accepted);
    for (const id of ['javascript:alert', 'img:src-x.onerror', 'constructor', 'toString']) assert.ok(accepted.includes(id), `${id} passed ingestion`);
    assert.deepEqual(await page.locator('#table-head button').allTextContents(), ['switch_id ▲', 'bandwidth_mbps', 'latency_ms', '__proto__', 'constructor', 'innerHTML', 'link_status']);
    // Hover a cell: the tooltip is text too.
    const cell = (await page.evaluate(`window.fabricDashboard.cellCenter('img:src-x.onerror')`)) as { x: number; y: number };
    await page.locator('#heatmap').hover({ position: cell });
    assert.match(await text(page, '#heatmap-tooltip'), /^img:src-x\.onerror\n/);
    await page.locator('#heatmap').click({ position: cell });
    await waitFor(async () => (await text(page, '#detail-title')) === 'img:src-x.onerror', 'the detail');
    assert.equal(await page.locator('img, iframe, object, embed, frame').count(), 0, 'no element injected');
    assert.equal(await page.locator('script').count(), 1, 'only the bundle');
    assert.deepEqual(await cspViolations(page), []);
    assert.deepEqual(problems, []);
    await page.close();
  });

  test('a down link is highlighted in the table, the summary and the heatmap', async () => {
    const page = await browser.context.newPage();
    const problems = watch(page, OPTIONAL_PATHS);
    await page.goto(`${server.url}/`);
    await waitFor(async () => (await text(page, '#sum-down')) === '1', 'one link down');
    assert.equal(await page.locator('#sum-down.bad').count(), 1);
    assert.equal(await page.locator('.trow.down').count(), 1);
    assert.equal(await page.locator('.trow.down').getAttribute('data-id'), 'javascript:alert');
    const cell = (await page.evaluate(`window.fabricDashboard.cellCenter('javascript:alert')`)) as { x: number; y: number };
    const rgb = (await page.evaluate(
      `(() => { const c = document.getElementById('heatmap'); const d = devicePixelRatio; return [...c.getContext('2d').getImageData(Math.floor(${cell.x} * d), Math.floor((${cell.y} - 10) * d), 1, 1).data].slice(0, 3); })()`,
    )) as number[];
    assert.deepEqual(rgb, [255, 0, 255], 'magenta: a colour the scale never takes');
    assert.deepEqual(problems, []);
    await page.close();
  });
});
