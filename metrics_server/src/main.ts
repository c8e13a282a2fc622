#!/usr/bin/env node
/** `npm run server` and the `fabric-metrics-server` command: the metrics server as a process. */
import type { CommandSpec } from '../../common/command-line.js';
import { optionOverrides } from '../../common/config-schema.js';
import { createLogger } from '../../common/logger.js';
import { runCommand } from '../../common/service-runner.js';
import { METRICS_SERVER_ENV_BINDINGS, METRICS_SERVER_OPTION_BINDINGS } from './config-schema.js';
import { loadMetricsServerConfig } from './config.js';
import { LEAK_ENV, parseLeakSpec } from './soak-hooks.js';
import { startMetricsServer } from './metrics-server.js';

const spec: CommandSpec = {
  command: 'fabric-metrics-server',
  summary: 'Polls the telemetry generator and serves its latest snapshot over REST (GetMetric, ListMetrics, /metrics).',
  options: [
    { name: 'host', value: 'HOST', help: 'address to listen on (default 127.0.0.1)' },
    { name: 'port', short: 'p', value: 'PORT', help: 'port to listen on (default 8080; 0 picks a free one)' },
  ],
  environment: ['METRICS_SERVER_CONFIG', 'GENERATOR_URL', 'GENERATOR_HOST', 'GENERATOR_PORT', ...METRICS_SERVER_ENV_BINDINGS.map((b) => b.name).filter((n) => n !== 'GENERATOR_URL')],
};

void runCommand({
  what: 'metrics server',
  spec,
  load: (invocation) => loadMetricsServerConfig(process.env, { configPath: invocation.configPath, overrides: optionOverrides(invocation.values, METRICS_SERVER_OPTION_BINDINGS) }),
  describe: ({ config }) => JSON.stringify(config, null, 2),
  async start({ config, missingFile }) {
    const leak = parseLeakSpec(process.env[LEAK_ENV]);
    const logger = createLogger(config.logging);
    if (missingFile !== undefined) logger.child('config').info(`config file ${missingFile} not found; using defaults`);
    return startMetricsServer(config, { logger, ...(leak === undefined ? {} : { leak }) });
  },
});
