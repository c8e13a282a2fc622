/**
 * `npm run bench:ui`: the dashboard's goals, measured in headless Chromium against the real
 * generator and metrics server (issue 15):
 * - bundle: JS + CSS as the server sends them gzip (the build's .gz copies), goal ≤ 150 KB;
 * - first data on screen after navigation at 10,000 switches (the page's `performance.now()` when
 *   its first render with data ended), goal ≤ 1 s; a warm server (its ListMetrics body rendered);
 * - heatmap redraw at 100,000 switches, goal ≤ 16 ms: for each new snapshot, and forced redraws;
 * - applying a `changes` event at 10,000 switches, goal ≤ 5 ms: only when the server has
 *   `/telemetry/stream` (issue 13), else reported as not measurable.
 * `BENCH_UI_RUNS` (default 5) sets how many page loads the first-data figure takes.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { DASHBOARD_OUT_DIR, ensureDashboardBuilt } from '../scripts/build-dashboard.js';
import { chromiumMissing, launchChromium, probe, startGenerator, startServer, waitFor, type ChildService } from '../scripts/dashboard-browser.js';

const RUNS = Number(process.env['BENCH_UI_RUNS'] ?? 5);
/** `changes` events measured at 10,000 switches. */
const CHANGES_EVENTS = 12;

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
    const changes: number[] = [];
    const handled: number[] = [];
    {
      const page = await browser.context.newPage();
      await page.goto(`${server.url}/`);
      await waitFor(async () => (await probe(page)).firstDataMs, 'first data', 30_000);
      const mode = await waitFor(async () => {
        const m = (await probe(page)).mode;
        return m === 'connecting' ? undefined : m;
      }, 'a live mode');
      if (mode === 'stream') {
        let version = (await probe(page)).version ?? 0;
        // A new snapshot per generator tick (every 5 s here): each event's figure is read before the next arrives.
        for (let i = 0; i < CHANGES_EVENTS; i++) {
          await waitFor(async () => ((await probe(page)).version ?? 0) > version, 'a changes event', 30_000);
          const p = await probe(page);
          version = p.version ?? 0;
          changes.push(p.changesMs);
          handled.push(p.changesHandledMs);
        }
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
    line(`  whole snapshot applied to the model at 100,000 switches (after JSON parse): median ${ms(median(applied))}`);
    line(
      changes.length === 0
        ? '  changes event at 10,000 switches: not measurable, the server has no /telemetry/stream (issue 13)'
        : `  changes event applied to the model at 10,000 switches: median ${ms(median(changes))}, p95 ${ms(quantile(changes, 0.95))}, max ${ms(Math.max(...changes))} over ${changes.length} events (goal ≤ 5 ms) [${changes.map((x) => x.toFixed(1)).join(' ')}]`,
    );
    if (handled.length > 0) line(`  changes event from arrival to model (JSON.parse and rows included): median ${ms(median(handled))}, max ${ms(Math.max(...handled))} [${handled.map((x) => x.toFixed(1)).join(' ')}]`);
  } finally {
    await browser.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:ui failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
