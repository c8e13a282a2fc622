/**
 * The fabric summary and the banners: switch count, links down, total bandwidth, worst latency,
 * snapshot version and age, ingestion mode and health; a stale banner while readiness fails or the
 * server cannot be reached, and a stream banner while the live stream is lost. Text only.
 */
import type { StatusView } from './api.js';
import { formatAge, formatBandwidth, formatCount, formatValue } from './format.js';
import type { FabricModel } from './model.js';

/** The summary's value elements, by what they show. */
export interface SummaryElements {
  readonly switches: HTMLElement;
  readonly down: HTMLElement;
  readonly bandwidth: HTMLElement;
  readonly latency: HTMLElement;
  readonly version: HTMLElement;
  readonly age: HTMLElement;
  readonly ingestion: HTMLElement;
  readonly live: HTMLElement;
  readonly staleBanner: HTMLElement;
  readonly streamBanner: HTMLElement;
}

/** The summary panel. */
export class Summary {
  private status: StatusView | undefined;
  private statusAt = 0;

  constructor(private readonly el: SummaryElements) {
    // The age moves every second even when nothing else does.
    setInterval(() => this.updateAge(), 1000);
  }

  /** Recomputes the fabric numbers from the model. */
  update(model: FabricModel): void {
    const s = model.summary();
    this.el.switches.textContent = formatCount(s.switches);
    this.el.down.textContent = formatCount(s.linksDown);
    this.el.down.classList.toggle('bad', s.linksDown > 0);
    this.el.bandwidth.textContent = s.totalBandwidthMbps === undefined ? '–' : formatBandwidth(s.totalBandwidthMbps);
    this.el.latency.textContent = s.worstLatency === undefined ? '–' : `${formatValue(s.worstLatency.value)} ms (${s.worstLatency.id})`;
    this.el.version.textContent = model.version === undefined ? '–' : `v${model.version}`;
  }

  /** Takes a new Status answer (age, ingestion health). */
  setStatus(status: StatusView): void {
    this.status = status;
    this.statusAt = performance.now();
    const failing = status.consecutiveFailures > 0;
    const parts = [`${status.mode}`, status.lastOutcome === undefined ? 'no poll yet' : `last poll ${status.lastOutcome}`];
    if (status.streamConnected !== undefined) parts.push(status.streamConnected ? 'upstream stream connected' : 'upstream stream down');
    if (failing) parts.push(`${status.consecutiveFailures} failures in a row${status.lastError === undefined ? '' : `: ${status.lastError}`}`);
    this.el.ingestion.textContent = parts.join(', ');
    this.el.ingestion.classList.toggle('bad', failing);
    this.updateAge();
  }

  /** Shows or clears the stale banner. */
  setHealth(problem: string | undefined): void {
    this.el.staleBanner.hidden = problem === undefined;
    this.el.staleBanner.textContent = problem === undefined ? '' : `Data may be stale: ${problem}`;
  }

  /** Shows the live mode, and the stream banner when the stream is lost. */
  setMode(mode: string, streamProblem: string | undefined): void {
    this.el.live.textContent = mode === 'stream' ? 'live (stream)' : mode === 'polling' ? 'polling' : 'connecting…';
    this.el.live.setAttribute('data-mode', mode);
    this.el.streamBanner.hidden = streamProblem === undefined;
    this.el.streamBanner.textContent = streamProblem ?? '';
  }

  private updateAge(): void {
    const age = this.status?.ageSeconds;
    this.el.age.textContent = age === undefined ? '–' : formatAge(age + (performance.now() - this.statusAt) / 1000);
  }
}
