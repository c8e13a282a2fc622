/**
 * The switch table: every switch, virtualized (a fixed pool of row elements moved over a tall
 * spacer, so 100,000 switches cost as many DOM nodes as fit on screen), sortable by any column
 * (click a header; again to reverse), filterable by id (case-insensitive substring). Down links
 * mark the row, latency spikes the cell. Every cell is set with textContent.
 *
 * Sorting by id keeps the snapshot order (sw1, sw2, … sw10 as the generator wrote them), which is
 * what an operator expects of these ids and costs no string comparisons; other columns sort
 * numerically, absent values last, ties in snapshot order.
 */
import { formatCount, formatValue } from './format.js';
import { LATENCY, type FabricModel } from './model.js';

/** Row height in CSS px; the stylesheet's `.trow` height must match. */
export const ROW_HEIGHT = 24;
const ID_COLUMN = 'switch_id';

/** The table panel. */
export class SwitchTable {
  private sortColumn = ID_COLUMN;
  private descending = false;
  private filter = '';
  private order: Uint32Array = new Uint32Array(0);
  private orderRevision = -1;
  private columns: string[] = [];
  private readonly pool: HTMLElement[] = [];
  private scheduled = false;

  constructor(
    private readonly head: HTMLElement,
    private readonly scroller: HTMLElement,
    private readonly spacer: HTMLElement,
    private readonly count: HTMLElement,
    filterInput: HTMLInputElement,
    private readonly model: FabricModel,
    private readonly onSelect: (id: string) => void,
  ) {
    filterInput.addEventListener('input', () => {
      this.filter = filterInput.value.trim().toLowerCase();
      this.orderRevision = -1;
      this.refresh();
    });
    scroller.addEventListener('scroll', () => this.schedule(), { passive: true });
    spacer.addEventListener('click', (e) => {
      const row = (e.target as Element | null)?.closest('.trow');
      const id = row?.getAttribute('data-id');
      if (id !== null && id !== undefined) this.onSelect(id);
    });
  }

  /** Sorts by `column` (ascending first, then toggling). */
  sortBy(column: string): void {
    if (this.sortColumn === column) this.descending = !this.descending;
    else {
      this.sortColumn = column;
      this.descending = column !== ID_COLUMN;
    }
    this.orderRevision = -1;
    this.refresh();
  }

  /** Recomputes the order if the data, the sort or the filter changed, then redraws visible rows. */
  refresh(): void {
    const { model } = this;
    const columns = [ID_COLUMN, ...model.metrics];
    if (columns.join('\0') !== this.columns.join('\0')) {
      this.columns = columns;
      this.buildHead();
      for (const row of this.pool) row.remove();
      this.pool.length = 0;
    }
    if (this.orderRevision !== model.revision) {
      this.order = this.computeOrder();
      this.orderRevision = model.revision;
      this.spacer.style.height = `${this.order.length * ROW_HEIGHT}px`;
      this.count.textContent = this.filter === '' ? `${formatCount(this.order.length)} switches` : `${formatCount(this.order.length)} of ${formatCount(model.ids.length)} switches match`;
    }
    this.renderRows();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    requestAnimationFrame(() => {
      this.scheduled = false;
      this.renderRows();
    });
  }

  private buildHead(): void {
    this.head.replaceChildren();
    const template = `minmax(9em, 1.4fr) repeat(${this.columns.length - 1}, minmax(6em, 1fr))`;
    this.head.style.gridTemplateColumns = template;
    this.spacer.style.setProperty('--cols', template);
    for (const column of this.columns) {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'th';
      button.setAttribute('data-column', column);
      button.addEventListener('click', () => this.sortBy(column));
      this.head.append(button);
    }
    this.updateHeadLabels();
  }

  private updateHeadLabels(): void {
    for (const button of this.head.querySelectorAll<HTMLButtonElement>('button.th')) {
      const column = button.getAttribute('data-column') ?? '';
      const active = column === this.sortColumn;
      button.textContent = active ? `${column} ${this.descending ? '▼' : '▲'}` : column;
      button.setAttribute('aria-sort', active ? (this.descending ? 'descending' : 'ascending') : 'none');
    }
  }

  private computeOrder(): Uint32Array {
    const { model, filter } = this;
    const n = model.ids.length;
    const rows: number[] = [];
    for (let row = 0; row < n; row++) if (filter === '' || model.ids[row]!.toLowerCase().includes(filter)) rows.push(row);
    const column = this.sortColumn === ID_COLUMN ? undefined : model.columns.get(this.sortColumn);
    const sign = this.descending ? -1 : 1;
    if (column !== undefined) {
      rows.sort((a, b) => {
        const x = column[a]!;
        const y = column[b]!;
        if (x !== x) return y !== y ? a - b : 1;
        if (y !== y) return -1;
        return x === y ? a - b : (x - y) * sign;
      });
    } else if (this.descending) rows.reverse();
    this.updateHeadLabels();
    return Uint32Array.from(rows);
  }

  private renderRows(): void {
    const { model, order, scroller } = this;
    const visible = Math.ceil(scroller.clientHeight / ROW_HEIGHT) + 2;
    while (this.pool.length < visible) {
      const row = document.createElement('div');
      row.className = 'trow';
      for (let c = 0; c < this.columns.length; c++) row.append(document.createElement('span'));
      this.spacer.append(row);
      this.pool.push(row);
    }
    const first = Math.max(0, Math.floor(scroller.scrollTop / ROW_HEIGHT) - 1);
    for (let i = 0; i < this.pool.length; i++) {
      const el = this.pool[i]!;
      const at = first + i;
      if (at >= order.length) {
        el.hidden = true;
        continue;
      }
      const row = order[at]!;
      el.hidden = false;
      el.style.transform = `translateY(${at * ROW_HEIGHT}px)`;
      el.setAttribute('data-id', model.ids[row]!);
      el.classList.toggle('down', model.isDown(row));
      const cells = el.children;
      cells[0]!.textContent = model.ids[row]!;
      for (let c = 1; c < this.columns.length; c++) {
        const metric = this.columns[c]!;
        const cell = cells[c]!;
        cell.textContent = formatValue(model.value(metric, row));
        cell.classList.toggle('spike', metric === LATENCY && model.isSpike(row));
      }
    }
  }
}
