import { launchChromium, startGenerator, startServer, probe, waitFor } from './dashboard-browser.js';
const n = Number(process.argv[2]);
const gen = await startGenerator({ switches: n, intervalSeconds: 5 });
const srv = await startServer({ generatorUrl: `${gen.url}/counters`, pollSeconds: 1 });
await waitFor(async () => (await fetch(`${srv.url}/readyz`)).ok, 'ready', 60000);
await (await fetch(`${srv.url}/telemetry/ListMetrics`, { headers: { 'accept-encoding': 'br, gzip' } })).arrayBuffer();
const b = await launchChromium();
try {
  for (let i = 0; i < 3; i++) {
  const page = await b.context.newPage();
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Profiler.enable'); await cdp.send('Profiler.start');
  await page.goto(srv.url + '/');
  await waitFor(async () => (await probe(page)).firstDataMs, 'data', 60000);
  const { profile } = await cdp.send('Profiler.stop') as { profile: { nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } ; hitCount?: number}[]; samples: number[]; timeDeltas: number[] } };
  const self = new Map<string, number>();
  const byId = new Map(profile.nodes.map((nd) => [nd.id, nd]));
  profile.samples.forEach((id, k) => { const nd = byId.get(id)!; const key = `${nd.callFrame.functionName || '(anon)'} ${nd.callFrame.url.replace(/^.*\//, '')}:${nd.callFrame.lineNumber}`; self.set(key, (self.get(key) ?? 0) + (profile.timeDeltas[k] ?? 0) / 1000); });
  console.log('first', (await probe(page)).firstDataMs, 'heat', (await probe(page)).heatmapMs, 'snap', (await probe(page)).snapshotMs);
  console.log([...self].sort((a, b2) => b2[1] - a[1]).slice(0, 12).map(([k, v]) => `${v.toFixed(1)}ms ${k}`).join('\n'));
  console.log('forced', await page.evaluate(`[1,2,3,4,5].map(() => window.fabricDashboard.redrawHeatmap().toFixed(1)).join(' ')`));
  await page.close();
  }
} finally { await b.close(); await srv.stop(); await gen.stop(); }
