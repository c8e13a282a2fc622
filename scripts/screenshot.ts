/**
 * `npm run screenshot`: regenerates the README's picture of the dashboard from a real run: the
 * generator at 10,000 switches (seed 7, ticking every 2 s), the metrics server polling every
 * second, headless Chromium at 1400 × 1000. The table is sorted by latency (worst first) and the
 * pointer rests on a heatmap cell, so the picture shows the tooltip too. Writes docs/dashboard.png.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from './build-dashboard.js';
import { chromiumMissing, launchChromium, probe, startGenerator, startServer, waitFor } from './dashboard-browser.js';

/** Where the picture goes (the README links it). */
export const SCREENSHOT_PATH = join(PROJECT_ROOT, 'docs', 'dashboard.png');

async function main(): Promise<void> {
  const missing = chromiumMissing();
  if (missing !== undefined) throw new Error(missing);
  const generator = await startGenerator({ switches: 10_000, intervalSeconds: 2, seed: 7 });
  const server = await startServer({ generatorUrl: `${generator.url}/counters`, pollSeconds: 1 });
  const browser = await launchChromium({ width: 1400, height: 1000 });
  try {
    await waitFor(async () => (await fetch(`${server.url}/readyz`)).ok, 'the first snapshot', 60_000);
    const page = await browser.context.newPage();
    await page.goto(`${server.url}/`);
    await waitFor(async () => (await probe(page)).switches === 10_000, '10,000 switches on screen', 60_000);
    // A few snapshots in, so the age and the ingestion line show a running system.
    const version = (await probe(page)).version ?? 0;
    await waitFor(async () => ((await probe(page)).version ?? 0) >= version + 2, 'two more snapshots', 60_000);
    await page.locator('#table-head button[data-column="latency_ms"]').click();
    const cell = (await page.evaluate(`window.fabricDashboard.cellCenter('sw4321')`)) as { x: number; y: number };
    await page.locator('#heatmap').hover({ position: cell });
    await page.waitForTimeout(300);
    mkdirSync(join(PROJECT_ROOT, 'docs'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT_PATH });
    process.stdout.write(`wrote ${SCREENSHOT_PATH}\n`);
  } finally {
    await browser.close();
    await server.stop();
    await generator.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`screenshot failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
