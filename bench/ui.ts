/**
 * `npm run bench:ui`: the dashboard's goals, measured in headless Chromium against the real
 * generator and metrics server (issue 15):
 * - bundle: JS + CSS as the server sends them gzip (the build's .gz copies), goal ≤ 150 KB;
 * - first data on screen after navigation at 10,000 switches (the page's `performance.now()` when
 *   its first render with data ended), goal ≤ 1 s; a warm server (its ListMetrics body rendered);
 * - heatmap redraw at 100,000 switches, goal ≤ 16 ms: for each new snapshot, and forced redraws;
 * - applying a `changes` event at 10,000 switches, goal ≤ 5 ms: parsed in the page's worker (the
 *   default) and, for comparison, on the main thread (`?parse=main`), alternately; with the parse,
 *   the arrival-to-model time and the longest frame gap around each event. Only when the server
 *   has `/telemetry/stream` (issue 13), else reported as not measurable.
 * `BENCH_UI_RUNS` (default 5) sets how many page loads the first-data figure takes.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { DASHBOARD_OUT_DIR, ensureDashboardBuilt } from '../scripts/build-dashboard.js';
import { chromiumMissing, launchChromium, probe, startGenerator, startServer, waitFor, type ChildService } from '../scripts/dashboard-browser.js';
import type { ParsePlace } from '../dashboard/src/probe-state.js';

const RUNS = Number(process.env['BENCH_UI_RUNS'] ?? 5);
/** `changes` events measured at 10,000 switches, per page (four pages: two per parse place). */
const CHANGES_EVENTS_PER_ROUND = 8;

/** What one parse place's `changes` events measured. */
interface ChangesFigures {
  apply: number[];
  parse: number[];
  handled: number[];
  frameGap: number[];
}
const emptyFigures = (): ChangesFigures => ({ apply: [], parse: [], handled: [], frameGap: [] });

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const quantile = (xs: readonly number[], q: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? NaN;
const ms = (x: number): string => `${x.toFixed(1)} ms`;
const line = (text: string): void => void process.stdout.write(`${text}\n`);

function bundleSizes(): { raw: number; gzip: number; brotli: number } {
  const dir = join(DASHBOARD_OUT_DIR, 'assets');
  let raw = 0;
  let gzip = 0;
  let brotli = 0;
  for (const name of readdirSync(dir)) {
    if (/\.(js|css)$/.test(name)) raw += statSync(join(dir, name)).size;
    if (/\.(js|css)\.gz$/.test(name)) gzip += statSync(join(dir, name)).size;
    if (/\.(js|css)\.br$/.test(name)) brotli += statSync(join(dir, name)).size;
  }
  return { raw, gzip, brotli };
}

async function services(switches: number, intervalSeconds: number): Promise<{ generator: ChildService; server: ChildService }> {
  const generator = await startGenerator({ switches, intervalSeconds });
  const server = await startServer({ generatorUrl: `${generator.url}/counters`, pollSeconds: 1 });
  await waitFor(async () => (await fetch(`${server.url}/readyz`)).ok, 'the first snapshot', 60_000);
  return { generator, server };
}

/** Transferred bytes of the page's JS and CSS, as the browser saw them (encoded body sizes). */
async function transferred(page: Page): Promise<number> {
  return (await page.evaluate(`performance.getEntriesByType('resource').filter((e) => /\\/assets\\/.*\\.(js|css)$/.test(e.name)).reduce((n, e) => n + e.encodedBodySize, 0)`)) as number;
}

async function main(): Promise<void> {
  const missing = chromiumMissing();
  if (missing !== undefined) throw new Error(missing);
  await ensureDashboardBuilt();
  const sizes = bundleSizes();
  const browser = await launchChromium();
  try {
    // First data at 10,000 switches.
    let { generator, server } = await services(10_000, 5);
    // A warm server: the compressed ListMetrics view the browser asks for is rendered.
    await (await fetch(`${server.url}/telemetry/ListMetrics`, { headers: { 'accept-encoding': 'br, gzip' } })).arrayBuffer();
    const firsts: number[] = [];
    let sent = 0;
    for (let i = 0; i < RUNS; i++) {
      const page = await browser.context.newPage();
      await page.goto(`${server.url}/`);
      firsts.push(await waitFor(async () => (await probe(page)).firstDataMs, 'first data', 30_000));
      // The first load fetches the assets; later ones may take them from the HTTP cache (immutable).
      if (i === 0) sent = await transferred(page);
      await page.close();
    }
    await server.stop();
    await generator.stop();

    // `changes` events at 10,000 switches, a snapshot every 2 s: parsed in the worker (the page's
    // default) and on the main thread (`?parse=main`), alternately, so both see the same machine.
    const changes: Record<ParsePlace, ChangesFigures> = { worker: emptyFigures(), main: emptyFigures() };
    ({ generator, server } = await services(10_000, 2));
    let streamed = true;
    for (const place of ['worker', 'main', 'worker', 'main'] as const) {
      const page = await browser.context.newPage();
      await page.goto(`${server.url}/${place === 'main' ? '?parse=main' : ''}`);
      await waitFor(async () => (await probe(page)).firstDataMs, 'first data', 30_000);
      const mode = await waitFor(async () => {
        const m = (await probe(page)).mode;
        return m === 'connecting' ? undefined : m;
      }, 'a live mode');
      if (mode !== 'stream') {
        streamed = false;
        await page.close();
        break;
      }
      // The first event after connecting is the whole snapshot: wait for it, then measure changes.
      let version = (await probe(page)).version ?? 0;
      await waitFor(async () => ((await probe(page)).version ?? 0) > version, 'a first event', 30_000);
      for (let i = 0; i < CHANGES_EVENTS_PER_ROUND; i++) {
        version = (await probe(page)).version ?? 0;
        await page.evaluate('window.fabricDashboard.watchFrames()');
        await waitFor(async () => ((await probe(page)).version ?? 0) > version, 'a changes event', 30_000);
        // The frame after the event (the panels' redraw) belongs to it too.
        await page.waitForTimeout(150);
        const p = await probe(page);
        if (p.parsePlace !== place) throw new Error(`the page parsed in ${p.parsePlace}, not ${place}`);
        const f = changes[place];
        f.apply.push(p.changesMs);
        f.parse.push(p.changesParseMs);
        f.handled.push(p.changesHandledMs);
        f.frameGap.push(p.frameGapMaxMs);
      }
      await page.close();
    }
    await server.stop();
    await generator.stop();

    // Heatmap redraws at 100,000 switches.
    ({ generator, server } = await services(100_000, 2));
    const page = await browser.context.newPage();
    await page.goto(`${server.url}/`);
    await waitFor(async () => (await probe(page)).switches === 100_000, '100,000 switches on screen', 60_000);
    const perSnapshot: number[] = [];
    const applied: number[] = [];
    let version = (await probe(page)).version ?? 0;
    for (let i = 0; i < 5; i++) {
      await waitFor(async () => ((await probe(page)).version ?? 0) > version, 'a new snapshot', 60_000);
      await page.waitForTimeout(100);
      const p = await probe(page);
      version = p.version ?? 0;
      perSnapshot.push(p.heatmapMs);
      applied.push(p.snapshotMs);
    }
    const forced = (await page.evaluate(`Array.from({ length: 50 }, () => window.fabricDashboard.redrawHeatmap())`)) as number[];
    await page.close();
    await server.stop();
    await generator.stop();

    line('dashboard (npm run bench:ui), headless Chromium on this machine');
    line(`  bundle JS+CSS: ${(sizes.raw / 1024).toFixed(1)} KB raw, ${(sizes.gzip / 1024).toFixed(1)} KB gzip, ${(sizes.brotli / 1024).toFixed(1)} KB brotli (goal ≤ 150 KB gzip); sent to the browser: ${(sent / 1024).toFixed(1)} KB`);
    line(`  first data on screen at 10,000 switches: median ${ms(median(firsts))}, max ${ms(Math.max(...firsts))} over ${firsts.length} loads (goal ≤ 1000 ms) [${firsts.map((x) => x.toFixed(0)).join(' ')}]`);
    line(`  heatmap redraw at 100,000 switches: per new snapshot median ${ms(median(perSnapshot))}, max ${ms(Math.max(...perSnapshot))}; forced ×${forced.length} median ${ms(median(forced))}, p95 ${ms(quantile(forced, 0.95))}, max ${ms(Math.max(...forced))} (goal ≤ 16 ms)`);
    line(`  whole snapshot applied to the model at 100,000 switches (on the main thread, parsed in the worker): median ${ms(median(applied))}`);
    if (!streamed) line('  changes event at 10,000 switches: not measurable, the server has no /telemetry/stream (issue 13)');
    else
      for (const place of ['worker', 'main'] as const) {
        const f = changes[place];
        const where = place === 'worker' ? 'parsed in the worker (default)' : 'parsed on the main thread (?parse=main)';
        line(`  changes event at 10,000 switches, ${where}, ${f.apply.length} events:`);
        line(`    applied to the model on the main thread: median ${ms(median(f.apply))}, p95 ${ms(quantile(f.apply, 0.95))}, max ${ms(Math.max(...f.apply))} (goal ≤ 5 ms) [${f.apply.map((x) => x.toFixed(1)).join(' ')}]`);
        line(`    parse (JSON.parse into columns): median ${ms(median(f.parse))}, max ${ms(Math.max(...f.parse))}`);
        const busy = f.apply.map((a, i) => a + (place === 'main' ? f.parse[i]! : 0));
        line(`    main thread busy for the event: ${place === 'worker' ? 'apply' : 'parse + apply'}: median ${ms(median(busy))}, max ${ms(Math.max(...busy))}`);
        line(`    arrival to model updated: median ${ms(median(f.handled))}, max ${ms(Math.max(...f.handled))}`);
        line(`    longest gap between two frames around the event: median ${ms(median(f.frameGap))}, max ${ms(Math.max(...f.frameGap))} (16.7 ms is every frame on time) [${f.frameGap.map((x) => x.toFixed(0)).join(' ')}]`);
      }
  } finally {
    await browser.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:ui failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
