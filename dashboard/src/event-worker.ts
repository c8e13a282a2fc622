/**
 * The parse worker: turns ListMetrics bodies and stream events into columns (event-columns.ts)
 * off the page's main thread and hands the typed arrays back by transfer. Messages are answered in
 * the order they came, which keeps the parser's row layout and the model's in step.
 */
import { ColumnParser, transferablesOf, type ParseRequest, type ParseResult } from './event-columns.js';

/** The part of a dedicated worker's global scope used here (the DOM lib types `self` as Window). */
interface WorkerScope {
  addEventListener(type: 'message', listener: (e: MessageEvent<ParseRequest>) => void): void;
  postMessage(message: ParseResult, transfer: Transferable[]): void;
}

const scope = globalThis as unknown as WorkerScope;
const parser = new ColumnParser();
scope.addEventListener('message', (e) => {
  const result = parser.parse(e.data);
  scope.postMessage(result, transferablesOf(result));
});
