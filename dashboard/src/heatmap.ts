/**
 * The fabric heatmap: one cell per switch on one canvas, in snapshot order, coloured by the chosen
 * metric; no DOM element per switch. Large fabrics are drawn as one pixel per switch into an
 * ImageData (one table lookup each) and scaled up without smoothing; small ones cell by cell with
 * a gap and a cross over each down link. Down links are magenta at every size, a colour the scale
 * never takes. Hover shows the switch and its values (as text); a click selects the switch.
 */
import { DOWN_RGB, MISSING_RGB, SCALE_WORDS, colourDomain, cssRgb, packRgba, scaleRgb } from './colors.js';
import { formatValue } from './format.js';
import { LINK_STATUS, sortedSample, type FabricModel } from './model.js';

const DOWN_WORD = packRgba(DOWN_RGB);
/** The scale as CSS colours, made once: the detailed path sets one per cell. */
const SCALE_CSS = Array.from({ length: 256 }, (_, i) => cssRgb(scaleRgb(i / 255)));
const DOWN_CSS = cssRgb(DOWN_RGB);
const MISSING_CSS = cssRgb(MISSING_RGB);
const MISSING_WORD = packRgba(MISSING_RGB);
/** Cells at least this big (CSS px) are drawn one by one, with a gap and a cross over down links. */
const DETAILED_CELL = 6;
/** Cells never grow past this, so a 4-switch fabric does not become four walls. */
const MAX_CELL = 40;

/** Where the cells lie on the canvas (CSS pixels). */
interface Layout {
  readonly cols: number;
  readonly rows: number;
  readonly cell: number;
}

/** The heatmap panel. */
export class Heatmap {
  private metric: string;
  private layout: Layout = { cols: 1, rows: 1, cell: 1 };
  private readonly pixels = document.createElement('canvas');
  /** Duration of the last redraw, ms (read by the bench and the tests). */
  lastDrawMs = 0;
  private hoverRow = -1;
  /** The canvas's CSS size, kept by a ResizeObserver so a redraw never forces a layout. */
  private size = { width: 1, height: 1 };
  /** The one-pixel-per-switch image, reused while the grid keeps its shape. */
  private image: ImageData | undefined;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly tooltip: HTMLElement,
    private readonly legend: { readonly low: HTMLElement; readonly high: HTMLElement; readonly bar: HTMLCanvasElement },
    private readonly model: FabricModel,
    private readonly onSelect: (id: string) => void,
    metric: string,
  ) {
    this.metric = metric;
    canvas.addEventListener('mousemove', (e) => this.hover(e.offsetX, e.offsetY));
    canvas.addEventListener('mouseleave', () => this.hideTooltip());
    canvas.addEventListener('click', (e) => {
      const row = this.rowAt(e.offsetX, e.offsetY);
      if (row !== -1) this.onSelect(this.model.ids[row]!);
    });
    this.drawLegendBar();
    this.size = { width: Math.max(1, canvas.clientWidth), height: Math.max(1, canvas.clientHeight) };
    new ResizeObserver((entries) => {
      const box = entries[entries.length - 1]?.contentRect;
      if (box !== undefined) this.size = { width: Math.max(1, box.width), height: Math.max(1, box.height) };
    }).observe(canvas);
  }

  /** The metric the cells are coloured by. */
  get colouredBy(): string {
    return this.metric;
  }

  /** Colours by another metric from the next draw on. */
  setMetric(metric: string): void {
    this.metric = metric;
  }

  /** Redraws every cell from the model; returns (and keeps) how long it took. */
  draw(): number {
    const started = performance.now();
    const { model, canvas } = this;
    const n = model.ids.length;
    const { width, height } = this.size;
    const dpr = window.devicePixelRatio || 1;
    if (canvas.width !== Math.round(width * dpr) || canvas.height !== Math.round(height * dpr)) {
      canvas.width = Math.round(width * dpr);
      canvas.height = Math.round(height * dpr);
    }
    const ctx = canvas.getContext('2d', { alpha: false });
    if (ctx === null) return 0;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = '#11151c';
    ctx.fillRect(0, 0, width, height);
    this.layout = layoutFor(n, width, height);
    const column = model.columns.get(this.metric);
    const link = model.columns.get(LINK_STATUS);
    const [lo, hi] = colourDomain(this.metric, column === undefined ? new Float64Array(0) : sortedSample(column, link));
    const scale = 255 / (hi - lo);
    const { cols, rows, cell } = this.layout;
    if (cell >= DETAILED_CELL) {
      const gap = 1;
      for (let row = 0; row < n; row++) {
        const x = (row % cols) * cell;
        const y = Math.floor(row / cols) * cell;
        const down = link !== undefined && link[row] === 0;
        const v = column === undefined ? NaN : column[row]!;
        const i = (v - lo) * scale;
        ctx.fillStyle = down ? DOWN_CSS : v !== v ? MISSING_CSS : SCALE_CSS[i <= 0 ? 0 : i >= 255 ? 255 : i | 0]!;
        ctx.fillRect(x, y, cell - gap, cell - gap);
        if (down) {
          ctx.strokeStyle = '#000';
          ctx.lineWidth = Math.max(1, cell / 10);
          ctx.beginPath();
          ctx.moveTo(x + 2, y + 2);
          ctx.lineTo(x + cell - gap - 2, y + cell - gap - 2);
          ctx.moveTo(x + cell - gap - 2, y + 2);
          ctx.lineTo(x + 2, y + cell - gap - 2);
          ctx.stroke();
        }
      }
    } else {
      // One pixel per switch, then one scaled copy: the cost is a lookup per switch, not a draw call.
      if (this.pixels.width !== cols || this.pixels.height !== rows) {
        this.pixels.width = cols;
        this.pixels.height = rows;
      }
      const pctx = this.pixels.getContext('2d')!;
      if (this.image?.width !== cols || this.image.height !== rows) this.image = pctx.createImageData(cols, rows);
      const image = this.image;
      const words = new Uint32Array(image.data.buffer);
      // The cells past the last switch keep the background colour.
      words.fill(0xff1c1511, n);
      for (let row = 0; row < n; row++) {
        const v = column === undefined ? NaN : column[row]!;
        if (link !== undefined && link[row] === 0) words[row] = DOWN_WORD;
        else if (v !== v) words[row] = MISSING_WORD;
        else {
          const i = (v - lo) * scale;
          words[row] = SCALE_WORDS[i <= 0 ? 0 : i >= 255 ? 255 : i | 0]!;
        }
      }
      pctx.putImageData(image, 0, 0);
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(this.pixels, 0, 0, cols * cell, rows * cell);
    }
    this.legend.low.textContent = formatValue(Math.min(lo, hi));
    this.legend.high.textContent = formatValue(Math.max(lo, hi));
    if (this.hoverRow !== -1) this.showTooltip(this.hoverRow);
    this.lastDrawMs = performance.now() - started;
    return this.lastDrawMs;
  }

  /** The centre of a switch's cell, CSS px from the canvas's top left (for tests and the bench). */
  cellCenter(row: number): { x: number; y: number } {
    const { cols, cell } = this.layout;
    return { x: (row % cols) * cell + cell / 2, y: Math.floor(row / cols) * cell + cell / 2 };
  }

  private drawLegendBar(): void {
    const bar = this.legend.bar;
    const ctx = bar.getContext('2d');
    if (ctx === null) return;
    for (let x = 0; x < bar.width; x++) {
      ctx.fillStyle = cssRgb(scaleRgb(x / Math.max(1, bar.width - 1)));
      ctx.fillRect(x, 0, 1, bar.height);
    }
  }

  private rowAt(x: number, y: number): number {
    const { cols, cell } = this.layout;
    const col = Math.floor(x / cell);
    const r = Math.floor(y / cell);
    if (col < 0 || col >= cols || r < 0) return -1;
    const row = r * cols + col;
    return row < this.model.ids.length ? row : -1;
  }

  private hover(x: number, y: number): void {
    const row = this.rowAt(x, y);
    if (row === -1) {
      this.hideTooltip();
      return;
    }
    this.hoverRow = row;
    this.showTooltip(row);
    const { cell, cols } = this.layout;
    const left = (row % cols) * cell + cell + 8;
    const top = Math.floor(row / cols) * cell + cell + 8;
    // Keep the tooltip inside the panel: flip it left of the cursor near the right edge.
    this.tooltip.style.left = `${left + 220 > this.canvas.clientWidth ? Math.max(0, left - 240) : left}px`;
    this.tooltip.style.top = `${top}px`;
  }

  private showTooltip(row: number): void {
    const { model, tooltip } = this;
    const lines = [model.ids[row]!, ...model.metrics.map((m) => `${m}: ${formatValue(model.value(m, row))}`)];
    if (model.isDown(row)) lines.push('LINK DOWN');
    // Text only: an id or a metric name is never parsed as markup.
    tooltip.textContent = lines.join('\n');
    tooltip.hidden = false;
  }

  private hideTooltip(): void {
    this.hoverRow = -1;
    this.tooltip.hidden = true;
  }
}

/** A grid of square cells that fills `width` × `height` as well as `n` allows. */
export function layoutFor(n: number, width: number, height: number): Layout {
  if (n === 0) return { cols: 1, rows: 1, cell: 1 };
  let cols = Math.max(1, Math.ceil(Math.sqrt((n * width) / height)));
  let rows = Math.ceil(n / cols);
  let cell = Math.min(width / cols, height / rows);
  // Whole pixels when there is room for them: crisp edges and equal cells.
  if (cell >= 1) cell = Math.min(MAX_CELL, Math.floor(cell));
  if (cell === MAX_CELL) {
    cols = Math.max(1, Math.min(n, Math.floor(width / cell)));
    rows = Math.ceil(n / cols);
  }
  return { cols, rows, cell };
}
