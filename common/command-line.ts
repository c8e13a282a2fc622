/**
 * Both services' command lines, parsed by Node's own `util.parseArgs` in strict mode: an unknown
 * flag or a missing value is a usage error (exit 2), never silently ignored. `--help` and
 * `--version` print and exit before anything starts; `--check-config` validates and exits.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { projectRoot } from './config-file.js';

/** One option a service accepts. */
export interface OptionSpec {
  readonly name: string;
  readonly short?: string;
  /** Set for options that take a value: its placeholder in the help text (`PORT`). */
  readonly value?: string;
  readonly help: string;
}

/** What `--help` describes, and what the parser accepts. */
export interface CommandSpec {
  /** The command's name as installed (`fabric-metrics-server`). */
  readonly command: string;
  readonly summary: string;
  /** The service's own options; the common ones (help, version, config, check-config) are added. */
  readonly options: readonly OptionSpec[];
  /** Environment variables the service reads, listed in the help text. */
  readonly environment: readonly string[];
}

/** What the command line asks for. */
export type Invocation =
  | { readonly action: 'help' }
  | { readonly action: 'version' }
  | {
      readonly action: 'run' | 'check-config';
      readonly configPath: string | undefined;
      /** The service's own options that were given, as text. */
      readonly values: Readonly<Record<string, string>>;
    };

/** A command line that cannot be obeyed; the runner prints it with a hint and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

const COMMON_OPTIONS: readonly OptionSpec[] = [
  { name: 'config', short: 'c', value: 'FILE', help: 'read this config file instead of the default' },
  { name: 'check-config', help: 'validate the configuration (file, environment, options), print a summary and exit' },
  { name: 'help', short: 'h', help: 'print this help and exit' },
  { name: 'version', short: 'V', help: 'print the version and exit' },
];

/** Parses `argv` (without node and the script). Throws UsageError for anything not understood. */
export function parseCommandLine(spec: CommandSpec, argv: readonly string[]): Invocation {
  const all = [...spec.options, ...COMMON_OPTIONS];
  const options = Object.fromEntries(
    all.map((o) => [o.name, { type: o.value === undefined ? ('boolean' as const) : ('string' as const), ...(o.short === undefined ? {} : { short: o.short }) }]),
  );
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message.split('\n')[0]! : String(err));
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  if (values['help'] === true) return { action: 'help' };
  if (values['version'] === true) return { action: 'version' };
  const given: Record<string, string> = {};
  for (const option of spec.options) {
    const value = values[option.name];
    if (typeof value === 'string') {
      if (value === '') throw new UsageError(`option --${option.name} needs a value`);
      given[option.name] = value;
    }
  }
  const configPath = values['config'];
  if (configPath === '') throw new UsageError('option --config needs a file');
  return {
    action: values['check-config'] === true ? 'check-config' : 'run',
    configPath: typeof configPath === 'string' ? configPath : undefined,
    values: given,
  };
}

/** The text `--help` prints. */
export function usageText(spec: CommandSpec): string {
  const rows = [...spec.options, ...COMMON_OPTIONS].map((o) => {
    const flags = `${o.short === undefined ? '    ' : `-${o.short}, `}--${o.name}${o.value === undefined ? '' : ` ${o.value}`}`;
    return `  ${flags.padEnd(26)} ${o.help}`;
  });
  return [
    `Usage: ${spec.command} [options]`,
    '',
    spec.summary,
    '',
    'Options (they override the environment, which overrides the config file):',
    ...rows,
    '',
    `Environment: ${spec.environment.join(', ')}`,
    '',
    'Exit codes: 0 stopped cleanly, 1 runtime error, 2 bad configuration or usage, 3 cannot listen.',
    '',
  ].join('\n');
}

/** The project's version, from its package.json (the one truth for both services). */
export function projectVersion(): string {
  const pkg = JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}
