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

/** What `scanGetMetricQuery` found (one module-level pair: no object per request). */
export const scannedGetMetric = { switchId: '', metric: '' };

const PERCENT = 37;
const PLUS = 43;
const AMPERSAND = 38;
const EQUALS = 61;

/**
 * The read fast path's query reading, without building a query object: true when `url` from index
 * `from` is a plain query string (no percent-encoding, no `+`) in which `switch` and `metric` each
 * appear exactly once with a value that `switchParam`/`metricParam` accept; the two values are then
 * in `scannedGetMetric`. Anything else returns false and the route, with the framework's parser,
 * answers. Other parameters are ignored, as the route ignores them. (A query-string library built an
 * object per request whose shapes went megamorphic: V8's property-definition runtime topped the
 * instruction profile of some server runs.)
 */
export function scanGetMetricQuery(url: string, from: number): boolean {
  const end = url.length;
  let switchId: string | undefined;
  let metric: string | undefined;
  let start = from;
  while (start < end) {
    let pairEnd = start;
    let equals = -1;
    for (; pairEnd < end; pairEnd++) {
      const c = url.charCodeAt(pairEnd);
      if (c === AMPERSAND) break;
      if (c === PERCENT || c === PLUS) return false;
      if (c === EQUALS && equals === -1) equals = pairEnd;
    }
    const keyEnd = equals === -1 ? pairEnd : equals;
    if (keyEnd - start === 6) {
      const isSwitch = url.startsWith('switch', start);
      if (isSwitch || url.startsWith('metric', start)) {
        if (equals === -1 || (isSwitch ? switchId : metric) !== undefined) return false;
        const value = url.slice(equals + 1, pairEnd);
        if (isSwitch) switchId = value;
        else metric = value;
      }
    }
    start = pairEnd + 1;
  }
  if (switchId === undefined || metric === undefined || !isValidSwitchId(switchId) || !isValidMetricName(metric)) return false;
  scannedGetMetric.switchId = switchId;
  scannedGetMetric.metric = metric;
  return true;
}
