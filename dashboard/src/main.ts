/**
 * The dashboard page: wires the model, the panels and the live feed. New data is applied to the
 * model as it arrives; the panels redraw once per animation frame at most, however many events
 * came in between. `window.fabricDashboard` exposes timings (`performance.now()`) and state for
 * the browser tests and `npm run bench:ui`.
 */
import 'uplot/dist/uPlot.min.css';
import './style.css';
import type { StatusView } from './api.js';
import { SwitchDetail } from './detail.js';
import { Heatmap } from './heatmap.js';
import { LiveFeed, type LiveMode } from './live.js';
import { FabricModel, LINK_STATUS, LATENCY, UTILIZATION } from './model.js';
import { Summary } from './summary.js';
import { SwitchTable } from './table.js';
import type { ProbeState } from './probe-state.js';
import { TopPanel } from './top.js';

/** What the page exposes for tests and benchmarks (read with `page.evaluate`). */
export interface DashboardProbe extends ProbeState {
  mode: LiveMode;
  /** Redraws the heatmap now and returns how long it took (the bench calls it repeatedly). */
  redrawHeatmap(): number;
  /** Where a switch's heatmap cell is (CSS px within the canvas), if it is shown. */
  cellCenter(id: string): { x: number; y: number } | undefined;
  /** Drops the live stream as a dead connection would (tests). */
  dropStream(): void;
  /** Starts (or restarts) measuring `frameGapMaxMs` (the bench; nothing runs per frame until called). */
  watchFrames(): void;
}

declare global {
  interface Window {
    fabricDashboard: DashboardProbe;
  }
}

/** An element the page's HTML must have. */
function $<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`dashboard markup lacks #${id}`);
  return el as T;
}

const model = new FabricModel();
let metricNames: readonly string[] = [];

const select = (id: string): void => {
  void detail.open(id);
};

const summary = new Summary({
  switches: $('sum-switches'),
  down: $('sum-down'),
  bandwidth: $('sum-bandwidth'),
  latency: $('sum-latency'),
  version: $('sum-version'),
  age: $('sum-age'),
  ingestion: $('sum-ingestion'),
  live: $('live-mode'),
  staleBanner: $('banner-stale'),
  streamBanner: $('banner-stream'),
});
const metricSelect = $<HTMLSelectElement>('heatmap-metric');
const heatmap = new Heatmap(
  $<HTMLCanvasElement>('heatmap'),
  $('heatmap-tooltip'),
  { low: $('legend-low'), high: $('legend-high'), bar: $<HTMLCanvasElement>('legend-bar') },
  model,
  select,
  UTILIZATION,
);
const table = new SwitchTable($('table-head'), $('table-scroll'), $('table-spacer'), $('table-count'), $<HTMLInputElement>('table-filter'), model, select);
const detail = new SwitchDetail(
  $('detail'),
  { title: $('detail-title'), note: $('detail-note'), values: $('detail-values'), charts: $('detail-charts'), window: $<HTMLSelectElement>('detail-window') },
  model,
);
$('detail-close').addEventListener('click', () => detail.close());
const top = new TopPanel(
  [
    { metric: LATENCY, fn: 'max', element: $<HTMLOListElement>('top-latency') },
    { metric: UTILIZATION, fn: 'avg', element: $<HTMLOListElement>('top-utilization') },
    { metric: LINK_STATUS, fn: 'changes', element: $<HTMLOListElement>('top-flaps') },
  ],
  $<HTMLSelectElement>('top-window'),
  $('top-note'),
  select,
);
metricSelect.addEventListener('change', () => {
  heatmap.setMetric(metricSelect.value);
  schedule();
});

const probe: DashboardProbe = {
  firstDataMs: undefined,
  heatmapMs: 0,
  changesMs: 0,
  changesHandledMs: 0,
  changesParseMs: 0,
  // Read at call time: a worker that fails to load falls back to `main` after start.
  get parsePlace() {
    return feed.parsePlace;
  },
  frameGapMaxMs: 0,
  snapshotMs: 0,
  renders: 0,
  version: undefined,
  switches: 0,
  mode: 'connecting',
  get history() {
    return detail.historyState;
  },
  get top() {
    return top.state;
  },
  redrawHeatmap: () => (probe.heatmapMs = heatmap.draw()),
  cellCenter: (id) => {
    const row = model.index.get(id);
    return row === undefined ? undefined : heatmap.cellCenter(row);
  },
  dropStream: () => feed.dropStream(),
  watchFrames: () => {
    probe.frameGapMaxMs = 0;
    lastFrameAt = undefined;
    if (!watchingFrames) {
      watchingFrames = true;
      requestAnimationFrame(frameTick);
    }
  },
};

let watchingFrames = false;
let lastFrameAt: number | undefined;
/** The frame monitor: one callback per frame, recording the longest gap between two. */
function frameTick(now: number): void {
  if (lastFrameAt !== undefined) probe.frameGapMaxMs = Math.max(probe.frameGapMaxMs, now - lastFrameAt);
  lastFrameAt = now;
  requestAnimationFrame(frameTick);
}
window.fabricDashboard = probe;

let frameRequested = false;
/** Redraws every panel on the next frame (once, however many updates came in). */
function schedule(): void {
  if (frameRequested) return;
  frameRequested = true;
  requestAnimationFrame(render);
}

function render(): void {
  frameRequested = false;
  // The canvas first: drawn before any DOM write of this frame, so nothing forces a layout in between.
  probe.heatmapMs = heatmap.draw();
  summary.update(model);
  table.refresh();
  detail.extend();
  probe.version = model.version;
  probe.switches = model.ids.length;
  probe.renders++;
  if (probe.firstDataMs === undefined && model.ids.length > 0) probe.firstDataMs = performance.now();
}

/** Fills the heatmap's metric choice from the metrics the fabric has (utilization first if present). */
function updateMetricChoice(names: readonly string[]): void {
  if (names.join('\0') === metricNames.join('\0') || names.length === 0) return;
  metricNames = names;
  const current = heatmap.colouredBy;
  metricSelect.replaceChildren(
    ...names.map((name) => {
      const option = document.createElement('option');
      option.value = name;
      option.textContent = name;
      return option;
    }),
  );
  const chosen = names.includes(current) ? current : names.includes(UTILIZATION) ? UTILIZATION : names[0]!;
  metricSelect.value = chosen;
  heatmap.setMetric(chosen);
}

const feed = new LiveFeed({
  snapshot(whole) {
    const started = performance.now();
    model.replaceWhole(whole, metricNames.length > 0 ? metricNames : undefined);
    probe.snapshotMs = performance.now() - started;
    updateMetricChoice(model.metrics);
    schedule();
  },
  changes(changes, receivedAt, parseMs) {
    const started = performance.now();
    model.applyChanges(changes);
    const applied = performance.now();
    probe.changesMs = applied - started;
    probe.changesParseMs = parseMs;
    probe.changesHandledMs = applied - receivedAt;
    updateMetricChoice(model.metrics);
    schedule();
  },
  layout: () => model.ids,
  status(status: StatusView) {
    summary.setStatus(status);
    updateMetricChoice(status.metricNames);
  },
  health(problem) {
    summary.setHealth(problem);
  },
  mode(mode, streamProblem) {
    probe.mode = mode;
    summary.setMode(mode, streamProblem);
  },
}, new URLSearchParams(location.search).get('parse') !== 'main');
feed.start();
// The top-N lists after the first data, so their requests do not queue ahead of it.
setTimeout(() => void top.refresh(), 500);
window.addEventListener('resize', schedule);
