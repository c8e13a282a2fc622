/**
 * The simulated fabric. Pure: the state at tick t is a function of (switch count, simulation
 * knobs, seed, t) only: no clock, no I/O, one seeded random stream consumed in a fixed order. The
 * service steps one Simulator forward; `simulate()` replays from scratch, and both give the same
 * values (tests check this).
 *
 * Per switch, each interval:
 * - a link that is down stays down for its drawn number of intervals, reporting 0 everywhere;
 * - an up link goes down with `linkDownProbability`; when it comes back its traffic ramps up again
 *   from zero;
 * - utilization follows a discrete Ornstein-Uhlenbeck walk toward the switch's own mean, so
 *   consecutive values are correlated, as real traffic is;
 * - bandwidth = utilization x capacity, and utilization_percent is recomputed from the rounded
 *   bandwidth, so the two always agree in the published numbers;
 * - latency and queue depth follow M/M/1 queue shapes, base/(1-rho) and rho^2/(1-rho), so they stay
 *   flat at low load and climb steeply near saturation; latency has rare spikes;
 * - packet errors are 0 except during bursts, which last several intervals.
 *
 * State lives in typed arrays so 100,000+ switches step in a few milliseconds.
 */
import { METRICS, roundToFormat } from '../../common/telemetry-schema.js';
import type { SimulationConfig } from './config.js';
import { Prng } from './prng.js';
import type { CsvSource } from './csv-writer.js';

/** What a fabric simulation is made of. */
export interface SimulatorOptions {
  readonly switchCount: number;
  readonly simulation: SimulationConfig;
  readonly seed: number;
}

/** The published values of one tick, already rounded to the schema's formats. */
export interface SimulationState extends CsvSource {
  readonly switchCount: number;
  /** 0 for the first published state, +1 per step. */
  readonly tick: number;
  /** Each switch's link speed in Mb/s; fixed for the whole run. */
  readonly capacityMbps: Int32Array;
  readonly columns: Readonly<{
    bandwidth_mbps: Int32Array;
    latency_ms: Float64Array;
    packet_errors: Int32Array;
    link_status: Uint8Array;
    tx_queue_depth: Int32Array;
    utilization_percent: Float64Array;
  }>;
}

/** Utilization at which the queueing curves are capped, so latency stays finite at full load. */
const MAX_QUEUEING_RHO = 0.98;
/** tx_queue_depth = (max / QUEUE_SCALE_DIVISOR) x rho^2/(1-rho): ~200 packets at rho 0.5 for 4096. */
const QUEUE_SCALE_DIVISOR = 20;
/** Smallest latency an up link reports: 0 is reserved for a down link. */
const MIN_LATENCY_MS = 0.01;

const LATENCY_FORMAT = METRICS.latency_ms.format;
const UTILIZATION_FORMAT = METRICS.utilization_percent.format;

/** The simulated fabric: steps every switch one tick at a time, from a seed. */
export class Simulator {
  private readonly count: number;
  private readonly sim: SimulationConfig;
  private readonly prng: Prng;
  private tickNumber = -1;

  private readonly capacity: Int32Array;
  private readonly meanUtilization: Float64Array;
  /** The true (unrounded) utilization, 0..1, that the walk moves. */
  private readonly utilization: Float64Array;
  /** Intervals a down link still stays down after this one; 0 when up. */
  private readonly downLeft: Int32Array;
  private readonly linkDown: Uint8Array;
  /** Intervals left in the current error burst, and its intensity in errors per interval. */
  private readonly burstLeft: Int32Array;
  private readonly burstIntensity: Float64Array;

  private readonly bandwidth: Int32Array;
  private readonly latency: Float64Array;
  private readonly errors: Int32Array;
  private readonly linkStatus: Uint8Array;
  private readonly queueDepth: Int32Array;
  private readonly utilizationPercent: Float64Array;

  constructor(options: SimulatorOptions) {
    const n = options.switchCount;
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`switchCount must be a positive integer (got ${n})`);
    this.count = n;
    this.sim = options.simulation;
    this.prng = new Prng(options.seed);

    this.capacity = new Int32Array(n);
    this.meanUtilization = new Float64Array(n);
    this.utilization = new Float64Array(n);
    this.downLeft = new Int32Array(n);
    this.linkDown = new Uint8Array(n);
    this.burstLeft = new Int32Array(n);
    this.burstIntensity = new Float64Array(n);
    this.bandwidth = new Int32Array(n);
    this.latency = new Float64Array(n);
    this.errors = new Int32Array(n);
    this.linkStatus = new Uint8Array(n);
    this.queueDepth = new Int32Array(n);
    this.utilizationPercent = new Float64Array(n);

    const { linkCapacitiesMbps: speeds, meanUtilizationMin: lo, meanUtilizationMax: hi, meanReversion, volatility } = this.sim;
    // Start each walk from its stationary distribution, so tick 0 already looks like steady state.
    const decay = 1 - meanReversion;
    const stationarySd = meanReversion >= 1 ? volatility : volatility / Math.sqrt(1 - decay * decay);
    for (let i = 0; i < n; i++) {
      this.capacity[i] = speeds[this.prng.int(0, speeds.length - 1)]!;
      const mean = lo + (hi - lo) * this.prng.next();
      this.meanUtilization[i] = mean;
      this.utilization[i] = clamp01(mean + stationarySd * this.prng.normal());
    }
    this.step();
  }

  get tick(): number {
    return this.tickNumber;
  }

  /** The current tick's values. A live view: the arrays change on the next `step()`. */
  get state(): SimulationState {
    return {
      switchCount: this.count,
      tick: this.tickNumber,
      capacityMbps: this.capacity,
      columns: {
        bandwidth_mbps: this.bandwidth,
        latency_ms: this.latency,
        packet_errors: this.errors,
        link_status: this.linkStatus,
        tx_queue_depth: this.queueDepth,
        utilization_percent: this.utilizationPercent,
      },
    };
  }

  /** Advances every switch by one interval. */
  step(): void {
    const s = this.sim;
    const prng = this.prng;
    const theta = s.meanReversion;
    const sigma = s.volatility;
    const queueScale = s.txQueueMaxPackets / QUEUE_SCALE_DIVISOR;
    for (let i = 0; i < this.count; i++) {
      if (this.linkDown[i] === 1) {
        if (this.downLeft[i]! > 0) {
          this.downLeft[i]!--;
          continue; // still down: the published zeros from when it went down stand
        }
        this.linkDown[i] = 0;
      } else if (prng.next() < s.linkDownProbability) {
        this.linkDown[i] = 1;
        this.downLeft[i] = prng.int(s.linkDownMinIntervals, s.linkDownMaxIntervals) - 1;
        // Traffic restarts from nothing when the link returns; an error burst does not outlive it.
        this.utilization[i] = 0;
        this.burstLeft[i] = 0;
        this.publishDown(i);
        continue;
      }

      const capacity = this.capacity[i]!;
      const u = clamp01(this.utilization[i]! + theta * (this.meanUtilization[i]! - this.utilization[i]!) + sigma * prng.normal());
      this.utilization[i] = u;
      const bandwidth = Math.round(u * capacity);
      const rho = Math.min(bandwidth / capacity, MAX_QUEUEING_RHO);
      // One jitter for both: latency and queue depth are two views of the same queue.
      const jitter = 0.9 + 0.2 * prng.next();

      let latency = (s.baseLatencyMs / (1 - rho)) * jitter;
      const spike = prng.next() < s.latencySpikeProbability;
      if (spike) latency *= s.latencySpikeFactor * (0.75 + 0.5 * prng.next());

      let errors = 0;
      if (this.burstLeft[i]! === 0 && prng.next() < s.errorBurstProbability) {
        this.burstLeft[i] = prng.int(s.errorBurstMinIntervals, s.errorBurstMaxIntervals);
        this.burstIntensity[i] = 1 + (s.errorBurstMaxErrors - 1) * prng.next();
      }
      if (this.burstLeft[i]! > 0) {
        this.burstLeft[i]!--;
        errors = Math.min(s.errorBurstMaxErrors, Math.max(1, Math.round(this.burstIntensity[i]! * (0.5 + prng.next()))));
      }

      this.linkStatus[i] = 1;
      this.bandwidth[i] = bandwidth;
      this.utilizationPercent[i] = roundToFormat((bandwidth / capacity) * 100, UTILIZATION_FORMAT);
      this.latency[i] = Math.max(MIN_LATENCY_MS, roundToFormat(latency, LATENCY_FORMAT));
      this.queueDepth[i] = Math.min(s.txQueueMaxPackets, Math.round(((queueScale * rho * rho) / (1 - rho)) * jitter));
      this.errors[i] = errors;
    }
    this.tickNumber++;
  }

  private publishDown(i: number): void {
    this.linkStatus[i] = 0;
    this.bandwidth[i] = 0;
    this.utilizationPercent[i] = 0;
    this.latency[i] = 0;
    this.queueDepth[i] = 0;
    this.errors[i] = 0;
  }
}

/** The state at `tick`, computed from scratch: the definition the running service must match. */
export function simulate(options: SimulatorOptions, tick: number): SimulationState {
  if (!Number.isInteger(tick) || tick < 0) throw new RangeError(`tick must be a non-negative integer (got ${tick})`);
  const simulator = new Simulator(options);
  while (simulator.tick < tick) simulator.step();
  return simulator.state;
}

function clamp01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : x;
}
