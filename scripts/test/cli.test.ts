/**
 * Both services' command lines, as an operator types them (issue 17, item 4): `main.js --help
 * --port 1234` used to start a server on 8080 with defaults. Each case runs the real entry point
 * in a child process and checks what it prints and its exit code.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { projectRoot } from '../../common/config-file.js';
import { EXIT_CONFIG_ERROR } from '../../common/service-runner.js';

const TSX = import.meta.resolve('tsx');
const SERVICES = {
  server: { main: join(projectRoot(), 'metrics_server/src/main.ts'), command: 'fabric-metrics-server', what: 'metrics server' },
  generator: { main: join(projectRoot(), 'telemetry_generator/src/main.ts'), command: 'fabric-telemetry-generator', what: 'generator' },
} as const;
const dir = mkdtempSync(join(tmpdir(), 'cli-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const version = (JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as { version: string }).version;

interface Outcome {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a service's main with these arguments; every case here exits by itself within seconds. */
function run(service: keyof typeof SERVICES, args: string[], env: Record<string, string> = {}): Outcome {
  const result = spawnSync(process.execPath, ['--import', TSX, SERVICES[service].main, ...args], {
    cwd: tmpdir(),
    env: { PATH: process.env['PATH'] ?? '', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

for (const service of ['server', 'generator'] as const) {
  const { command, what } = SERVICES[service];

  test(`${service}: --help prints usage and exits 0, whatever else is on the line`, () => {
    const out = run(service, ['--help', '--port', '1234']);
    assert.equal(out.status, 0, out.stderr);
    assert.match(out.stdout, new RegExp(`^Usage: ${command} \\[options\\]`));
    for (const flag of ['--config FILE', '--check-config', '--host HOST', '--port PORT', '--version']) assert.ok(out.stdout.includes(flag), flag);
    if (service === 'generator') for (const flag of ['--switches N', '--interval SECONDS', '--seed SEED']) assert.ok(out.stdout.includes(flag), flag);
    assert.equal(out.stderr, '');
  });

  test(`${service}: --version prints the package version`, () => {
    const out = run(service, ['-V']);
    assert.equal(out.status, 0);
    assert.equal(out.stdout, `${command} ${version}\n`);
  });

  test(`${service}: unknown flags, missing values and stray arguments are refused with exit 2`, () => {
    for (const args of [['--bogus'], ['--port'], ['extra'], ['--help=yes']]) {
      const out = run(service, args);
      assert.equal(out.status, EXIT_CONFIG_ERROR, `${args.join(' ')}: ${out.stdout}${out.stderr}`);
      assert.match(out.stderr, new RegExp(`^${command}: .+\\nTry '${command} --help'\\.\\n$`), args.join(' '));
      assert.equal(out.stdout, '');
    }
  });

  test(`${service}: --check-config validates file, environment and options, and starts nothing`, () => {
    const ok = run(service, ['--check-config', '--port', '1234']);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, new RegExp(`^${what}: configuration OK\\n`));
    assert.equal((JSON.parse(ok.stdout.slice(ok.stdout.indexOf('\n') + 1)) as { port: number }).port, 1234);

    const badOption = run(service, ['--check-config', '--port', 'eighty']);
    assert.equal(badOption.status, EXIT_CONFIG_ERROR);
    assert.match(badOption.stderr, new RegExp(`^${what}: invalid configuration: option --port must be an integer from 0 to 65535 \\(got "eighty"\\)\\n$`));

    const file = join(dir, `${service}-bad.json`);
    writeFileSync(file, JSON.stringify({ logging: { level: 'LOUD' } }));
    const badFile = run(service, ['--check-config', '--config', file]);
    assert.equal(badFile.status, EXIT_CONFIG_ERROR);
    assert.ok(badFile.stderr.includes(`${file}: "logging.level" must be one of`), badFile.stderr);

    const badEnv = run(service, ['--check-config'], { LOG_FORMAT: 'xml' });
    assert.equal(badEnv.status, EXIT_CONFIG_ERROR);
    assert.match(badEnv.stderr, /environment variable LOG_FORMAT must be one of text, json/);
  });
}

test('generator: --switches, --interval, --seed and --port reach the running service', async () => {
  const child = spawn(process.execPath, ['--import', TSX, SERVICES.generator.main, '--switches', '7', '--interval', '0.5', '--seed', '42', '--port', '0', '--host', '127.0.0.1'], {
    cwd: tmpdir(),
    env: { PATH: process.env['PATH'] ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const line = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening line in 30 s: ${stdout}`)), 30_000);
      child.stdout.on('data', () => {
        const match = /listening on (http:\/\/127\.0\.0\.1:\d+) switches=7 interval_s=0\.5 seed=42 seed_source=config/.exec(stdout);
        if (match !== null) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      });
      child.on('exit', () => reject(new Error(`exited early: ${stdout}`)));
    });
    const body = await (await fetch(`${line}/counters`)).text();
    assert.equal(body.trim().split('\n').length, 8, 'header and 7 switches');
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  }
});

test('bin entries point at the built entry points, which start with a shebang', () => {
  const pkg = JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as { bin: Record<string, string> };
  assert.deepEqual(Object.keys(pkg.bin).sort(), ['fabric-metrics-server', 'fabric-telemetry-generator']);
  const build = spawnSync('npm', ['run', 'build', '--silent'], { cwd: projectRoot(), encoding: 'utf8', timeout: 300_000 });
  assert.equal(build.status, 0, `${build.stdout}${build.stderr}`);
  for (const [name, path] of Object.entries(pkg.bin)) {
    assert.ok(readFileSync(join(projectRoot(), path), 'utf8').startsWith('#!/usr/bin/env node\n'), name);
    const out = spawnSync(process.execPath, [join(projectRoot(), path), '--version'], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(out.stdout, `${name} ${version}\n`);
  }
});
