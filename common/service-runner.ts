/**
 * The edge every service's `main` shares: turn start-up failures into one clear line and an exit
 * code, and stop cleanly on SIGINT, SIGTERM and SIGHUP. No stack traces reach an operator's terminal.
 */
import type { Server } from 'node:net';
import { parseCommandLine, projectVersion, usageText, UsageError, type CommandSpec, type Invocation } from './command-line.js';
import { ConfigError } from './config-file.js';

/** A started service, as its `main` holds it. */
export interface RunningService {
  /** Stops accepting work, drains what is in flight, releases timers and sockets. */
  stop(): Promise<void>;
}

/** `http://HOST:PORT` of the address a server actually bound (IPv6 hosts in brackets). */
export function boundUrl(server: Pick<Server, 'address'>): string {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the server is not bound to a TCP address');
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}

/** Exit codes, so a supervisor can tell a bad config from a busy port. */
export const EXIT_CONFIG_ERROR = 2;
/** Exit code: the port could not be bound. */
export const EXIT_LISTEN_ERROR = 3;
/** Exit code: anything else went wrong. */
export const EXIT_RUNTIME_ERROR = 1;

/** A short human sentence for an error thrown while starting. */
export function describeStartupError(err: unknown, what: string): { message: string; exitCode: number } {
  if (err instanceof ConfigError) return { message: `${what}: invalid configuration: ${err.message}`, exitCode: EXIT_CONFIG_ERROR };
  const code = err instanceof Error && 'code' in err ? (err as NodeJS.ErrnoException).code : undefined;
  const address = err instanceof Error && 'address' in err ? String((err as NodeJS.ErrnoException & { address?: string }).address) : '';
  const port = err instanceof Error && 'port' in err ? String((err as NodeJS.ErrnoException & { port?: number }).port) : '';
  const where = address !== '' ? `${address}:${port}` : 'the configured address';
  if (code === 'EADDRINUSE') return { message: `${what}: cannot listen on ${where}: address already in use`, exitCode: EXIT_LISTEN_ERROR };
  if (code === 'EACCES') return { message: `${what}: cannot listen on ${where}: permission denied`, exitCode: EXIT_LISTEN_ERROR };
  if (code === 'EADDRNOTAVAIL') return { message: `${what}: cannot listen on ${where}: address not available`, exitCode: EXIT_LISTEN_ERROR };
  const message = err instanceof Error ? err.message : String(err);
  return { message: `${what}: failed to start: ${message}`, exitCode: EXIT_RUNTIME_ERROR };
}

/** Signals that stop a service gracefully; SIGHUP is the terminal going away. */
export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * A second stop signal this soon after the first is the same request, not an impatient one: Ctrl-C
 * sends SIGINT to the whole foreground process group, and `npm start`'s supervisor forwards its own
 * SIGTERM to each service at the same moment. A second signal of another kind is always taken as
 * such a forward (on a loaded machine the supervisor's SIGTERM came more than a second after the
 * terminal's SIGINT); only the same signal again, later than this, is impatience and exits at once.
 */
export const DUPLICATE_SIGNAL_WINDOW_MS = 1000;

/**
 * Starts a service and owns the process around it: a start-up failure prints one line to stderr
 * and exits non-zero; the first SIGINT/SIGTERM/SIGHUP stops the service gracefully (one of another
 * kind, or the same one arriving with it, is the same request), the same signal again later exits at once.
 */
export async function runService(what: string, start: () => Promise<RunningService>): Promise<void> {
  let service: RunningService;
  try {
    service = await start();
  } catch (err) {
    const { message, exitCode } = describeStartupError(err, what);
    process.stderr.write(`${message}\n`);
    process.exit(exitCode);
  }
  let stoppingSince: number | undefined;
  let firstSignal: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stoppingSince !== undefined) {
      if (signal !== firstSignal || performance.now() - stoppingSince < DUPLICATE_SIGNAL_WINDOW_MS) return;
      process.stderr.write(`${what}: second ${signal}, exiting now\n`);
      process.exit(130);
    }
    stoppingSince = performance.now();
    firstSignal = signal;
    service.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`${what}: error while stopping: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(EXIT_RUNTIME_ERROR);
      },
    );
  };
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
}

/** A service as its command line runs it: how to load its configuration, describe it and start it. */
export interface ServiceCommand<C> {
  /** Names the service in error lines: `metrics server: invalid configuration: ...`. */
  readonly what: string;
  readonly spec: CommandSpec;
  /** Loads and validates the configuration; throws ConfigError. */
  load(invocation: { readonly configPath: string | undefined; readonly values: Readonly<Record<string, string>> }): C;
  /** The lines `--check-config` prints for a valid configuration. */
  describe(config: C): string;
  start(config: C): Promise<RunningService>;
}

/**
 * A service's `main`: `--help` and `--version` print and exit 0; a usage error prints one line and
 * a hint and exits 2; `--check-config` validates and exits 0 or 2; otherwise the service runs under
 * runService.
 */
export async function runCommand<C>(command: ServiceCommand<C>, argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  let invocation: Invocation;
  try {
    invocation = parseCommandLine(command.spec, argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${command.spec.command}: ${err.message}\nTry '${command.spec.command} --help'.\n`);
    process.exit(EXIT_CONFIG_ERROR);
  }
  if (invocation.action === 'help') {
    process.stdout.write(usageText(command.spec));
    return;
  }
  if (invocation.action === 'version') {
    process.stdout.write(`${command.spec.command} ${projectVersion()}\n`);
    return;
  }
  if (invocation.action === 'check-config') {
    try {
      const config = command.load(invocation);
      process.stdout.write(`${command.what}: configuration OK\n${command.describe(config)}\n`);
    } catch (err) {
      const { message, exitCode } = describeStartupError(err, command.what);
      process.stderr.write(`${message}\n`);
      process.exit(exitCode);
    }
    return;
  }
  const run = invocation;
  await runService(command.what, () => command.start(command.load(run)));
}
