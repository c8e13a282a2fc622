import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { ConfigError } from '../../common/config-file.js';
import { DEFAULT_INGESTION_FORMAT, DEFAULT_MAX_BODY_BYTES } from '../src/config-schema.js';
import { loadMetricsServerConfig } from '../src/config.js';

const dir = mkdtempSync(join(tmpdir(), 'ms-config-'));
function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

test('the shipped config file loads with the documented defaults', () => {
  const { config, missingFile } = loadMetricsServerConfig({});
  assert.equal(missingFile, undefined);
  assert.equal(config.host, '127.0.0.1');
  assert.equal(config.port, 8080);
  assert.equal(config.logging.level, 'INFO');
  assert.equal(config.logging.format, 'text');
  assert.equal(config.ingestion.generatorUrl.href, 'http://127.0.0.1:9001/counters');
  assert.equal(config.ingestion.pollIntervalMs, 5000);
  assert.equal(config.ingestion.fetchTimeoutMs, 2000);
  assert.equal(config.ingestion.maxBodyBytes, DEFAULT_MAX_BODY_BYTES);
  assert.equal(config.ingestion.format, 'auto');
  assert.equal(config.readiness.maxAgeMs, 17_000);
});

test('a missing file means defaults, and says so', () => {
  const missing = join(dir, 'absent.json');
  const { config, missingFile } = loadMetricsServerConfig({ METRICS_SERVER_CONFIG: missing });
  assert.equal(missingFile, missing);
  assert.equal(config.ingestion.pollIntervalMs, 5000);
});

test("the seed's Python config key logging.level keeps working; env overrides the file", () => {
  const path = file('seed.json', JSON.stringify({ logging: { level: 'debug' }, ingestion: { poll_interval_seconds: 0.5 } }));
  const { config } = loadMetricsServerConfig({ METRICS_SERVER_CONFIG: path });
  assert.equal(config.logging.level, 'DEBUG');
  assert.equal(config.ingestion.pollIntervalMs, 500);
  assert.equal(config.readiness.maxAgeMs, 3 * 500 + 2000);
  const env = loadMetricsServerConfig({
    METRICS_SERVER_CONFIG: path,
    LOG_LEVEL: 'WARNING',
    LOG_FORMAT: 'json',
    POLL_INTERVAL_SECONDS: '2',
    FETCH_TIMEOUT_SECONDS: '0.25',
    MAX_BODY_BYTES: '4096',
    METRICS_SERVER_PORT: '0',
    METRICS_SERVER_HOST: '::1',
  }).config;
  assert.equal(env.logging.level, 'WARNING');
  assert.equal(env.logging.format, 'json');
  assert.equal(env.ingestion.pollIntervalMs, 2000);
  assert.equal(env.ingestion.fetchTimeoutMs, 250);
  assert.equal(env.ingestion.maxBodyBytes, 4096);
  assert.equal(env.port, 0);
  assert.equal(env.host, '::1');
});

test('generator URL: GENERATOR_URL, else GENERATOR_HOST/PORT, else the file', () => {
  assert.equal(loadMetricsServerConfig({ GENERATOR_URL: 'http://10.0.0.5:9100/counters' }).config.ingestion.generatorUrl.href, 'http://10.0.0.5:9100/counters');
  assert.equal(loadMetricsServerConfig({ GENERATOR_PORT: '9555' }).config.ingestion.generatorUrl.href, 'http://127.0.0.1:9555/counters');
  assert.equal(loadMetricsServerConfig({ GENERATOR_HOST: '::1', GENERATOR_PORT: '9002' }).config.ingestion.generatorUrl.href, 'http://[::1]:9002/counters');
});

test('invalid config stops start-up with a message naming the file and the key', () => {
  const cases: [string, RegExp][] = [
    ['{not json', /invalid JSON/],
    ['[]', /top level must be a JSON object/],
    ['{"logging": {"level": "LOUD"}}', /"logging.level" must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL, WARN, FATAL \(upper or lower case\) \(got "LOUD"\)/],
    ['{"logging": {"format": "xml"}}', /"logging.format" must be one of text, json/],
    ['{"ingestion": {"poll_interval_seconds": 0}}', /"ingestion.poll_interval_seconds" must be a number from 0.05 to 86400 \(got 0\)/],
    ['{"ingestion": {"poll_interval_seconds": "5"}}', /"ingestion.poll_interval_seconds" must be a number/],
    ['{"ingestion": {"max_body_bytes": 1.5}}', /"ingestion.max_body_bytes" must be an integer/],
    ['{"ingestion": {"generator_url": "ftp://x/counters"}}', /must be an http:\/\/ or https:\/\/ URL/],
    ['{"ingestion": {"poll_interval": 5}}', /unknown key "ingestion.poll_interval"/],
    ['{"ingestion": 5}', /"ingestion" must be an object/],
  ];
  for (const [content, message] of cases) {
    const path = file('bad.json', content);
    assert.throws(() => loadMetricsServerConfig({ METRICS_SERVER_CONFIG: path }), (err: unknown) => {
      assert.ok(err instanceof ConfigError, content);
      assert.match(err.message, message, content);
      if (!/GENERATOR|environment/.test(err.message)) assert.ok(err.message.includes(path), `names the file: ${err.message}`);
      return true;
    });
  }
  assert.throws(() => loadMetricsServerConfig({ POLL_INTERVAL_SECONDS: 'soon' }), /environment variable POLL_INTERVAL_SECONDS must be a number/);
  assert.throws(() => loadMetricsServerConfig({ METRICS_SERVER_PORT: '70000' }), /METRICS_SERVER_PORT must be an integer from 0 to 65535/);
  assert.throws(() => loadMetricsServerConfig({ LOG_LEVEL: 'chatty' }), /LOG_LEVEL must be one of/);
});

test('the process refuses to start on a bad config: one line on stderr, exit code 2', () => {
  const path = file('bad-process.json', '{"logging": {"level": 7}}');
  const main = resolve(import.meta.dirname, '../src/main.ts');
  const result = spawnSync(process.execPath, ['--import', 'tsx', main], { env: { ...process.env, METRICS_SERVER_CONFIG: path }, encoding: 'utf8', timeout: 15_000 });
  assert.equal(result.status, 2);
  const lines = result.stderr.trim().split('\n');
  assert.equal(lines.length, 1, result.stderr);
  assert.match(lines[0]!, /^metrics server: invalid configuration: .*bad-process\.json: "logging.level" must be one of/);
});

test('a port already in use gives one line and exit code 3', async () => {
  const net = await import('node:net');
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  const port = (blocker.address() as import('node:net').AddressInfo).port;
  try {
    const main = resolve(import.meta.dirname, '../src/main.ts');
    const result = spawnSync(process.execPath, ['--import', 'tsx', main], { env: { ...process.env, METRICS_SERVER_PORT: String(port) }, encoding: 'utf8', timeout: 15_000 });
    assert.equal(result.status, 3);
    assert.equal(result.stderr.trim(), `metrics server: cannot listen on 127.0.0.1:${port}: address already in use`);
  } finally {
    blocker.close();
  }
});

// Issue 17, item 5: setting only GENERATOR_HOST replaced the configured URL's port, path and scheme
// with defaults. Host and port overrides now change only the host and the port.
test('GENERATOR_HOST or GENERATOR_PORT alone changes only that part of the configured URL', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ms-config-'));
  const path = join(dir, 'config.json');
  writeFileSync(path, JSON.stringify({ ingestion: { generator_url: 'https://fabric.example:9443/api/counters' } }));
  const url = (env: NodeJS.ProcessEnv): string => loadMetricsServerConfig({ METRICS_SERVER_CONFIG: path, ...env }).config.ingestion.generatorUrl.href;
  assert.equal(url({ GENERATOR_HOST: '10.1.2.3' }), 'https://10.1.2.3:9443/api/counters');
  assert.equal(url({ GENERATOR_PORT: '9555' }), 'https://fabric.example:9555/api/counters');
  assert.equal(url({ GENERATOR_HOST: '::1', GENERATOR_PORT: '9002' }), 'https://[::1]:9002/api/counters');
  assert.equal(url({ GENERATOR_URL: 'http://a:1/c', GENERATOR_HOST: 'ignored' }), 'http://a:1/c');
  assert.throws(() => url({ GENERATOR_PORT: '0' }), /environment variable GENERATOR_PORT must be an integer from 1 to 65535 \(got "0"\)/);
  assert.throws(() => url({ GENERATOR_HOST: ' spaced' }), /environment variable GENERATOR_HOST must be a non-empty string/);
});

// Issue 17, item 5: LOG_LEVEL=warn was accepted but LOG_FORMAT=JSON refused. One rule for every
// enumerated setting: all upper or all lower case, in the file and in the environment.
test('enumerated settings take upper or lower case, the same in the file and the environment', () => {
  const env = loadMetricsServerConfig({ LOG_LEVEL: 'warn', LOG_FORMAT: 'JSON' }).config.logging;
  assert.deepEqual(env, { level: 'WARNING', format: 'json' });
  assert.deepEqual(loadMetricsServerConfig({ LOG_LEVEL: 'debug', LOG_FORMAT: 'text' }).config.logging, { level: 'DEBUG', format: 'text' });
  assert.throws(() => loadMetricsServerConfig({ LOG_FORMAT: 'Json' }), /environment variable LOG_FORMAT must be one of text, json \(upper or lower case\) \(got "Json"\)/);
  const dir = mkdtempSync(join(tmpdir(), 'ms-config-'));
  const path = join(dir, 'config.json');
  writeFileSync(path, JSON.stringify({ logging: { level: 'error', format: 'JSON' } }));
  assert.deepEqual(loadMetricsServerConfig({ METRICS_SERVER_CONFIG: path }).config.logging, { level: 'ERROR', format: 'json' });
});

test('the command line wins over the environment, which wins over the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ms-config-'));
  const path = join(dir, 'config.json');
  writeFileSync(path, JSON.stringify({ http: { host: '127.0.0.2', port: 8100 } }));
  assert.equal(loadMetricsServerConfig({ METRICS_SERVER_CONFIG: path }).config.port, 8100);
  assert.equal(loadMetricsServerConfig({ METRICS_SERVER_CONFIG: path, METRICS_SERVER_PORT: '8200' }).config.port, 8200);
  const cli = { overrides: [{ key: 'http.port', value: 8300, origin: 'option --port', text: '8300' }] };
  const both = loadMetricsServerConfig({ METRICS_SERVER_CONFIG: path, METRICS_SERVER_PORT: '8200' }, cli).config;
  assert.equal(both.port, 8300);
  assert.equal(both.host, '127.0.0.2');
  const other = join(dir, 'other.json');
  writeFileSync(other, JSON.stringify({ http: { port: 8400 } }));
  assert.equal(loadMetricsServerConfig({ METRICS_SERVER_CONFIG: path }, { configPath: other }).config.port, 8400);
});

test('ingestion.format: csv, arrow or auto, from the file or INGESTION_FORMAT; anything else stops start-up', () => {
  assert.equal(loadMetricsServerConfig({ METRICS_SERVER_CONFIG: join(dir, 'absent.json') }).config.ingestion.format, DEFAULT_INGESTION_FORMAT);
  const path = file('format.json', JSON.stringify({ ingestion: { format: 'arrow' } }));
  assert.equal(loadMetricsServerConfig({ METRICS_SERVER_CONFIG: path }).config.ingestion.format, 'arrow');
  assert.equal(loadMetricsServerConfig({ METRICS_SERVER_CONFIG: path, INGESTION_FORMAT: 'auto' }).config.ingestion.format, 'auto');
  assert.throws(() => loadMetricsServerConfig({ METRICS_SERVER_CONFIG: path, INGESTION_FORMAT: 'parquet' }), /INGESTION_FORMAT must be one of csv, arrow, auto/);
  const bad = file('format-bad.json', JSON.stringify({ ingestion: { format: 'json' } }));
  assert.throws(() => loadMetricsServerConfig({ METRICS_SERVER_CONFIG: bad }), (err: unknown) => err instanceof ConfigError && /"ingestion\.format"/.test(err.message));
});

test('ingestion.mode is poll by default; push takes the stream URL from the file, STREAM_URL, or the generator URL + /stream?delta=1', () => {
  assert.equal(loadMetricsServerConfig({}).config.ingestion.mode, 'poll');
  const derived = loadMetricsServerConfig({ METRICS_SERVER_CONFIG: file('push.json', JSON.stringify({ ingestion: { mode: 'push', generator_url: 'http://10.0.0.5:9001/counters' } })) }).config;
  assert.equal(derived.ingestion.mode, 'push');
  assert.equal(derived.ingestion.streamUrl.href, 'http://10.0.0.5:9001/counters/stream?delta=1');
  const explicit = loadMetricsServerConfig({ METRICS_SERVER_CONFIG: file('push2.json', JSON.stringify({ ingestion: { mode: 'push', stream_url: 'http://gen:9001/counters/stream' } })) }).config;
  assert.equal(explicit.ingestion.streamUrl.href, 'http://gen:9001/counters/stream');
  assert.equal(loadMetricsServerConfig({ INGESTION_MODE: 'PUSH', STREAM_URL: 'http://127.0.0.1:1/s' }).config.ingestion.streamUrl.href, 'http://127.0.0.1:1/s');
  assert.throws(() => loadMetricsServerConfig({ METRICS_SERVER_CONFIG: file('bad-mode.json', JSON.stringify({ ingestion: { mode: 'pull' } })) }), /ingestion\.mode/);
  assert.throws(() => loadMetricsServerConfig({ METRICS_SERVER_CONFIG: file('bad-url.json', JSON.stringify({ ingestion: { stream_url: 'ftp://x' } })) }), /ingestion\.stream_url/);
});

test('history: the shipped section, a relative checkpoint path resolved against the project, "" turns checkpoints off, bad values name the key', () => {
  const { config } = loadMetricsServerConfig({});
  assert.deepEqual(config.history, { enabled: true, retentionSeconds: 3600, maxMemoryBytes: 536_870_912, checkpointPath: resolve(dirname(fileURLToPath(import.meta.url)), '../../var/history.bin'), checkpointIntervalMs: 300_000 });
  const off = file('history-off.json', JSON.stringify({ history: { enabled: false, checkpoint_path: '' } }));
  assert.equal(loadMetricsServerConfig({ METRICS_SERVER_CONFIG: off }).config.history.checkpointPath, undefined);
  assert.equal(loadMetricsServerConfig({ METRICS_SERVER_CONFIG: off }).config.history.enabled, false);
  const absolute = file('history-abs.json', JSON.stringify({ history: { checkpoint_path: '/srv/fabric/history.bin', retention_seconds: 86400 } }));
  assert.equal(loadMetricsServerConfig({ METRICS_SERVER_CONFIG: absolute }).config.history.checkpointPath, '/srv/fabric/history.bin');
  for (const [history, key] of [
    [{ retention_seconds: 10 }, 'history.retention_seconds'],
    [{ max_memory_bytes: 1.5 }, 'history.max_memory_bytes'],
    [{ checkpoint_interval_seconds: 0 }, 'history.checkpoint_interval_seconds'],
    [{ retension_seconds: 3600 }, 'retension_seconds'],
  ] as const) {
    const path = file('history-bad.json', JSON.stringify({ history }));
    assert.throws(() => loadMetricsServerConfig({ METRICS_SERVER_CONFIG: path }), (err: unknown) => err instanceof ConfigError && err.message.includes(key), key);
  }
});
