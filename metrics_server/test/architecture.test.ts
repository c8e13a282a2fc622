/**
 * The layering of the metrics server, read from the source's own imports: data flows sources →
 * ingest → snapshot → store → views → http, and each folder may import only what sits before it on
 * that path (plus the shared `common/`); `history/` sits beside `views/`, after the store. `snapshot/` (the column model and its wire form) depends on
 * nothing upstream or downstream. No module imports itself back through others, counting the worker
 * modules a file starts (`new URL('./x.js', import.meta.url)`) as imports.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const serverSrc = join(root, 'metrics_server/src');

/** What each folder of `metrics_server/src` may import, besides itself and `common/`. */
const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  snapshot: [],
  store: ['snapshot'],
  ingest: ['snapshot', 'store'],
  sources: ['ingest', 'snapshot', 'store'],
  views: ['snapshot', 'store'],
  // History consumes published snapshots beside the views; http and metrics read it.
  history: ['snapshot', 'store'],
  perf: [],
  http: ['views', 'history', 'store', 'snapshot', 'perf', 'ingest/ingestion-health.ts'],
  metrics: ['http', 'views', 'history', 'store', 'snapshot', 'ingest/ingestion-health.ts', 'ingest/parse-outcome.ts'],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** Every module a file imports or starts as a worker, as absolute `.ts` paths (packages left out). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [
    ...text.matchAll(/^\s*(?:import|export)\s[^;]*?\sfrom\s+'([^']+)'/gms),
    ...text.matchAll(/^\s*import\s+'([^']+)'/gm),
    ...text.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g),
    ...text.matchAll(/new URL\(\s*'([^']+)'\s*,\s*import\.meta\.url\s*\)/g),
  ].map((m) => m[1]!);
  return specifiers.filter((s) => s.startsWith('.')).map((s) => resolve(dirname(file), s).replace(/\.js$/, '.ts'));
}

const files = [...sourceFiles(serverSrc), ...sourceFiles(join(root, 'common'))];
const graph = new Map(files.map((file) => [file, importsOf(file)]));

test('every relative import names a file that exists', () => {
  for (const [file, imports] of graph) for (const target of imports) assert.ok(graph.has(target), `${relative(root, file)} imports ${relative(root, target)}, which is not a source file`);
});

test('imports flow one way: each folder imports only the stages before it', () => {
  const violations: string[] = [];
  for (const [file, imports] of graph) {
    if (!file.startsWith(serverSrc)) continue;
    const from = relative(serverSrc, file);
    const folder = from.includes('/') ? from.split('/')[0]! : undefined;
    // The composition root and config (files directly in src/) may wire anything.
    if (folder === undefined) continue;
    const allowed = ALLOWED[folder];
    assert.ok(allowed !== undefined, `folder ${folder}/ has no rule: add it to ALLOWED`);
    for (const target of imports) {
      if (!target.startsWith(serverSrc)) continue; // common/
      const to = relative(serverSrc, target);
      const toFolder = to.includes('/') ? to.split('/')[0]! : '(root)';
      if (toFolder === folder) continue;
      if (allowed.includes(toFolder) || allowed.includes(to)) continue;
      violations.push(`${from} → ${to}`);
    }
  }
  assert.deepEqual(violations, []);
});

test('snapshot/ depends on nothing upstream or downstream; views/ never read the parser', () => {
  for (const [file, imports] of graph) {
    const from = relative(serverSrc, file);
    for (const target of imports) {
      const to = relative(serverSrc, target);
      if (from.startsWith('snapshot/')) assert.ok(to.startsWith('snapshot/') || !target.startsWith(serverSrc), `${from} imports ${to}`);
      if (from.startsWith('views/')) assert.ok(!to.startsWith('ingest/') && !to.startsWith('sources/') && !to.startsWith('http/'), `${from} imports ${to}`);
    }
  }
});

test('no import circles', () => {
  const state = new Map<string, 'open' | 'done'>();
  const circles: string[] = [];
  const visit = (file: string, path: string[]): void => {
    if (state.get(file) === 'done') return;
    if (state.get(file) === 'open') {
      circles.push([...path.slice(path.indexOf(file)), file].map((f) => relative(root, f)).join(' → '));
      return;
    }
    state.set(file, 'open');
    for (const target of graph.get(file) ?? []) visit(target, [...path, file]);
    state.set(file, 'done');
  };
  for (const file of graph.keys()) visit(file, []);
  assert.deepEqual(circles, []);
});

test('no test-only code in src/: nothing there imports from a test folder or names a reference implementation', () => {
  for (const [file, imports] of graph) {
    for (const target of imports) assert.ok(!target.includes('/test/'), `${relative(root, file)} imports test code ${relative(root, target)}`);
    assert.doesNotMatch(readFileSync(file, 'utf8'), /export function \w*Reference\b/, relative(root, file));
  }
});
