/**
 * Reading a service's JSON config file and checking its fields, with errors that name the file and
 * the key. Each service declares its own schema on top of these helpers.
 */
import { readFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A config problem that stops start-up. The message names the file and the field. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** The repository root, found from this module's own location (works from `dist/` too). */
export function projectRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  // common/ in source, dist/common/ when built.
  return resolve(here, basename(dirname(here)) === 'dist' ? '../..' : '..');
}

/** The parsed file, or a note that it was missing. */
export type ConfigFileResult =
  | { readonly found: false; readonly path: string }
  | { readonly found: true; readonly path: string; readonly value: Readonly<Record<string, unknown>> };

/** Reads and parses a JSON object. A missing file is not an error; anything else unreadable is. */
export function readJsonConfigFile(path: string): ConfigFileResult {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (isErrnoException(err) && err.code === 'ENOENT') return { found: false, path };
    throw new ConfigError(`${path}: cannot read config file (${describe(err)})`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${path}: invalid JSON (${describe(err)})`);
  }
  if (!isPlainObject(value)) throw new ConfigError(`${path}: the top level must be a JSON object`);
  return { found: true, path, value };
}

/** True for a JSON object (not an array, not null). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isErrnoException(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && 'code' in err;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Walks a parsed config object and reads typed fields from it. Every failure names the file and the
 * dotted key, e.g. `config.json: "switches.count" must be an integer from 1 to 1000000 (got "4")`.
 */
export class ConfigReader {
  constructor(
    private readonly file: string,
    private readonly root: Readonly<Record<string, unknown>>,
  ) {}

  fail(key: string, expectation: string, got: unknown): never {
    throw new ConfigError(`${this.file}: "${key}" ${expectation} (got ${preview(got)})`);
  }

  /** The raw value at a dotted key, or undefined if any part of the path is absent. */
  raw(key: string): unknown {
    let node: unknown = this.root;
    for (const part of key.split('.')) {
      if (node === undefined) return undefined;
      if (!isPlainObject(node)) this.fail(key.slice(0, key.indexOf(part) - 1), 'must be an object', node);
      node = node[part];
    }
    return node;
  }

  /** Rejects keys that are not in `allowed`, so a typo does not silently fall back to a default. */
  onlyKeys(section: string, allowed: readonly string[]): void {
    const node = section === '' ? this.root : this.raw(section);
    if (node === undefined) return;
    if (!isPlainObject(node)) this.fail(section, 'must be an object', node);
    for (const key of Object.keys(node)) {
      if (!allowed.includes(key)) {
        const full = section === '' ? key : `${section}.${key}`;
        throw new ConfigError(`${this.file}: unknown key "${full}" (allowed: ${allowed.join(', ')})`);
      }
    }
  }

  number(key: string, fallback: number, min: number, max: number, integer = false): number {
    const value = this.raw(key);
    if (value === undefined) return fallback;
    const ok =
      typeof value === 'number' && Number.isFinite(value) && value >= min && value <= max && (!integer || Number.isInteger(value));
    if (!ok) this.fail(key, `must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}`, value);
    return value;
  }

  optionalInteger(key: string, min: number, max: number): number | undefined {
    return this.raw(key) === undefined ? undefined : this.number(key, 0, min, max, true);
  }

  string(key: string, fallback: string): string {
    const value = this.raw(key);
    if (value === undefined) return fallback;
    if (typeof value !== 'string' || value === '') this.fail(key, 'must be a non-empty string', value);
    return value;
  }

  boolean(key: string, fallback: boolean): boolean {
    const value = this.raw(key);
    if (value === undefined) return fallback;
    if (typeof value !== 'boolean') this.fail(key, 'must be true or false', value);
    return value;
  }

  oneOf<T extends string>(key: string, fallback: T, choices: readonly T[], normalize?: (s: string) => T | undefined): T {
    const value = this.raw(key);
    if (value === undefined) return fallback;
    const chosen = typeof value === 'string' ? (normalize ? normalize(value) : choices.find((c) => c === value)) : undefined;
    if (chosen === undefined) this.fail(key, `must be one of ${choices.join(', ')}`, value);
    return chosen;
  }
}

/** A short, single-line rendering of a bad value for an error message. */
export function preview(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** Reads a numeric environment variable; throws a ConfigError naming the variable. */
export function envNumber(name: string, env: NodeJS.ProcessEnv, min: number, max: number, integer = false): number | undefined {
  const text = env[name];
  if (text === undefined || text === '') return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    throw new ConfigError(`environment variable ${name} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max} (got ${preview(text)})`);
  }
  return value;
}
