/**
 * The running generator: loads the config, starts the ticker and the HTTP server, and logs one line
 * naming the bound address, which tests and process supervisors parse:
 * `listening on http://HOST:PORT switches=N interval_s=S seed=X`. `main.ts` wraps it in runService.
 */
import { randomInt } from 'node:crypto';
import { createLogger } from '../../common/logger.js';
import { boundUrl, type RunningService } from '../../common/service-runner.js';
import { buildGeneratorApp } from './app.js';
import { loadGeneratorConfig, type GeneratorConfig } from './config.js';
import { CounterStream } from './counter-stream.js';
import { TelemetryFeed } from './feed.js';
import { GeneratorMetrics } from './generator-metrics.js';

/** Starts the generator from a loaded config (by default, the file and the environment): listening first, then ticking. */
export async function startGenerator(config: GeneratorConfig = loadGeneratorConfig(process.env)): Promise<RunningService> {
  const logger = createLogger({ level: config.logging.level, format: config.logging.format }).child('generator');
  if (config.fileFound) logger.info(`config loaded from ${config.path}`);
  else logger.info(`config file ${config.path} not found; using defaults`);

  // 32 bits are plenty to tell runs apart and short enough to copy from a log line into the file.
  const seed = config.seed ?? randomInt(0, 2 ** 32);
  const metrics = new GeneratorMetrics(config.switchCount);
  const feed = new TelemetryFeed({ ...config, seed, logger, onTick: metrics.observeTick });
  metrics.attach(feed);
  const stream = new CounterStream(feed, { ...config.stream, onSlowClientDropped: metrics.countSlowStreamClient });
  metrics.attachStream(stream);
  const app = buildGeneratorApp({ feed, metrics, stream });
  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (err) {
    await app.close();
    metrics.close();
    throw err;
  }
  feed.start();

  logger.info(`listening on ${boundUrl(app.server)}`, {
    switches: config.switchCount,
    interval_s: config.updateIntervalSeconds,
    seed,
    seed_source: config.seed === undefined ? 'random' : 'config',
    stream_run: stream.run,
    metrics: config.metrics.join(','),
  });

  return {
    async stop(): Promise<void> {
      feed.stop();
      await app.close();
      metrics.close();
      logger.info('stopped');
      logger.flush();
    },
  };
}
