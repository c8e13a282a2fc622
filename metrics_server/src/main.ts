/** `npm run server`: the metrics server as a process. */
import { createLogger } from '../../common/logger.js';
import { runService } from '../../common/service-runner.js';
import { loadMetricsServerConfig } from './config.js';
import { startMetricsServer } from './metrics-server.js';

void runService('metrics server', async () => {
  const { config, missingFile } = loadMetricsServerConfig();
  const logger = createLogger(config.logging);
  if (missingFile !== undefined) logger.child('config').info(`config file ${missingFile} not found; using defaults`);
  return startMetricsServer(config, { logger });
});
