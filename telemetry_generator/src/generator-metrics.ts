/**
 * The generator's own metrics on its `/metrics`: tick duration (step + render), switches, links
 * down, the current tick and body size, plus prom-client's process and runtime metrics.
 */
import { Counter, Gauge, Histogram } from 'prom-client';
import { createRegistries, liveGauge, registerBuildInfo, registerInBoth, type ExpositionRegistries } from '../../common/metrics-endpoint.js';
import type { CountersProvider, TickReport } from './feed.js';

/** The generator's own Prometheus metrics. */
export class GeneratorMetrics {
  readonly registries: ExpositionRegistries = createRegistries();
  private readonly tickDuration: Histogram;
  private provider: CountersProvider | undefined;
  private stream: { readonly clientCount: number } | undefined;
  private readonly slowStreamClients: Counter;

  constructor(switchCount: number) {
    registerBuildInfo(this.registries, 'generator');
    this.tickDuration = new Histogram({
      name: 'generator_tick_duration_seconds',
      help: 'Time to step the simulation and render the CSV for one tick.',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [],
    });
    registerInBoth(this.registries, this.tickDuration);
    const switches = new Gauge({ name: 'generator_switches', help: 'Simulated switches.', registers: [] });
    switches.set(switchCount);
    registerInBoth(this.registries, switches);
    const current = (): ReturnType<CountersProvider['current']> | undefined => this.provider?.current();
    liveGauge(this.registries, 'generator_links_down', 'Switches whose link is down in the current tick.', () => current()?.linksDown);
    liveGauge(this.registries, 'generator_tick', 'The current tick number (0 at start, +1 per update interval).', () => current()?.tick);
    liveGauge(this.registries, 'generator_counters_body_bytes', 'Size of the /counters body of the current tick.', () => current()?.body.length);
    liveGauge(this.registries, 'generator_counters_delta_bytes', 'Size of the current tick\'s delta (header plus changed lines).', () => current()?.delta.length);
    liveGauge(this.registries, 'generator_stream_clients', 'Open /counters/stream connections.', () => this.stream?.clientCount);
    this.slowStreamClients = new Counter({
      name: 'generator_stream_slow_clients_dropped_total',
      help: 'Stream clients disconnected because their unsent data passed stream.max_buffered_bytes.',
      registers: [],
    });
    registerInBoth(this.registries, this.slowStreamClients);
  }

  /** The stream whose clients the gauge counts. */
  attachStream(stream: { readonly clientCount: number }): void {
    this.stream = stream;
  }

  /** Pass as the stream's `onSlowClientDropped`. */
  readonly countSlowStreamClient = (): void => {
    this.slowStreamClients.inc();
  };

  /** The feed whose current tick the gauges read. */
  attach(provider: CountersProvider): void {
    this.provider = provider;
  }

  /** Pass as the feed's `onTick`. */
  readonly observeTick = (report: TickReport): void => {
    this.tickDuration.observe(report.durationMs / 1000);
  };

  close(): void {
    this.registries.text.clear();
    this.registries.openMetrics.clear();
  }
}
