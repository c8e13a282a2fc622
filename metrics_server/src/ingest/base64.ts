/**
 * Strict base64 (RFC 4648 section 4, padded, no line breaks) for the push stream's Arrow events,
 * whose data is the Arrow IPC stream in base64 since an event stream is text. Node's own decoder
 * skips whatever is not base64, so a mangled event would decode to other bytes instead of failing;
 * every byte is checked here first, and the first bad one named. Pure.
 */

/** The decoded bytes, or why the text is not base64. */
export type Base64Result = { readonly ok: true; readonly bytes: Buffer } | { readonly ok: false; readonly reason: string };

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const VALID = new Uint8Array(256);
for (let i = 0; i < ALPHABET.length; i++) VALID[ALPHABET.charCodeAt(i)] = 1;
const PAD = 0x3d;

/** Decodes `text` (ASCII bytes) if it is padded base64 and nothing else. */
export function decodeBase64Strict(text: Uint8Array): Base64Result {
  const n = text.length;
  if (n % 4 !== 0) return { ok: false, reason: `not base64: ${n} characters, not a multiple of 4` };
  let end = n;
  if (end > 0 && text[end - 1] === PAD) end--;
  if (end > 0 && text[end - 1] === PAD) end--;
  for (let i = 0; i < end; i++) {
    if (VALID[text[i]!] === 0) return { ok: false, reason: `not base64: byte 0x${text[i]!.toString(16).padStart(2, '0')} at offset ${i}` };
  }
  const view = Buffer.from(text.buffer, text.byteOffset, text.byteLength);
  return { ok: true, bytes: Buffer.from(view.toString('latin1'), 'base64') };
}
