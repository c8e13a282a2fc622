/**
 * Reading a service's JSON config file, with errors that name the file. Checking its fields is
 * config-schema.ts's job, against each service's own JSON Schema.
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

/** A short, single-line rendering of a bad value for an error message. */
export function preview(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
