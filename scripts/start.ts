/**
 * `npm start`: the generator and the metrics server together, each line prefixed with its name.
 * Ctrl-C (or SIGTERM) stops both gracefully; if one dies, the other is stopped and this process
 * exits with the dead one's exit code. Built on `concurrently` rather than hand-rolled process
 * supervision.
 */
import { concurrently, type CloseEvent } from 'concurrently';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';

const distRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const node = JSON.stringify(process.execPath);

const { result } = concurrently(
  [
    { name: 'generator', command: `${node} ${JSON.stringify(resolve(distRoot, 'telemetry_generator/src/main.js'))}`, prefixColor: 'cyan' },
    { name: 'server', command: `${node} ${JSON.stringify(resolve(distRoot, 'metrics_server/src/main.js'))}`, prefixColor: 'green' },
  ],
  { prefix: 'name', padPrefix: true, killOthersOn: ['failure', 'success'], killSignal: 'SIGTERM', handleInput: false },
);

/** The exit code of the process that ended first on its own (not one we stopped). */
function exitCodeOf(events: readonly CloseEvent[]): number {
  const first = [...events].filter((e) => !e.killed).sort((a, b) => a.timings.endDate.getTime() - b.timings.endDate.getTime())[0];
  if (first === undefined) return 0;
  return typeof first.exitCode === 'number' ? first.exitCode : 1;
}

result.then(
  (events) => process.exit(exitCodeOf(events)),
  (events: CloseEvent[]) => process.exit(exitCodeOf(events) || 1),
);
