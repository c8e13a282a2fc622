/**
 * The top-N panel: worst latency (max), highest utilization (avg) and most flaps (changes of
 * link_status) over a selectable window, from `/telemetry/Top`. On a server without history (404
 * "no such endpoint") it says so and asks again only when the window changes or a minute passes,
 * so a later deploy with history lights it up without a reload.
 */
import { endpointMissing, fetchTop, type TopEntry } from './api.js';
import { formatValue } from './format.js';

/** One list of the panel: which ranking it shows. */
export interface TopList {
  readonly metric: string;
  readonly fn: string;
  readonly element: HTMLOListElement;
}

/** How many switches each list shows. */
export const TOP_K = 10;
/** Refresh period while history answers; a minute while it does not. */
const REFRESH_MS = 10_000;
const MISSING_REFRESH_MS = 60_000;

/** The top-N panel. */
export class TopPanel {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private generation = 0;
  /** `ok`, `missing` (no history on the server) or an error text; read by the tests. */
  state = 'loading';

  constructor(
    private readonly lists: readonly TopList[],
    private readonly windowSelect: HTMLSelectElement,
    private readonly note: HTMLElement,
    private readonly onSelect: (id: string) => void,
  ) {
    windowSelect.addEventListener('change', () => void this.refresh());
  }

  /** Fetches the lists now, then again periodically. */
  async refresh(): Promise<void> {
    clearTimeout(this.timer);
    const generation = ++this.generation;
    const window = this.windowSelect.value;
    const results = await Promise.allSettled(this.lists.map((l) => fetchTop(l.metric, l.fn, window, TOP_K)));
    if (generation !== this.generation) return;
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure !== undefined && endpointMissing(failure.reason)) {
      this.state = 'missing';
      this.note.textContent = 'history not available on this server';
      for (const list of this.lists) list.element.replaceChildren();
    } else {
      this.state = failure === undefined ? 'ok' : 'error';
      this.note.textContent = failure === undefined ? `over the last ${window}` : `could not read Top: ${failure.reason instanceof Error ? failure.reason.message : String(failure.reason)}`;
      results.forEach((r, i) => {
        if (r.status === 'fulfilled') this.render(this.lists[i]!.element, r.value);
      });
    }
    this.timer = setTimeout(() => void this.refresh(), this.state === 'missing' ? MISSING_REFRESH_MS : REFRESH_MS);
  }

  private render(element: HTMLOListElement, entries: readonly TopEntry[]): void {
    element.replaceChildren(
      ...entries.map((entry) => {
        const li = document.createElement('li');
        const id = document.createElement('button');
        id.type = 'button';
        id.className = 'link';
        id.textContent = entry.switchId;
        id.addEventListener('click', () => this.onSelect(entry.switchId));
        const value = document.createElement('span');
        value.className = 'value';
        value.textContent = entry.value === null ? '–' : formatValue(entry.value);
        li.append(id, value);
        return li;
      }),
    );
  }
}
