#!/usr/bin/env node
/**
 * `npm run generator` and the `fabric-telemetry-generator` command. runCommand handles the command
 * line; runService turns start-up failures into one line on stderr and a non-zero exit, and
 * SIGINT/SIGTERM/SIGHUP into a graceful stop.
 */
import type { CommandSpec } from '../../common/command-line.js';
import { optionOverrides } from '../../common/config-schema.js';
import { runCommand } from '../../common/service-runner.js';
import { GENERATOR_ENV_BINDINGS, GENERATOR_OPTION_BINDINGS } from './config-schema.js';
import { loadGeneratorConfig } from './config.js';
import { startGenerator } from './generator-service.js';

const spec: CommandSpec = {
  command: 'fabric-telemetry-generator',
  summary: 'Simulates a switch fabric and serves its counters as CSV at GET /counters.',
  options: [
    { name: 'host', value: 'HOST', help: 'address to listen on (default 127.0.0.1)' },
    { name: 'port', short: 'p', value: 'PORT', help: 'port to listen on (default 9001; 0 picks a free one)' },
    { name: 'switches', short: 'n', value: 'N', help: 'number of switches, 1 to 1000000 (default 4)' },
    { name: 'interval', short: 'i', value: 'SECONDS', help: 'seconds between ticks, fractions allowed (default 10)' },
    { name: 'seed', short: 's', value: 'SEED', help: 'fix the simulation to this integer seed (default random, logged)' },
  ],
  environment: ['GENERATOR_CONFIG', ...GENERATOR_ENV_BINDINGS.map((b) => b.name)],
};

void runCommand({
  what: 'generator',
  spec,
  load: (invocation) => loadGeneratorConfig(process.env, { configPath: invocation.configPath, overrides: optionOverrides(invocation.values, GENERATOR_OPTION_BINDINGS) }),
  describe: (config) => JSON.stringify(config, null, 2),
  start: (config) => startGenerator(config),
});
