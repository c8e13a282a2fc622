import { createHash } from 'node:crypto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { METRICS, METRIC_NAMES, roundToFormat } from '../../common/telemetry-schema.js';
import { DEFAULT_SIMULATION, type SimulationConfig } from '../src/config.js';
import { renderCsv, renderCsvText } from '../src/csv-writer.js';
import { Simulator, simulate, type SimulationState } from '../src/simulator.js';

/**
 * Event probabilities from realistic grids, not `fc.double` over [0, 1]: fast-check biases doubles
 * toward small values, so a link went down in only a few runs out of ten and the link-down invariant
 * (all zeros, packet_errors included) was checked in 14 of 16 runs of the planted bug. On these grids
 * most runs see outages, bursts and spikes (the first property asserts it), and the edges 0 and 1
 * still come up.
 */
const linkDownGrid = fc.constantFrom(0, 0.01, 0.05, 0.1, 0.2, 0.5);
const eventGrid = fc.constantFrom(0, 0.01, 0.05, 0.1, 0.3, 0.6, 1);

/** Knobs over their whole valid ranges, with the event probabilities on the grids above. */
const simulationArb: fc.Arbitrary<SimulationConfig> = fc
  .record({
    linkCapacitiesMbps: fc.array(fc.integer({ min: 1, max: 1_600_000 }), { minLength: 1, maxLength: 5 }),
    meanA: fc.double({ min: 0, max: 1, noNaN: true }),
    meanB: fc.double({ min: 0, max: 1, noNaN: true }),
    meanReversion: fc.double({ min: 0.001, max: 1, noNaN: true }),
    volatility: fc.double({ min: 0, max: 1, noNaN: true }),
    baseLatencyMs: fc.double({ min: 0.001, max: 10_000, noNaN: true }),
    latencySpikeProbability: eventGrid,
    latencySpikeFactor: fc.double({ min: 1, max: 1000, noNaN: true }),
    txQueueMaxPackets: fc.integer({ min: 1, max: 1_000_000_000 }),
    errorBurstProbability: eventGrid,
    burstA: fc.integer({ min: 1, max: 8 }),
    burstB: fc.integer({ min: 1, max: 8 }),
    errorBurstMaxErrors: fc.integer({ min: 1, max: 1_000_000_000 }),
    linkDownProbability: linkDownGrid,
    downA: fc.integer({ min: 1, max: 8 }),
    downB: fc.integer({ min: 1, max: 8 }),
  })
  .map(({ meanA, meanB, burstA, burstB, downA, downB, ...rest }) => ({
    ...rest,
    meanUtilizationMin: Math.min(meanA, meanB),
    meanUtilizationMax: Math.max(meanA, meanB),
    errorBurstMinIntervals: Math.min(burstA, burstB),
    errorBurstMaxIntervals: Math.max(burstA, burstB),
    linkDownMinIntervals: Math.min(downA, downB),
    linkDownMaxIntervals: Math.max(downA, downB),
  }));

const seedArb = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });

/** Every invariant a published tick must satisfy, whatever the seed and knobs. */
function checkInvariants(state: SimulationState, sim: SimulationConfig): void {
  const c = state.columns;
  const maxLatency = (sim.baseLatencyMs / (1 - 0.98)) * 1.1 * sim.latencySpikeFactor * 1.25 + 0.01;
  for (let i = 0; i < state.switchCount; i++) {
    const where = `sw${i + 1} at tick ${state.tick}`;
    const capacity = state.capacityMbps[i]!;
    assert.ok(sim.linkCapacitiesMbps.includes(capacity), `${where}: capacity ${capacity}`);
    const up = c.link_status[i]!;
    assert.ok(up === 0 || up === 1, `${where}: link_status ${up}`);
    if (up === 0) {
      for (const metric of METRIC_NAMES) assert.equal(state.columns[metric][i], 0, `${where}: link down but ${metric} is ${state.columns[metric][i]}`);
      continue;
    }
    const bw = c.bandwidth_mbps[i]!;
    assert.ok(Number.isInteger(bw) && bw >= 0 && bw <= capacity, `${where}: bandwidth ${bw} of ${capacity}`);
    const util = c.utilization_percent[i]!;
    assert.equal(util, roundToFormat((bw / capacity) * 100, METRICS.utilization_percent.format), `${where}: utilization ${util} vs ${bw}/${capacity}`);
    assert.ok(util >= 0 && util <= 100 && Math.abs(util - (bw / capacity) * 100) <= 0.05 + 1e-9, `${where}: utilization ${util}`);
    const latency = c.latency_ms[i]!;
    assert.ok(latency >= 0.01 && latency <= maxLatency, `${where}: latency ${latency}`);
    assert.equal(roundToFormat(latency, METRICS.latency_ms.format), latency, `${where}: latency ${latency} not at 2 decimals`);
    const queue = c.tx_queue_depth[i]!;
    assert.ok(Number.isInteger(queue) && queue >= 0 && queue <= sim.txQueueMaxPackets, `${where}: queue ${queue}`);
    const errors = c.packet_errors[i]!;
    assert.ok(Number.isInteger(errors) && errors >= 0 && errors <= sim.errorBurstMaxErrors, `${where}: errors ${errors}`);
  }
}

test('property: every tick satisfies the invariants (link down => all zero, ranges, utilization = bandwidth/capacity)', () => {
  // Planted bug this catches: publishDown() not zeroing packet_errors, so a link that goes down during
  // an error burst reports the burst's last count. Needs a burst and an outage in the same run: the
  // grids make that most runs, and the count below keeps the grids honest.
  let runs = 0;
  let burstThenDown = 0;
  fc.assert(
    fc.property(seedArb, simulationArb, fc.integer({ min: 1, max: 60 }), fc.integer({ min: 1, max: 40 }), (seed, simulation, switchCount, ticks) => {
      runs += 1;
      let seen = false;
      const simulator = new Simulator({ seed, simulation, switchCount });
      checkInvariants(simulator.state, simulation);
      const prevErrors = Int32Array.from(simulator.state.columns.packet_errors);
      for (let t = 0; t < ticks; t++) {
        simulator.step();
        const state = simulator.state;
        checkInvariants(state, simulation);
        for (let i = 0; i < switchCount; i++) {
          if (state.columns.link_status[i] === 0 && prevErrors[i]! > 0) seen = true;
          prevErrors[i] = state.columns.packet_errors[i]!;
        }
      }
      if (seen) burstThenDown += 1;
    }),
    { numRuns: 150 },
  );
  // Measured at about half the runs (70-92 of 150); a quarter would still be ~37 chances per suite run.
  assert.ok(burstThenDown >= runs / 4, `a link went down mid-burst in only ${burstThenDown} of ${runs} runs`);
});

test('property: integer columns are written as integers and decimals with at most their places', () => {
  const patterns: Record<string, RegExp> = {};
  for (const m of METRIC_NAMES) {
    const f = METRICS[m].format;
    patterns[m] = f.kind === 'integer' ? /^(0|[1-9]\d*)$/ : new RegExp(`^(0|[1-9]\\d*)(\\.\\d{0,${f.decimals - 1}}[1-9])?$`);
  }
  fc.assert(
    fc.property(seedArb, simulationArb, fc.integer({ min: 1, max: 50 }), fc.integer({ min: 0, max: 20 }), (seed, simulation, switchCount, tick) => {
      const lines = renderCsvText(simulate({ seed, simulation, switchCount }, tick), METRIC_NAMES).trimEnd().split('\n');
      assert.equal(lines.length, switchCount + 1);
      for (const line of lines.slice(1)) {
        const cells = line.split(',');
        METRIC_NAMES.forEach((m, k) => assert.match(cells[k + 1]!, patterns[m]!, `${m} in ${line}`));
      }
    }),
    { numRuns: 100 },
  );
});

test('property: same seed, knobs and tick give the same CSV bytes, stepping or replaying from scratch', () => {
  fc.assert(
    fc.property(seedArb, simulationArb, fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 25 }), (seed, simulation, switchCount, tick) => {
      const options = { seed, simulation, switchCount };
      const stepped = new Simulator(options);
      while (stepped.tick < tick) stepped.step();
      const a = renderCsv(stepped.state, METRIC_NAMES);
      const b = renderCsv(simulate(options, tick), METRIC_NAMES);
      const c = renderCsv(simulate(structuredClone(options), tick), METRIC_NAMES);
      assert.ok(a.equals(b) && b.equals(c));
    }),
    { numRuns: 100 },
  );
});

test('different seeds give different fabrics; a seed gives the same fabric in every process and version', () => {
  const render = (seed: number): string => renderCsvText(simulate({ seed, simulation: DEFAULT_SIMULATION, switchCount: 20 }, 3), METRIC_NAMES);
  assert.notEqual(render(1), render(2));
  // Was render(1) === render(1), true of any function without state. Pinned instead: a seed names a
  // fabric, so any change to the random stream or the model shows up here (update the pin on purpose).
  const csv = render(1);
  assert.deepEqual(csv.split('\n').slice(0, 3), [
    'switch_id,bandwidth_mbps,latency_ms,packet_errors,link_status,tx_queue_depth,utilization_percent',
    'sw1,10554,0.91,0,1,66,42.2',
    'sw2,59710,1.16,0,1,169,59.7',
  ]);
  assert.equal(createHash('sha256').update(csv).digest('hex'), 'b833c5e07efc8ac330b4d2815ce0ba9aff0268710e137ca5b08205bfd860ece9');
});

test('the metric subset only selects columns: values do not depend on which metrics are shown', () => {
  const state = simulate({ seed: 5, simulation: DEFAULT_SIMULATION, switchCount: 30 }, 4);
  const full = renderCsvText(state, METRIC_NAMES).trimEnd().split('\n').map((l) => l.split(','));
  const sub = renderCsvText(state, ['utilization_percent', 'bandwidth_mbps']).trimEnd().split('\n').map((l) => l.split(','));
  sub.forEach((row, r) => assert.deepEqual(row, [full[r]![0], full[r]![6], full[r]![1]]));
});

test('statistics over a long run look like the configured fabric', (t) => {
  const simulation: SimulationConfig = {
    ...DEFAULT_SIMULATION,
    latencySpikeProbability: 0.02,
    linkDownProbability: 0.004,
    linkDownMinIntervals: 2,
    linkDownMaxIntervals: 6,
    errorBurstProbability: 0.01,
    errorBurstMinIntervals: 2,
    errorBurstMaxIntervals: 6,
  };
  const n = 2000;
  const ticks = 400;
  const sim = new Simulator({ seed: 20240601, simulation, switchCount: n });
  const prevUp = new Uint8Array(n);
  const prevBw = new Float64Array(n);
  const prevErrors = new Int32Array(n);
  const downRun = new Int32Array(n);
  const burstRun = new Int32Array(n);
  let upTicks = 0;
  let spikes = 0;
  let rollableUp = 0;
  let downs = 0;
  const downLengths: number[] = [];
  let burstStarts = 0;
  let burstEligible = 0;
  const burstLengths: number[] = [];
  // Lag-1 autocorrelation of bandwidth over consecutive up ticks, pooled over switches after
  // removing each switch's mean (accumulated as sums for a two-pass-free estimate).
  const sumX = new Float64Array(n);
  const upCount = new Float64Array(n);
  const pairs: Array<[number, number, number]> = [];
  // Latency and queue by utilization band, spikes excluded: they must rise with load.
  const band = { low: { lat: 0, q: 0, k: 0 }, high: { lat: 0, q: 0, k: 0 } };

  for (let t = 0; t < ticks; t++) {
    if (t > 0) sim.step();
    const { columns: c, capacityMbps } = sim.state;
    for (let i = 0; i < n; i++) {
      const up = c.link_status[i]!;
      if (up === 0) {
        // Checked here too, on thousands of outages (many mid-burst), not only in the property test:
        // the planted bug above (packet_errors not zeroed on link down) fails here with this seed.
        for (const metric of METRIC_NAMES) assert.equal(c[metric][i], 0, `sw${i + 1} down at tick ${t} but ${metric} is ${c[metric][i]}`);
      }
      // A spike, seen in the published numbers alone: without one, latency is within 10% jitter of
      // base/(1-rho); a spike multiplies it by 15-25 (factor 20 x 0.75-1.25).
      const rho = Math.min(c.bandwidth_mbps[i]! / capacityMbps[i]!, 0.98);
      const spike = up === 1 && c.latency_ms[i]! > (3 * simulation.baseLatencyMs) / (1 - rho) ? 1 : 0;
      if (t > 0 && prevUp[i] === 1) {
        rollableUp++;
        if (up === 0) downs++;
      }
      if (up === 0) {
        downRun[i]!++;
      } else {
        if (downRun[i]! > 0 && t > downRun[i]!) downLengths.push(downRun[i]!);
        downRun[i] = 0;
        upTicks++;
        spikes += spike;
        const bw = c.bandwidth_mbps[i]!;
        sumX[i]! += bw;
        upCount[i]!++;
        if (t > 0 && prevUp[i] === 1) pairs.push([i, prevBw[i]!, bw]);
        const errors = c.packet_errors[i]!;
        if (t > 0 && prevUp[i] === 1 && prevErrors[i] === 0 && burstRun[i] === 0) {
          burstEligible++;
          if (errors > 0) burstStarts++;
        }
        if (errors > 0) burstRun[i]!++;
        else {
          if (burstRun[i]! > 0) burstLengths.push(burstRun[i]!);
          burstRun[i] = 0;
        }
        if (spike === 0) {
          const u = c.utilization_percent[i]!;
          const b = u < 30 ? band.low : u > 70 ? band.high : undefined;
          if (b !== undefined) {
            b.lat += c.latency_ms[i]!;
            b.q += c.tx_queue_depth[i]!;
            b.k++;
          }
        }
        prevBw[i] = bw;
      }
      if (up === 0) {
        if (burstRun[i]! > 0) burstRun[i] = 0; // a burst cut short by the link going down
      }
      prevUp[i] = up;
      prevErrors[i] = c.packet_errors[i]!;
    }
  }

  const spikeRate = spikes / upTicks;
  assert.ok(Math.abs(spikeRate / simulation.latencySpikeProbability - 1) < 0.1, `spike rate ${spikeRate}`);
  const downRate = downs / rollableUp;
  assert.ok(Math.abs(downRate / simulation.linkDownProbability - 1) < 0.15, `link-down rate ${downRate}`);
  assert.ok(downLengths.length > 500, `${downLengths.length} completed outages`);
  assert.ok(downLengths.every((d) => d >= simulation.linkDownMinIntervals && d <= simulation.linkDownMaxIntervals), 'outage lengths within the configured range');
  const meanDown = downLengths.reduce((a, b) => a + b, 0) / downLengths.length;
  assert.ok(Math.abs(meanDown - 4) < 0.3, `mean outage ${meanDown} intervals`);
  const burstRate = burstStarts / burstEligible;
  assert.ok(Math.abs(burstRate / simulation.errorBurstProbability - 1) < 0.15, `burst start rate ${burstRate}`);
  const meanBurst = burstLengths.reduce((a, b) => a + b, 0) / burstLengths.length;
  assert.ok(meanBurst > 3 && meanBurst < 5, `mean burst ${meanBurst} intervals`);

  // Pooled lag-1 autocorrelation, each switch centred on its own mean.
  const means = new Float64Array(n);
  for (let i = 0; i < n; i++) means[i] = sumX[i]! / Math.max(1, upCount[i]!);
  let cov = 0;
  let v0 = 0;
  let v1 = 0;
  for (const [i, x, y] of pairs) {
    cov += (x - means[i]!) * (y - means[i]!);
    v0 += (x - means[i]!) ** 2;
    v1 += (y - means[i]!) ** 2;
  }
  const r = cov / Math.sqrt(v0 * v1);
  // An OU walk with theta = 0.2 has lag-1 autocorrelation 0.8; independent draws would give ~0.
  assert.ok(r > 0.6, `lag-1 autocorrelation ${r}`);

  t.diagnostic(
    `spike rate ${spikeRate.toFixed(4)}, link-down rate ${downRate.toFixed(5)}, mean outage ${meanDown.toFixed(2)}, ` +
      `burst start rate ${burstRate.toFixed(4)}, mean burst ${meanBurst.toFixed(2)}, lag-1 autocorrelation ${r.toFixed(3)}`,
  );
  assert.ok(band.low.k > 1000 && band.high.k > 1000, `samples per band ${band.low.k}/${band.high.k}`);
  assert.ok(band.high.lat / band.high.k > 1.5 * (band.low.lat / band.low.k), 'latency rises with utilization');
  assert.ok(band.high.q / band.high.k > 3 * (band.low.q / band.low.k), 'queue depth rises with utilization');
});

test('a spike multiplies latency by 0.75 to 1.25 times the spike factor, on top of the queueing delay', () => {
  // Every tick a spike and no outage: each latency lies between the least and the most a spike can
  // give (base × 1/(1 − ρ) × jitter 0.9..1.1 × factor × 0.75..1.25, ρ from 0 to 0.98), to the 0.01 ms
  // the latency format keeps.
  const simulation: SimulationConfig = { ...DEFAULT_SIMULATION, latencySpikeProbability: 1, linkDownProbability: 0, latencySpikeFactor: 20 };
  const sim = new Simulator({ seed: 77, simulation, switchCount: 300 });
  const least = simulation.baseLatencyMs * 0.9 * 20 * 0.75;
  const most = (simulation.baseLatencyMs / (1 - 0.98)) * 1.1 * 20 * 1.25;
  for (let tick = 0; tick < 5; tick++) {
    for (const latency of sim.state.columns.latency_ms) {
      assert.ok(latency >= least - 0.005 && latency <= most + 0.005, `latency ${latency} ms outside [${least}, ${most}]`);
    }
    sim.step();
  }
});

test('switch counts and ticks that are not non-negative integers are refused with a message that names them', () => {
  for (const switchCount of [0, -1, 1.5, Number.NaN]) {
    assert.throws(() => new Simulator({ seed: 1, simulation: DEFAULT_SIMULATION, switchCount }), { name: 'RangeError', message: `switchCount must be a positive integer (got ${switchCount})` });
  }
  assert.equal(new Simulator({ seed: 1, simulation: DEFAULT_SIMULATION, switchCount: 1 }).state.switchCount, 1);
  for (const tick of [-1, 0.5, Number.NaN]) {
    assert.throws(() => simulate({ seed: 1, simulation: DEFAULT_SIMULATION, switchCount: 2 }, tick), { name: 'RangeError', message: `tick must be a non-negative integer (got ${tick})` });
  }
  assert.equal(simulate({ seed: 1, simulation: DEFAULT_SIMULATION, switchCount: 2 }, 0).tick, 0);
});
