/**
 * The CSV header line: which column holds the switch id and which metrics the others are. The test
 * suite's reference parser has its own header analysis, so the equivalence property checks this one.
 */
import { SWITCH_ID_COLUMN, isValidMetricName } from '../../../../common/telemetry-schema.js';

/** More columns than this and the body is refused before the header is split (one bad response must not cost unbounded memory). */
export const MAX_COLUMNS = 256;

/** The header's metrics and where the id column is, or why the header is unusable. */
export type HeaderAnalysis =
  | { readonly ok: true; readonly metrics: readonly string[]; readonly idColumn: number }
  | { readonly ok: false; readonly reason: string };

/** Validates the header line (without its line ending). */
export function analyzeHeader(line: string): HeaderAnalysis {
  if (line.trim() === '') return { ok: false, reason: 'no header line' };
  // Count first, so a header of millions of columns is refused before it is split.
  let commas = 0;
  for (let i = line.indexOf(','); i !== -1; i = line.indexOf(',', i + 1)) {
    commas += 1;
    if (commas >= MAX_COLUMNS) return { ok: false, reason: `header has more than ${MAX_COLUMNS} columns` };
  }
  const names = line.split(',');
  const idColumn = names.indexOf(SWITCH_ID_COLUMN);
  if (idColumn === -1) return { ok: false, reason: `header has no ${SWITCH_ID_COLUMN} column` };
  const seen = new Set<string>();
  const metrics: string[] = [];
  for (const [i, name] of names.entries()) {
    if (seen.has(name)) return { ok: false, reason: `duplicate column ${quoteUpstream(name)}` };
    seen.add(name);
    if (i === idColumn) continue;
    if (!isValidMetricName(name)) return { ok: false, reason: `invalid column name ${quoteUpstream(name)}` };
    metrics.push(name);
  }
  if (metrics.length === 0) return { ok: false, reason: 'header has no metric columns' };
  return { ok: true, metrics, idColumn };
}

/**
 * Quotes upstream text for an error message: short, single-line, no raw control characters.
 * JSON.stringify escapes C0 controls but leaves DEL, C1 controls (U+0080-U+009F, e.g. NEL) and
 * U+2028/U+2029 raw; the fault suite caught a column name carrying them into a log line, so those
 * are escaped too.
 */
export function quoteUpstream(text: string): string {
  const short = text.length > 40 ? `${text.slice(0, 40)}...` : text;
  return JSON.stringify(short).replace(/[\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
