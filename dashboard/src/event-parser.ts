/**
 * The main thread's side of parsing: hands each ListMetrics body and stream event to the parse
 * worker (event-worker.ts) and gets columns back, in order. Where a worker cannot run (no `Worker`,
 * the script refused or failing, or the page opened with `?parse=main`, which `npm run bench:ui`
 * uses to measure the difference), the same parser runs on the main thread instead.
 */
import { ColumnParser, type ParseRequest, type ParseResult } from './event-columns.js';
import type { ParsePlace } from './probe-state.js';

export type { ParsePlace };

/** Parses in the worker when it can, on the main thread otherwise; results keep request order. */
export class EventParser {
  private worker: Worker | undefined;
  private local: ColumnParser | undefined;
  /** Requests handed to the worker and not answered yet (parsed here if the worker fails). */
  private readonly pending: ParseRequest[] = [];

  /**
   * `layout` gives the model's ids in row order: a parser taking over from a failed worker starts
   * from it (the worker's own copy of the layout is gone with it).
   */
  constructor(
    private readonly onParsed: (result: ParseResult) => void,
    private readonly layout: () => readonly string[],
    preferWorker: boolean,
  ) {
    if (preferWorker && typeof Worker !== 'undefined') {
      try {
        const worker = new Worker(new URL('./event-worker.ts', import.meta.url), { type: 'module' });
        worker.addEventListener('message', (e: MessageEvent<ParseResult>) => {
          this.pending.shift();
          this.onParsed(e.data);
        });
        worker.addEventListener('error', (e) => {
          e.preventDefault();
          this.fallBack();
        });
        this.worker = worker;
      } catch {
        this.worker = undefined;
      }
    }
  }

  /** Where texts are parsed now. */
  get place(): ParsePlace {
    return this.worker === undefined ? 'main' : 'worker';
  }

  /** Parses one text; its result reaches `onParsed` after every earlier request's. */
  parse(request: ParseRequest): void {
    if (this.worker !== undefined) {
      this.pending.push(request);
      this.worker.postMessage(request);
    } else {
      this.onParsed((this.local ??= new ColumnParser()).parse(request));
    }
  }

  /** The worker failed (refused by a policy, crashed): parse here from now on, starting with what it held. */
  private fallBack(): void {
    this.worker?.terminate();
    this.worker = undefined;
    this.local = new ColumnParser();
    this.local.seed(this.layout());
    for (const request of this.pending.splice(0)) this.onParsed(this.local.parse(request));
  }
}
