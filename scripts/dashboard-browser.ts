/**
 * What the dashboard's browser tests, `npm run bench:ui` and `npm run screenshot` share: Debian's
 * Chromium driven by playwright-core (never a browser download), the real generator and metrics
 * server as child processes on loopback port 0, and the page's own probe
 * (`window.fabricDashboard`, dashboard/src/main.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import type { ProbeState } from '../dashboard/src/probe-state.js';
import { PROJECT_ROOT, ensureDashboardBuilt } from './build-dashboard.js';

/** Debian's Chromium (`apt-get install chromium`; `.ci/run` installs it); CHROMIUM_PATH overrides. */
export const CHROMIUM_PATH = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

/** Flags for a quiet, reproducible headless run in a container (no sandbox: we run as root). */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-quic',
  '--no-first-run',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

/** Why the browser tests cannot run here, or undefined when they can. */
export function chromiumMissing(): string | undefined {
  return existsSync(CHROMIUM_PATH) ? undefined : `${CHROMIUM_PATH} not found (apt-get install chromium)`;
}

/** A browser with a fresh profile; `close` also removes the profile. */
export interface Browser {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

/** Launches Chromium with a fresh `--user-data-dir` (a persistent context is how playwright takes one). */
export async function launchChromium(viewport = { width: 1400, height: 1000 }): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'fabric-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport,
    timeout: 30_000,
  });
  return {
    context,
    async close() {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** A service started by us, and how to stop it. */
export interface ChildService {
  readonly child: ChildProcess;
  /** `http://127.0.0.1:PORT` as the service's "listening on" line names it. */
  readonly url: string;
  /** Everything it printed so far (for failure messages). */
  output(): string;
  stop(): Promise<void>;
}

/** Starts `node --import tsx <entry>` and waits for its "listening on" line. */
async function startChild(entry: string, env: NodeJS.ProcessEnv, what: string): Promise<ChildService> {
  // Only what it is given: a POLL_INTERVAL_SECONDS or LOG_FORMAT in the caller's environment must not change the run.
  const child = spawn(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, entry)], { env: { PATH: process.env['PATH'] ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not start within 30 s: ${output}`)), 30_000);
    const check = (): void => {
      const match = /listening on (http:\/\/[\d.:]+)/.exec(output);
      if (match !== null) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code}: ${output}`));
    });
  });
  return {
    child,
    url,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await once(child, 'exit');
      clearTimeout(timer);
    },
  };
}

/** Starts the real generator with `switches` switches ticking every `intervalSeconds`, on `port` (0: any). */
export async function startGenerator(options: { switches: number; intervalSeconds: number; seed?: number; port?: number }): Promise<ChildService> {
  const dir = mkdtempSync(join(tmpdir(), 'fabric-gen-'));
  const config = join(dir, 'generator.json');
  writeFileSync(config, JSON.stringify({ switches: { count: options.switches }, update_interval_seconds: options.intervalSeconds, seed: options.seed ?? 7 }));
  return startChild('telemetry_generator/src/main.ts', { GENERATOR_CONFIG: config, GENERATOR_PORT: String(options.port ?? 0), GENERATOR_HOST: '127.0.0.1', LOG_LEVEL: 'INFO' }, 'generator');
}

/** Starts the real metrics server polling `generatorUrl` (…/counters), with the dashboard built first. */
export async function startServer(options: { generatorUrl: string; pollSeconds: number; timeoutSeconds?: number; readinessSeconds?: number; maxBodyBytes?: number; history?: boolean }): Promise<ChildService> {
  await ensureDashboardBuilt({ quiet: true });
  const dir = mkdtempSync(join(tmpdir(), 'fabric-srv-'));
  const config = join(dir, 'server.json');
  const timeout = options.timeoutSeconds ?? Math.min(2, options.pollSeconds);
  writeFileSync(
    config,
    JSON.stringify({
      logging: { level: 'WARNING', format: 'text' },
      ingestion: { generator_url: options.generatorUrl, poll_interval_seconds: options.pollSeconds, fetch_timeout_seconds: timeout, max_body_bytes: options.maxBodyBytes ?? 67108864 },
      ...(options.readinessSeconds === undefined ? {} : { readiness: { max_age_seconds: options.readinessSeconds } }),
      ...(options.history === false ? { history: { enabled: false } } : {}),
    }),
  );
  return startChild('metrics_server/src/main.ts', { METRICS_SERVER_CONFIG: config, METRICS_SERVER_PORT: '0', METRICS_SERVER_HOST: '127.0.0.1', LOG_LEVEL: 'INFO', GENERATOR_URL: options.generatorUrl }, 'metrics server');
}

/** Reads the page's probe. */
export async function probe(page: Page): Promise<ProbeState> {
  return (await page.evaluate(
    `(() => { const p = window.fabricDashboard; return p === undefined ? undefined : { firstDataMs: p.firstDataMs, heatmapMs: p.heatmapMs, changesMs: p.changesMs, changesHandledMs: p.changesHandledMs, changesParseMs: p.changesParseMs, parsePlace: p.parsePlace, frameGapMaxMs: p.frameGapMaxMs, snapshotMs: p.snapshotMs, renders: p.renders, version: p.version, switches: p.switches, mode: p.mode, history: p.history, top: p.top }; })()`,
  )) as ProbeState;
}

/** Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function waitFor<T>(check: () => Promise<T | undefined | false>, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last === undefined ? '' : ` (last error: ${String(last)})`}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
