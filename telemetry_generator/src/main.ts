/**
 * Entry point of the telemetry generator (`npm run generator`). runService turns start-up failures
 * into one line on stderr and a non-zero exit, and SIGINT/SIGTERM into a graceful stop.
 */
import { runService } from '../../common/service-runner.js';
import { startGenerator } from './generator-service.js';

void runService('generator', () => startGenerator());
