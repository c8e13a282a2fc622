/**
 * The web dashboard's static files: `GET /` (the page) and `GET /assets/*` (its hashed bundle),
 * served from what `scripts/build-dashboard.ts` wrote to `dist/dashboard/`, gzip and brotli copies
 * included (compressed once at build time, never per request). The server reads the directory
 * once at start; a rebuild is picked up by the next start.
 *
 * Every answer carries a Content-Security-Policy that allows only same-origin scripts, styles,
 * images and connections (no inline script, no eval, no framing). The page's HTML is `no-cache`
 * (revalidated with its ETag, so a new build shows at once); hashed assets are `immutable` (their
 * name changes with their content). No CORS header is ever sent: the API stays same-origin.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { preferredEncoding } from '../../../common/http-encoding.js';
import { etagListMatches } from '../../../common/http-etag.js';
import type { RoutePlugin } from './app.js';
import { HttpError, notFound } from './errors.js';

/** The page's CSP: same-origin everything, no inline script or style, no eval, no plugins, no framing. */
export const DASHBOARD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Content types by file extension; anything else in the build is served as bytes. */
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

/** Headers every dashboard answer carries (the CSP and its companions). */
const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': DASHBOARD_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
};

/** One built file, with its precompressed copies when the build wrote them. */
interface StaticFile {
  readonly type: string;
  readonly etag: string;
  readonly bodies: { readonly identity: Buffer; readonly br?: Buffer; readonly gzip?: Buffer };
}

/** Where `npm run build:dashboard` writes the page: `<project>/dist/dashboard`, from source or from `dist/`. */
export function defaultDashboardDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  // Walk up to the project root (the folder with package.json): the same from src/ and from dist/.
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return join(dir, 'dist', 'dashboard');
}

/** Reads every file of a built dashboard, by URL path (`/index.html`, `/assets/index-AbC123.js`). */
function loadFiles(root: string): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) {
        walk(path);
        continue;
      }
      const ext = extname(name);
      // The compressed copies belong to their original; the build stamp is not served.
      if (ext === '.br' || ext === '.gz' || name.startsWith('.')) continue;
      const identity = readFileSync(path);
      const br = existsSync(`${path}.br`) ? readFileSync(`${path}.br`) : undefined;
      const gzip = existsSync(`${path}.gz`) ? readFileSync(`${path}.gz`) : undefined;
      const etag = `"${createHash('sha256').update(identity).digest('base64url').slice(0, 22)}"`;
      files.set('/' + path.slice(root.length + 1).split('\\').join('/'), {
        type: CONTENT_TYPES[ext] ?? 'application/octet-stream',
        etag,
        bodies: { identity, ...(br === undefined ? {} : { br }), ...(gzip === undefined ? {} : { gzip }) },
      });
    }
  };
  try {
    if (existsSync(join(root, 'index.html'))) walk(root);
  } catch {
    // A build replacing the folder right now: serve "not built" rather than fail the server's start.
    files.clear();
  }
  return files;
}

/** Sends one file: negotiated coding, validator, cache policy, CSP. */
function send(request: FastifyRequest, reply: FastifyReply, file: StaticFile, cacheControl: string): FastifyReply {
  void reply.headers(SECURITY_HEADERS).header('cache-control', cacheControl).header('etag', file.etag).header('vary', 'Accept-Encoding');
  const inm = request.headers['if-none-match'];
  if (inm !== undefined && etagListMatches(inm, file.etag)) return reply.code(304).send();
  const coding = preferredEncoding(request.headers['accept-encoding'], (['br', 'gzip'] as const).filter((c) => file.bodies[c] !== undefined));
  const body = coding === undefined ? file.bodies.identity : file.bodies[coding]!;
  if (coding !== undefined) void reply.header('content-encoding', coding);
  return reply.type(file.type).send(body);
}

/**
 * The dashboard's routes as a plugin: `/` and `/index.html` (the page, `no-cache`), `/assets/*`
 * (hashed files, a year and `immutable`). Without a build, `/` answers 503 naming the command that
 * builds it, and the rest of the server is unaffected.
 */
export function dashboardPlugin(dir: string = defaultDashboardDir()): RoutePlugin {
  const root = resolve(dir);
  const files = loadFiles(root);
  return {
    paths: ['/', '/index.html'],
    prefixes: ['/assets/'],
    register(app: FastifyInstance) {
      const page = (request: FastifyRequest, reply: FastifyReply): FastifyReply => {
        // The router also lands the asterisk form (`GET * HTTP/1.1`) here; only `/` is the page.
        if (!request.url.startsWith('/')) throw notFound('no such endpoint');
        const index = files.get('/index.html');
        // No filesystem path in the answer: error bodies never show the server's internals.
        if (index === undefined) throw new HttpError(503, 'the dashboard is not built: run npm run build:dashboard');
        return send(request, reply, index, 'no-cache');
      };
      app.get('/', page);
      app.get('/index.html', page);
      app.get('/assets/*', (request, reply) => {
        const q = request.url.indexOf('?');
        const file = files.get(q === -1 ? request.url : request.url.slice(0, q));
        if (file === undefined) throw notFound('no such dashboard asset');
        return send(request, reply, file, 'public, max-age=31536000, immutable');
      });
    },
  };
}
