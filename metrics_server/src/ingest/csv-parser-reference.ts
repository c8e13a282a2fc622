/**
 * The straightforward CSV parser: decode to a string, split lines and fields with `indexOf`, validate
 * each token with the schema's regular expressions, deduplicate ids with a `Set`. This was the
 * production parser before the byte parser in `csv-parser.ts` replaced it; it stays as the reference
 * that the property tests compare the byte parser against, and as a row of `npm run bench`.
 */
import { isValidSwitchId, parseDecimalNumber } from '../../../common/telemetry-schema.js';
import { analyzeHeader, emptyRejectCounts, type ParseResult, type RowRejectReason } from './csv-parser.js';

const BOM = '\uFEFF';

export function parseTelemetryCsvReference(input: string): ParseResult {
  const text = input.startsWith(BOM) ? input.slice(1) : input;
  if (text.trim() === '') return { ok: false, reason: 'empty body' };

  let headerEnd = text.indexOf('\n');
  if (headerEnd === -1) headerEnd = text.length;
  const headerLine = text.slice(0, headerEnd);
  const header = analyzeHeader(headerLine.endsWith('\r') ? headerLine.slice(0, -1) : headerLine);
  if (!header.ok) return header;
  const { metrics, idColumn } = header;
  const fieldCount = metrics.length + 1;

  const rejected = emptyRejectCounts();
  const ids: string[] = [];
  const seen = new Set<string>();
  let values = new Float64Array(Math.max(16, metrics.length * 1024));
  let rowsSeen = 0;
  const rowValues = new Float64Array(metrics.length);

  let pos = headerEnd + 1;
  while (pos < text.length) {
    let lineEnd = text.indexOf('\n', pos);
    if (lineEnd === -1) lineEnd = text.length;
    let end = lineEnd;
    if (end > pos && text.charCodeAt(end - 1) === 13) end -= 1;
    const lineStart = pos;
    pos = lineEnd + 1;
    if (end === lineStart) continue; // blank line, e.g. the trailing newline
    rowsSeen += 1;

    let field = 0;
    let start = lineStart;
    let id: string | undefined;
    let bad: RowRejectReason | undefined;
    for (;;) {
      let comma = text.indexOf(',', start);
      if (comma === -1 || comma > end) comma = end;
      if (field >= fieldCount) {
        bad = 'wrong_field_count';
        break;
      }
      const token = text.slice(start, comma);
      if (field === idColumn) {
        id = token;
      } else if (bad === undefined) {
        const value = parseDecimalNumber(token);
        if (value === undefined) bad = 'invalid_number';
        else rowValues[field < idColumn ? field : field - 1] = value;
      }
      field += 1;
      if (comma === end) break;
      start = comma + 1;
    }
    if (bad !== 'wrong_field_count' && field !== fieldCount) bad = 'wrong_field_count';
    if (bad === undefined && (id === undefined || !isValidSwitchId(id))) bad = 'invalid_switch_id';
    if (bad === undefined && seen.has(id!)) bad = 'duplicate_switch_id';
    if (bad !== undefined) {
      rejected[bad] += 1;
      continue;
    }
    const row = ids.length;
    if ((row + 1) * metrics.length > values.length) {
      const grown = new Float64Array(values.length * 2);
      grown.set(values);
      values = grown;
    }
    values.set(rowValues, row * metrics.length);
    ids.push(id!);
    seen.add(id!);
  }

  if (ids.length === 0) {
    return { ok: false, reason: rowsSeen === 0 ? 'no data rows' : 'no valid row', rejected };
  }
  return {
    ok: true,
    data: { metrics, switchIds: ids, values: values.slice(0, ids.length * metrics.length), rejected, rowsSeen },
  };
}
