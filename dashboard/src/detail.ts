/**
 * The switch detail: the switch's current values and one uPlot time-series chart per metric, from
 * GetHistory over the chosen window, extended live with every new snapshot (stream or poll). On a
 * server without history (GetHistory answers 404 "no such endpoint") the charts start empty, say so,
 * and still grow from the moment the detail was opened. uPlot is loaded on the first open (its own
 * chunk), so the page's first data does not wait for a chart library it may never use.
 */
import type uPlot from 'uplot';
import { endpointMissing, fetchHistory, type HistoryPoint } from './api.js';
import { formatValue } from './format.js';
import type { FabricModel } from './model.js';

/** A gap longer than this many typical sample intervals is drawn as a gap (a failed poll), not a line. */
const GAP_FACTOR = 2.5;
/** Points kept per chart while live: a day of 10 s samples. */
const MAX_POINTS = 8640;

/** One chart and its data. */
interface Chart {
  readonly metric: string;
  readonly plot: uPlot;
  readonly t: number[];
  readonly v: (number | null)[];
}

/** The detail panel. */
export class SwitchDetail {
  private switchId: string | undefined;
  private charts: Chart[] = [];
  /** Bumped on every open, so a slow history answer for a switch closed since is dropped. */
  private generation = 0;
  /** The history state of the last open: `ok`, `missing` (endpoint absent) or an error text. */
  historyState = 'none';

  constructor(
    private readonly panel: HTMLElement,
    private readonly elements: { readonly title: HTMLElement; readonly note: HTMLElement; readonly values: HTMLElement; readonly charts: HTMLElement; readonly window: HTMLSelectElement },
    private readonly model: FabricModel,
  ) {
    elements.window.addEventListener('change', () => {
      if (this.switchId !== undefined) void this.open(this.switchId);
    });
  }

  /** The switch shown, if any. */
  get current(): string | undefined {
    return this.switchId;
  }

  /** Shows `id`: its values now, and charts from history. */
  async open(id: string): Promise<void> {
    const generation = ++this.generation;
    this.destroyCharts();
    this.switchId = id;
    this.panel.hidden = false;
    this.elements.title.textContent = id;
    this.elements.note.textContent = 'loading history…';
    this.historyState = 'loading';
    this.updateValues();
    const metrics = [...this.model.metrics];
    const width = Math.max(240, this.elements.charts.clientWidth - 8);
    const since = `-${this.elements.window.value}`;
    const history = Promise.allSettled(metrics.map((metric) => fetchHistory(id, metric, since)));
    const { default: UPlot } = await import('uplot');
    if (generation !== this.generation) return;
    this.charts = metrics.map((metric) => {
      const box = document.createElement('div');
      box.className = 'chart';
      this.elements.charts.append(box);
      const plot = new UPlot(
        {
          width,
          height: 110,
          title: metric,
          legend: { show: false },
          cursor: { drag: { x: false, y: false } },
          scales: { x: { time: true } },
          series: [{}, { label: metric, stroke: '#4aa3df', width: 1.5, spanGaps: false, points: { show: false } }],
          axes: [
            { stroke: '#aab', grid: { stroke: '#2a3140' } },
            { stroke: '#aab', grid: { stroke: '#2a3140' }, size: 56 },
          ],
        },
        [[], []],
        box,
      );
      return { metric, plot, t: [], v: [] };
    });
    const results = await history;
    if (generation !== this.generation) return;
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure !== undefined) {
      this.historyState = endpointMissing(failure.reason) ? 'missing' : String(failure.reason);
      this.elements.note.textContent = endpointMissing(failure.reason)
        ? 'history not available on this server: the charts show live values from now on'
        : `history could not be read (${failure.reason instanceof Error ? failure.reason.message : String(failure.reason)}); the charts show live values from now on`;
    } else {
      this.historyState = 'ok';
      this.elements.note.textContent = `last ${this.elements.window.value}, extended live`;
    }
    results.forEach((result, i) => {
      const chart = this.charts[i];
      if (chart === undefined || result.status !== 'fulfilled') return;
      this.load(chart, result.value);
    });
    this.extend();
  }

  /** Hides the panel and frees its charts. */
  close(): void {
    this.generation++;
    this.switchId = undefined;
    this.destroyCharts();
    this.panel.hidden = true;
  }

  /** Adds the model's current snapshot to the charts (once per snapshot timestamp) and refreshes the values. */
  extend(): void {
    const id = this.switchId;
    if (id === undefined) return;
    this.updateValues();
    const row = this.model.index.get(id);
    const ts = this.model.timestamp;
    if (row === undefined || ts === 0) return;
    for (const chart of this.charts) {
      const last = chart.t[chart.t.length - 1];
      if (last !== undefined && ts <= last) continue;
      const v = this.model.value(chart.metric, row);
      this.push(chart, ts, Number.isFinite(v) ? v : null);
      if (chart.t.length > MAX_POINTS) {
        chart.t.splice(0, chart.t.length - MAX_POINTS);
        chart.v.splice(0, chart.v.length - MAX_POINTS);
      }
      chart.plot.setData([chart.t, chart.v]);
    }
  }

  private load(chart: Chart, points: readonly HistoryPoint[]): void {
    chart.t.length = 0;
    chart.v.length = 0;
    for (const p of points) this.push(chart, p.t, p.v);
    chart.plot.setData([chart.t, chart.v]);
  }

  /** Appends a point, with a null first where the gap since the last one is a missed sample. */
  private push(chart: Chart, t: number, v: number | null): void {
    const n = chart.t.length;
    if (n >= 2) {
      const typical = chart.t[n - 1]! - chart.t[n - 2]!;
      if (typical > 0 && t - chart.t[n - 1]! > typical * GAP_FACTOR) {
        chart.t.push(chart.t[n - 1]! + typical);
        chart.v.push(null);
      }
    }
    chart.t.push(t);
    chart.v.push(v);
  }

  private updateValues(): void {
    const id = this.switchId;
    if (id === undefined) return;
    const row = this.model.index.get(id);
    const list = this.elements.values;
    list.replaceChildren();
    if (row === undefined) {
      list.textContent = 'not in the current snapshot';
      return;
    }
    for (const metric of this.model.metrics) {
      const dt = document.createElement('dt');
      dt.textContent = metric;
      const dd = document.createElement('dd');
      dd.textContent = formatValue(this.model.value(metric, row));
      list.append(dt, dd);
    }
    this.panel.classList.toggle('down', this.model.isDown(row));
  }

  private destroyCharts(): void {
    for (const chart of this.charts) chart.plot.destroy();
    this.charts = [];
    this.elements.charts.replaceChildren();
  }
}
