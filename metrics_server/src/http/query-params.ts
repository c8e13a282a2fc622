/**
 * Reading the two query parameters of GetMetric strictly: each must appear exactly once and be
 * non-empty, and must match the schema's pattern before it is used or echoed anywhere.
 */
import { isValidMetricName, isValidSwitchId } from '../../../common/telemetry-schema.js';
import { badRequest } from './errors.js';

/** A parsed query string: one value, or several when the parameter was repeated. */
export type Query = Readonly<Record<string, string | readonly string[] | undefined>>;

/** The parameter's one non-empty value, or the 400 for missing, repeated or empty. */
export function singleParam(query: Query, name: string): string {
  const value = Object.prototype.hasOwnProperty.call(query, name) ? query[name] : undefined;
  if (value === undefined) throw badRequest(`missing query parameter '${name}'`);
  if (typeof value !== 'string') throw badRequest(`query parameter '${name}' must be given once`);
  if (value === '') throw badRequest(`query parameter '${name}' is empty`);
  return value;
}

/** The `switch` parameter, checked against the switch id pattern (400 otherwise). */
export function switchParam(query: Query): string {
  const id = singleParam(query, 'switch');
  if (!isValidSwitchId(id)) throw badRequest("query parameter 'switch' is not a valid switch id (letters, digits and _ . : -, at most 64)");
  return id;
}

/** The `metric` parameter, checked against the metric name pattern (400 otherwise). */
export function metricParam(query: Query): string {
  const name = singleParam(query, 'metric');
  if (!isValidMetricName(name)) throw badRequest("query parameter 'metric' is not a valid metric name (letters, digits and _, at most 64)");
  return name;
}

/**
 * The same rules without building an error: the value when `switchParam`/`metricParam` would accept
 * it, else undefined. For the read fast path, which hands anything doubtful to the routes above.
 */
export function acceptedParam(query: Query, name: 'switch' | 'metric'): string | undefined {
  const value = Object.prototype.hasOwnProperty.call(query, name) ? query[name] : undefined;
  if (typeof value !== 'string') return undefined;
  return (name === 'switch' ? isValidSwitchId(value) : isValidMetricName(value)) ? value : undefined;
}
