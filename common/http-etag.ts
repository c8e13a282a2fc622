/**
 * `If-None-Match` matching, shared by both services (RFC 9110 section 13.1.2): a comma-separated list
 * of entity tags compared weakly (a `W/` prefix is ignored), and `*` matches any current entity.
 */
export function etagListMatches(header: string, etag: string): boolean {
  const opaque = stripWeak(etag);
  for (const candidate of header.split(',')) {
    const tag = candidate.trim();
    if (tag === '*' || stripWeak(tag) === opaque) return true;
  }
  return false;
}

function stripWeak(tag: string): string {
  return tag.startsWith('W/') ? tag.slice(2) : tag;
}
