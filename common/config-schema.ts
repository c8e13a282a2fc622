/**
 * One JSON Schema per service validates its whole configuration: the file, with the environment
 * and the command line laid over it first, so a value is checked by the same rule wherever it came
 * from. ajv does the checking; this module turns ajv's first error into the sentence an operator
 * needs: which file or variable, which key, what was expected, what was found.
 *
 * The schemas are built with TypeBox helpers below (`integerIn`, `numberIn`, `choiceOf`, ...) so that
 * the expectation in an error message is derived from the same keywords the check used; the
 * published `config.schema.json` files are these schemas serialized (scripts/config-schemas.ts).
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { Type, type Static, type TBoolean, type TInteger, type TNumber, type TObject, type TPartial, type TProperties, type TSchema, type TString, type TUnsafe } from '@sinclair/typebox';
import { ConfigError, isPlainObject, preview } from './config-file.js';

/** A value laid over the file by the environment or the command line, and where it came from. */
export interface ConfigOverride {
  /** Dotted key in the file's shape, e.g. `ingestion.poll_interval_seconds`. */
  readonly key: string;
  readonly value: unknown;
  /** How an error names it: `environment variable POLL_INTERVAL_SECONDS`, `option --port`. */
  readonly origin: string;
  /** The text as given, shown in the error instead of the converted value. */
  readonly text: string;
}

/** What the command line adds: another file, and overrides that win over the environment. */
export interface CommandLineSettings {
  readonly configPath?: string;
  readonly overrides?: readonly ConfigOverride[];
}

/** How an environment variable or a command-line option maps onto a key of the file. */
export interface OverrideBinding {
  /** The variable's name (`LOG_LEVEL`) or the option's long name (`port`). */
  readonly name: string;
  readonly key: string;
  /** Numbers are converted from text; anything else is passed on as text. */
  readonly kind: 'number' | 'string';
}

/** The overrides the environment sets (unset and empty variables set nothing). */
export function environmentOverrides(env: NodeJS.ProcessEnv, bindings: readonly OverrideBinding[]): ConfigOverride[] {
  const overrides: ConfigOverride[] = [];
  for (const binding of bindings) {
    const text = env[binding.name];
    if (text === undefined || text === '') continue;
    overrides.push({ key: binding.key, value: convert(text, binding.kind), origin: `environment variable ${binding.name}`, text });
  }
  return overrides;
}

/** The overrides given as command-line options (parsed by util.parseArgs, so every value is text). */
export function optionOverrides(values: Readonly<Record<string, unknown>>, bindings: readonly OverrideBinding[]): ConfigOverride[] {
  const overrides: ConfigOverride[] = [];
  for (const binding of bindings) {
    const text = values[binding.name];
    if (typeof text !== 'string') continue;
    overrides.push({ key: binding.key, value: convert(text, binding.kind), origin: `option --${binding.name}`, text });
  }
  return overrides;
}

/** Text that is a plain decimal number becomes a number; anything else stays text for the schema to refuse. */
function convert(text: string, kind: OverrideBinding['kind']): unknown {
  if (kind === 'string') return text;
  return /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/.test(text) ? Number(text) : text;
}

/** Where the validated object came from, for error messages. */
export interface ConfigSource {
  /** The file's path (or a name for it); prefixes errors about keys the file set. */
  readonly file: string;
  /** Later overrides win over earlier ones (pass environment first, then options). */
  readonly overrides: readonly ConfigOverride[];
}

const ajv = new Ajv({ allErrors: false, verbose: true, strict: true });
ajv.addKeyword({ keyword: 'x-case-insensitive', schemaType: 'boolean' });
const compiled = new WeakMap<TSchema, ValidateFunction>();

/**
 * Lays the overrides over the file's object and validates the result against the schema. Throws a
 * ConfigError naming the file and the key (or the variable or option) of the first problem found.
 */
export function validateConfig<S extends TObject>(schema: S, fileValue: Readonly<Record<string, unknown>>, source: ConfigSource): Static<S> {
  const merged = structuredClone(fileValue) as Record<string, unknown>;
  const origins = new Map<string, ConfigOverride>();
  for (const override of source.overrides) {
    setDotted(merged, override.key, override.value, source.file);
    origins.set(override.key, override);
  }
  let validate = compiled.get(schema);
  if (validate === undefined) {
    validate = ajv.compile(schema);
    compiled.set(schema, validate);
  }
  if (validate(merged)) return merged as Static<S>;
  const first = validate.errors?.[0];
  throw new ConfigError(first === undefined ? `${source.file}: invalid configuration` : describeError(first, source.file, origins));
}

function setDotted(root: Record<string, unknown>, key: string, value: unknown, file: string): void {
  const parts = key.split('.');
  let node = root;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (next === undefined) {
      const created: Record<string, unknown> = {};
      node[part] = created;
      node = created;
    } else if (isPlainObject(next)) {
      node = next;
    } else {
      throw new ConfigError(`${file}: "${parts.slice(0, parts.indexOf(part) + 1).join('.')}" must be an object (got ${preview(next)})`);
    }
  }
  node[parts[parts.length - 1]!] = value;
}

/** `/simulation/link_capacities_mbps/1` → `simulation.link_capacities_mbps[1]`. */
export function dottedKey(instancePath: string): string {
  let key = '';
  for (const part of instancePath.split('/').slice(1)) {
    const name = part.replace(/~1/g, '/').replace(/~0/g, '~');
    key += /^\d+$/.test(name) ? `[${name}]` : key === '' ? name : `.${name}`;
  }
  return key;
}

function describeError(error: ErrorObject, file: string, origins: ReadonlyMap<string, ConfigOverride>): string {
  const key = dottedKey(error.instancePath);
  if (error.keyword === 'additionalProperties') {
    const unknown = String((error.params as { additionalProperty: string }).additionalProperty);
    const allowed = Object.keys((error.parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties ?? {});
    const full = key === '' ? unknown : `${key}.${unknown}`;
    return `${file}: unknown key "${full}" (allowed: ${allowed.join(', ')})`;
  }
  if (error.keyword === 'uniqueItems') {
    // ajv names the later copy i and the earlier j.
    const { i, j } = error.params as { i: number; j: number };
    const [first, later] = i < j ? [i, j] : [j, i];
    const items = error.data as readonly unknown[];
    return `${file}: "${key}[${later}]" repeats the value listed at [${first}] (got ${preview(items[later])})`;
  }
  const expectation = expectationOf(error.parentSchema as TSchema | undefined);
  const override = origins.get(key);
  if (override !== undefined) return `${override.origin} ${expectation} (got ${preview(override.text)})`;
  if (key === '') return `${file}: the configuration ${expectation}`;
  return `${file}: "${key}" ${expectation} (got ${preview(error.data)})`;
}

/** The rule a schema states, as the end of a sentence: `must be an integer from 1 to 1000000`. */
export function expectationOf(schema: TSchema | undefined): string {
  if (schema === undefined) return 'is invalid';
  const s = schema as Record<string, unknown>;
  const range = (): string => {
    const min = s['exclusiveMinimum'] !== undefined ? `greater than ${String(s['exclusiveMinimum'])}` : undefined;
    if (min !== undefined) return ` ${min} and at most ${String(s['maximum'])}`;
    return s['minimum'] !== undefined ? ` from ${String(s['minimum'])} to ${String(s['maximum'])}` : '';
  };
  if (s['type'] === 'integer') return `must be an integer${range()}`;
  if (s['type'] === 'number') return `must be a number${range()}`;
  if (s['type'] === 'boolean') return 'must be true or false';
  if (s['type'] === 'object') return 'must be an object';
  if (Array.isArray(s['enum'])) return `must be one of ${choicesText(s['enum'] as readonly string[], s['x-case-insensitive'] === true)}`;
  if (s['type'] === 'array') {
    const what = typeof s['description'] === 'string' ? s['description'] : 'values';
    return `must be a non-empty array of ${what}`;
  }
  if (s['type'] === 'string' && s['format'] === 'http-url') return 'must be an http:// or https:// URL';
  if (s['type'] === 'string' && s['format'] === 'redis-url') return 'must be a redis:// or rediss:// URL';
  if (s['type'] === 'string' && typeof s['pattern'] === 'string' && typeof s['x-rule'] === 'string') return `must be ${s['x-rule']}`;
  if (s['type'] === 'string') return 'must be a non-empty string without surrounding spaces';
  return 'is invalid';
}

/** `DEBUG, INFO, WARNING` from an enum that also lists each name in lower case. */
function choicesText(values: readonly string[], caseInsensitive: boolean): string {
  const shown: string[] = [];
  for (const value of values) if (!shown.some((s) => s.toLowerCase() === value.toLowerCase())) shown.push(value);
  return caseInsensitive ? `${shown.join(', ')} (upper or lower case)` : shown.join(', ');
}

ajv.addFormat('http-url', {
  type: 'string',
  validate: (text: string) => {
    try {
      const url = new URL(text);
      return url.protocol === 'http:' || url.protocol === 'https:';
    } catch {
      return false;
    }
  },
});

ajv.addFormat('redis-url', {
  type: 'string',
  validate: (text: string) => {
    try {
      const url = new URL(text);
      return url.protocol === 'redis:' || url.protocol === 'rediss:';
    } catch {
      return false;
    }
  },
});
ajv.addKeyword({ keyword: 'x-rule', schemaType: 'string' });

/** A redis:// or rediss:// URL (node-redis's form: `redis://[[user]:password@]host[:port][/db]`). */
export function redisUrl(description: string, fallback: string): TString {
  return Type.String({ format: 'redis-url', description, default: fallback });
}

/** Text matching `pattern`; `rule` says the pattern in words for the error message (`must be ...`). */
export function textMatching(pattern: string, rule: string, description: string, fallback: string): TString {
  return Type.String({ pattern, 'x-rule': rule, description, default: fallback });
}

/** An integer in [min, max]. */
export function integerIn(min: number, max: number, description: string, fallback?: number): TInteger {
  return Type.Integer({ minimum: min, maximum: max, description, ...(fallback === undefined ? {} : { default: fallback }) });
}

/** A number in [min, max], or in (min, max] when `excludeMin` is set. */
export function numberIn(min: number, max: number, description: string, fallback: number, excludeMin = false): TNumber {
  const bounds = excludeMin ? { exclusiveMinimum: min, maximum: max } : { minimum: min, maximum: max };
  return Type.Number({ ...bounds, description, default: fallback });
}

/** True or false. */
export function flag(description: string, fallback: boolean): TBoolean {
  return Type.Boolean({ description, default: fallback });
}

/**
 * One of a list of names, written all in upper or all in lower case (`INFO` or `info`): the same
 * rule for every enumerated setting, in the file, the environment and the command line.
 */
export function choiceOf(names: readonly string[], description: string, fallback: string): TUnsafe<string> {
  const spellings = names.flatMap((n) => [n, n.toUpperCase(), n.toLowerCase()]).filter((v, i, all) => all.indexOf(v) === i);
  return Type.Unsafe<string>({ type: 'string', enum: spellings, 'x-case-insensitive': true, description, default: fallback });
}

/** An http:// or https:// URL. */
export function httpUrl(description: string, fallback: string): TString {
  return Type.String({ format: 'http-url', description, default: fallback });
}

/** A host name or address: not empty, no spaces around it. */
export function hostName(description: string, fallback: string): TString {
  return Type.String({ minLength: 1, pattern: '^\\S(.*\\S)?$', description, default: fallback });
}

/** A section of the file: an object whose keys are all optional and must be known. */
export function section<P extends TProperties>(properties: P, description: string): TPartial<TObject<P>> {
  return Type.Partial(Type.Object(properties), { additionalProperties: false, description });
}
