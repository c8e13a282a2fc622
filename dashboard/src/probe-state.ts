/**
 * The serializable part of what the page exposes as `window.fabricDashboard` (main.ts): a module
 * without DOM code, so the Node-side test and bench harness (scripts/dashboard-browser.ts) reads the
 * same definition the page writes.
 */
/** Where stream events are parsed (event-parser.ts). */
export type ParsePlace = 'worker' | 'main';

/** The page's figures and state, as `page.evaluate` returns them. */
export interface ProbeState {
  /** `performance.now()` when the first data was on screen (ms since navigation start). */
  firstDataMs: number | undefined;
  /** Last heatmap redraw, ms. */
  heatmapMs: number;
  /** Last `changes` event applied to the model on the main thread (parsed columns scattered), ms. */
  changesMs: number;
  /** Last `changes` event's parse into columns (JSON.parse included), ms; in the worker unless `parsePlace` is `main`. */
  changesParseMs: number;
  /** Last `changes` event from its arrival to the model updated (the parse and the worker's round trip included), ms. */
  changesHandledMs: number;
  /** Where stream events are parsed: `worker`, or `main` (no worker, or the page opened with `?parse=main`). */
  readonly parsePlace: ParsePlace;
  /**
   * The longest interval between two animation frames since `watchFrames()` was last called, ms
   * (0 until it is): how long the page's main thread was busy at a stretch, whatever it was doing.
   */
  frameGapMaxMs: number;
  /** Last whole snapshot applied to the model, ms. */
  snapshotMs: number;
  /** Frames rendered (each after new data). */
  renders: number;
  version: number | undefined;
  switches: number;
  /** How the page gets data (live.ts `LiveMode`). */
  mode: string;
  history: string;
  top: string;
}
