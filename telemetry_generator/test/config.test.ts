import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, projectRoot } from '../../common/config-file.js';
import { METRIC_NAMES } from '../../common/telemetry-schema.js';
import { DEFAULT_SIMULATION, configPath, loadGeneratorConfig, parseGeneratorConfig } from '../src/config.js';

const dir = mkdtempSync(join(tmpdir(), 'generator-config-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

let fileNumber = 0;
function writeConfig(text: string): string {
  const path = join(dir, `config-${fileNumber++}.json`);
  writeFileSync(path, text);
  return path;
}

test('a missing file means every default', () => {
  const config = loadGeneratorConfig({ GENERATOR_CONFIG: join(dir, 'absent.json') });
  assert.equal(config.fileFound, false);
  assert.equal(config.path, join(dir, 'absent.json'));
  assert.equal(config.host, '127.0.0.1');
  assert.equal(config.port, 9001);
  assert.equal(config.switchCount, 4);
  assert.deepEqual(config.metrics, METRIC_NAMES);
  assert.equal(config.updateIntervalSeconds, 10);
  assert.equal(config.seed, undefined);
  assert.deepEqual(config.simulation, DEFAULT_SIMULATION);
  assert.deepEqual(config.logging, { level: 'INFO', format: 'text' });
});

test("the seed's example file is accepted", () => {
  const path = writeConfig(JSON.stringify({ switches: { count: 4 }, metrics: [...METRIC_NAMES] }));
  const config = loadGeneratorConfig({ GENERATOR_CONFIG: path });
  assert.equal(config.fileFound, true);
  assert.equal(config.switchCount, 4);
});

test("the project's own config file is found from the project root, not the working directory, and is valid", () => {
  assert.equal(configPath({}), join(projectRoot(), 'telemetry_generator/config/config.json'));
  const config = loadGeneratorConfig({});
  assert.equal(config.fileFound, true);
  assert.equal(config.switchCount, 4);
  assert.deepEqual(config.metrics, METRIC_NAMES);
  assert.equal(config.updateIntervalSeconds, 10);
  assert.equal(config.seed, undefined, 'no fixed seed in the default file: each run picks and logs one');
  assert.deepEqual(config.simulation, DEFAULT_SIMULATION, 'the file spells out the defaults');
  assert.ok(JSON.parse(readFileSync(configPath({}), 'utf8')));
});

test('every key is read: subset and order of metrics, fractional interval, seed, knobs, logging', () => {
  const path = writeConfig(
    JSON.stringify({
      switches: { count: 100000 },
      metrics: ['utilization_percent', 'link_status'],
      update_interval_seconds: 0.5,
      seed: 12345,
      simulation: { link_capacities_mbps: [400000], latency_spike_probability: 0.5, link_down_min_intervals: 3, link_down_max_intervals: 3 },
      logging: { level: 'debug', format: 'json' },
    }),
  );
  const config = loadGeneratorConfig({ GENERATOR_CONFIG: path, GENERATOR_HOST: '::1', GENERATOR_PORT: '0' });
  assert.equal(config.switchCount, 100000);
  assert.deepEqual(config.metrics, ['utilization_percent', 'link_status']);
  assert.equal(config.updateIntervalSeconds, 0.5);
  assert.equal(config.seed, 12345);
  assert.deepEqual(config.simulation.linkCapacitiesMbps, [400000]);
  assert.equal(config.simulation.latencySpikeProbability, 0.5);
  assert.equal(config.simulation.linkDownMinIntervals, 3);
  assert.equal(config.simulation.volatility, DEFAULT_SIMULATION.volatility);
  assert.deepEqual(config.logging, { level: 'DEBUG', format: 'json' });
  assert.equal(config.host, '::1');
  assert.equal(config.port, 0);
});

/** Each kind of invalid file, and the words its error must contain (besides the file's path). */
const invalidFiles: Array<[string, string, RegExp]> = [
  ['bad JSON', '{"switches": {"count": 4},', /invalid JSON/],
  ['not an object', '[1, 2]', /top level must be a JSON object/],
  ['count as a string', '{"switches": {"count": "4"}}', /"switches\.count" must be an integer from 1 to 1000000 \(got "4"\)/],
  ['count zero', '{"switches": {"count": 0}}', /"switches\.count" must be an integer from 1 to 1000000 \(got 0\)/],
  ['count too large', '{"switches": {"count": 1000001}}', /"switches\.count" must be an integer from 1 to 1000000/],
  ['count fractional', '{"switches": {"count": 2.5}}', /"switches\.count" must be an integer/],
  ['switches not an object', '{"switches": 4}', /"switches" must be an object/],
  ['unknown metric', '{"metrics": ["bandwidth_mbps", "jitter_ms"]}', /"metrics\[1\]" must be one of bandwidth_mbps, .* \(got "jitter_ms"\)/],
  ['duplicate metric', '{"metrics": ["latency_ms", "latency_ms"]}', /"metrics\[1\]" repeats the value listed at \[0\] \(got "latency_ms"\)/],
  ['empty metrics', '{"metrics": []}', /"metrics" must be a non-empty array/],
  ['metrics not a list', '{"metrics": "latency_ms"}', /"metrics" must be a non-empty array/],
  ['metric not a string', '{"metrics": [3]}', /"metrics\[0\]" must be one of/],
  ['interval zero', '{"update_interval_seconds": 0}', /"update_interval_seconds" must be a number greater than 0/],
  ['interval negative', '{"update_interval_seconds": -1}', /"update_interval_seconds" must be a number/],
  ['interval as a string', '{"update_interval_seconds": "10"}', /"update_interval_seconds" must be a number/],
  ['seed fractional', '{"seed": 1.5}', /"seed" must be an integer from 0 to 9007199254740991 \(got 1.5\)/],
  ['seed negative', '{"seed": -3}', /"seed" must be an integer/],
  ['seed as a string', '{"seed": "42"}', /"seed" must be an integer/],
  ['unknown top-level key', '{"switch": {"count": 4}}', /unknown key "switch"/],
  ['unknown switches key', '{"switches": {"number": 4}}', /unknown key "switches\.number"/],
  ['unknown simulation key', '{"simulation": {"spike_probability": 0.1}}', /unknown key "simulation\.spike_probability"/],
  ['probability above 1', '{"simulation": {"latency_spike_probability": 1.5}}', /"simulation\.latency_spike_probability" must be a number from 0 to 1 \(got 1.5\)/],
  ['probability negative', '{"simulation": {"link_down_probability": -0.1}}', /"simulation\.link_down_probability" must be a number from 0 to 1/],
  ['probability as a string', '{"simulation": {"error_burst_probability": "0.1"}}', /"simulation\.error_burst_probability" must be a number/],
  ['capacities empty', '{"simulation": {"link_capacities_mbps": []}}', /"simulation\.link_capacities_mbps" must be a non-empty array/],
  ['capacity zero', '{"simulation": {"link_capacities_mbps": [10000, 0]}}', /"simulation\.link_capacities_mbps\[1\]" must be an integer from 1 to 1600000/],
  ['min above max', '{"simulation": {"link_down_min_intervals": 5, "link_down_max_intervals": 2}}', /"simulation\.link_down_max_intervals" must be at least simulation\.link_down_min_intervals/],
  ['mean range inverted', '{"simulation": {"mean_utilization_min": 0.8, "mean_utilization_max": 0.2}}', /"simulation\.mean_utilization_max" must be at least/],
  ['mean reversion zero', '{"simulation": {"mean_reversion": 0}}', /"simulation\.mean_reversion" must be a number greater than 0/],
  ['duration zero', '{"simulation": {"error_burst_min_intervals": 0}}', /"simulation\.error_burst_min_intervals" must be an integer from 1/],
  ['bad log level', '{"logging": {"level": "LOUD"}}', /"logging\.level" must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL/],
];

for (const [name, text, message] of invalidFiles) {
  test(`invalid file (${name}): refused with a message naming the file and the field`, () => {
    const path = writeConfig(text);
    assert.throws(
      () => loadGeneratorConfig({ GENERATOR_CONFIG: path }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError, `a ConfigError, got ${String(err)}`);
        assert.ok(err.message.startsWith(`${path}: `), err.message);
        assert.match(err.message, message);
        assert.ok(!err.message.includes('\n'), 'one line');
        return true;
      },
    );
  });
}

test('invalid environment variables are refused, naming the variable', () => {
  const none = join(dir, 'absent.json');
  for (const port of ['65536', '-1', 'http', '80.5']) {
    assert.throws(() => loadGeneratorConfig({ GENERATOR_CONFIG: none, GENERATOR_PORT: port }), /GENERATOR_PORT must be an integer from 0 to 65535/);
  }
  assert.throws(() => loadGeneratorConfig({ GENERATOR_CONFIG: none, GENERATOR_HOST: ' 127.0.0.1' }), /GENERATOR_HOST/);
});

test('parseGeneratorConfig is usable on an object without a file', () => {
  const settings = parseGeneratorConfig('inline', { switches: { count: 7 } });
  assert.equal(settings.switchCount, 7);
  assert.throws(() => parseGeneratorConfig('inline', { switches: { count: -7 } }), /^ConfigError: inline: "switches.count"/);
});

// Issue 17, item 5: the generator ignored LOG_LEVEL and LOG_FORMAT, so `LOG_FORMAT=json npm start`
// mixed text and JSON lines. Both services now read the same variables by the same rule.
test('the generator honours LOG_LEVEL and LOG_FORMAT, in either case, like the metrics server', () => {
  const none = join(mkdtempSync(join(tmpdir(), 'generator-config-')), 'absent.json');
  assert.deepEqual(loadGeneratorConfig({ GENERATOR_CONFIG: none, LOG_LEVEL: 'warn', LOG_FORMAT: 'JSON' }).logging, { level: 'WARNING', format: 'json' });
  assert.deepEqual(loadGeneratorConfig({ GENERATOR_CONFIG: none, LOG_FORMAT: 'json' }).logging, { level: 'INFO', format: 'json' });
  assert.throws(() => loadGeneratorConfig({ GENERATOR_CONFIG: none, LOG_LEVEL: 'loud' }), /environment variable LOG_LEVEL must be one of DEBUG, INFO/);
});

test('command-line options override the environment and the file, and are checked by the same schema', () => {
  const dir = mkdtempSync(join(tmpdir(), 'generator-config-'));
  const path = join(dir, 'config.json');
  writeFileSync(path, JSON.stringify({ switches: { count: 10 }, update_interval_seconds: 5, seed: 1 }));
  const option = (name: string, key: string, value: unknown, text: string): { key: string; value: unknown; origin: string; text: string } => ({ key, value, origin: `option --${name}`, text });
  const config = loadGeneratorConfig({ GENERATOR_CONFIG: path, GENERATOR_PORT: '9100' }, {
    overrides: [option('switches', 'switches.count', 250, '250'), option('interval', 'update_interval_seconds', 0.5, '0.5'), option('seed', 'seed', 7, '7'), option('port', 'http.port', 0, '0')],
  });
  assert.equal(config.switchCount, 250);
  assert.equal(config.updateIntervalSeconds, 0.5);
  assert.equal(config.seed, 7);
  assert.equal(config.port, 0);
  assert.throws(
    () => loadGeneratorConfig({ GENERATOR_CONFIG: path }, { overrides: [option('switches', 'switches.count', 0, '0')] }),
    /option --switches must be an integer from 1 to 1000000 \(got "0"\)/,
  );
  assert.throws(() => loadGeneratorConfig({ GENERATOR_CONFIG: path }, { overrides: [option('interval', 'update_interval_seconds', 'soon', 'soon')] }), /option --interval must be a number greater than 0/);
});
