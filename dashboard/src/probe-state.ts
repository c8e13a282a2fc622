/**
 * The serializable part of what the page exposes as `window.fabricDashboard` (main.ts): a module
 * without DOM code, so the Node-side test and bench harness (scripts/dashboard-browser.ts) reads the
 * same definition the page writes.
 */

/** The page's figures and state, as `page.evaluate` returns them. */
export interface ProbeState {
  /** `performance.now()` when the first data was on screen (ms since navigation start). */
  firstDataMs: number | undefined;
  /** Last heatmap redraw, ms. */
  heatmapMs: number;
  /** Last `changes` event applied to the model, ms. */
  changesMs: number;
  /** Last `changes` event from its arrival to the model updated (JSON parse and rows included), ms. */
  changesHandledMs: number;
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
