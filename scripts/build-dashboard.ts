/**
 * `npm run build:dashboard` (run by `npm start`, `npm run server` and the browser tests): bundles
 * the web dashboard (`dashboard/`) with Vite into `dist/dashboard/`, hashed asset names, and writes
 * a gzip and a brotli copy of every text file beside it, so the server compresses nothing per request.
 *
 * It builds only when the output is missing or out of date: a stamp in the output holds a hash of
 * every input (the dashboard's sources, this script, the lockfile), so an unchanged tree costs a
 * hash of a few files, not a bundle.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants as zlib, gzipSync } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));
// From source (scripts/) or built (dist/scripts/): the project root is the folder with package.json.
let projectRoot = here;
while (!existsSync(join(projectRoot, 'package.json')) && dirname(projectRoot) !== projectRoot) projectRoot = dirname(projectRoot);

/** The project root (the folder holding package.json). */
export const PROJECT_ROOT = projectRoot;
/** The dashboard's sources. */
export const DASHBOARD_SOURCE_DIR = join(PROJECT_ROOT, 'dashboard');
/** Where the built dashboard goes (the metrics server serves it from here). */
export const DASHBOARD_OUT_DIR = join(PROJECT_ROOT, 'dist', 'dashboard');
const STAMP = '.build-stamp';

function filesUnder(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? filesUnder(path) : [path];
    });
}

/** A hash of everything the bundle is made from. */
export function dashboardInputHash(): string {
  const hash = createHash('sha256');
  const script = join(PROJECT_ROOT, 'scripts', 'build-dashboard.ts');
  for (const path of [...filesUnder(DASHBOARD_SOURCE_DIR), script, join(PROJECT_ROOT, 'package-lock.json')]) {
    hash.update(path.slice(PROJECT_ROOT.length)).update('\0').update(existsSync(path) ? readFileSync(path) : '').update('\0');
  }
  return hash.digest('hex');
}

/** True when `dist/dashboard` was built from the current inputs. */
export function dashboardUpToDate(): boolean {
  const stamp = join(DASHBOARD_OUT_DIR, STAMP);
  return existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === dashboardInputHash();
}

/** Builds the dashboard when missing or out of date; returns whether it built. */
export async function ensureDashboardBuilt(options: { force?: boolean; quiet?: boolean } = {}): Promise<boolean> {
  if (!options.force && dashboardUpToDate()) return false;
  const inputHash = dashboardInputHash();
  // Vite is a build tool: loaded only when a build is due, never by the servers.
  const { build } = await import('vite');
  await build({
    root: DASHBOARD_SOURCE_DIR,
    base: '/',
    configFile: false,
    logLevel: options.quiet ? 'error' : 'warn',
    publicDir: false,
    // The parse worker (dashboard/src/event-worker.ts) as an ES module with a hashed name, like the page's.
    worker: { format: 'es' },
    build: {
      outDir: DASHBOARD_OUT_DIR,
      emptyOutDir: true,
      assetsDir: 'assets',
      target: 'es2022',
      // The polyfill would be an inline script, which the page's CSP forbids (and es2022 browsers have modulepreload).
      modulePreload: { polyfill: false },
      sourcemap: false,
      reportCompressedSize: false,
    },
  });
  for (const path of filesUnder(DASHBOARD_OUT_DIR)) {
    if (!['.html', '.js', '.css', '.svg', '.json'].includes(extname(path))) continue;
    const bytes = readFileSync(path);
    writeFileSync(`${path}.gz`, gzipSync(bytes, { level: 9 }));
    writeFileSync(`${path}.br`, brotliCompressSync(bytes, { params: { [zlib.BROTLI_PARAM_QUALITY]: 11, [zlib.BROTLI_PARAM_SIZE_HINT]: bytes.length } }));
  }
  writeFileSync(join(DASHBOARD_OUT_DIR, STAMP), inputHash + '\n');
  return true;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const force = process.argv.includes('--force');
  ensureDashboardBuilt({ force }).then(
    (built) => {
      if (built) console.log(`dashboard built into ${DASHBOARD_OUT_DIR}`);
    },
    (err: unknown) => {
      console.error(`dashboard build failed: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
}
