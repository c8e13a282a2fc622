/**
 * `npm start`: the generator and the metrics server together, each line prefixed with its name.
 * Ctrl-C (or SIGTERM) stops both gracefully; if one dies, the other is stopped and this process
 * exits with the dead one's exit code. Built on `concurrently` rather than hand-rolled process
 * supervision.
 */
import { concurrently, type CloseEvent } from 'concurrently';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';

// Built: dist/scripts/start.js runs dist/**/main.js. From source (tests, via tsx): the .ts files.
const fromSource = import.meta.url.endsWith('.ts');
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Quotes for sh only when needed (concurrently mangles a command that starts and ends with quotes). */
const sh = (word: string): string => (/^[\w/.@:+=-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`);
const node = fromSource ? `${sh(process.execPath)} --import tsx` : sh(process.execPath);
const entry = (service: string): string => sh(resolve(root, `${service}/src/main.${fromSource ? 'ts' : 'js'}`));

const { result } = concurrently(
  [
    { name: 'generator', command: `${node} ${entry('telemetry_generator')}`, prefixColor: 'cyan' },
    { name: 'server', command: `${node} ${entry('metrics_server')}`, prefixColor: 'green' },
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
