/**
 * Every error answer of the metrics server, in one place: a status code and a message for
 * `{"error": "..."}`. Messages describe the request, never the server's internals.
 */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly statusCode: number,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}

/** 400 with `message`. */
export const badRequest = (message: string): HttpError => new HttpError(400, message);
/** 404 with `message`. */
export const notFound = (message: string): HttpError => new HttpError(404, message);
/** 503 before the first snapshot, with `Retry-After: 1`. */
export const noSnapshotYet = (): HttpError => new HttpError(503, 'no telemetry snapshot has been ingested yet', { 'retry-after': '1' });
/** 405 with the `Allow` header. */
export const methodNotAllowed = (method: string, allow: string): HttpError =>
  new HttpError(405, `method ${method} is not allowed on this path (allowed: ${allow})`, { allow });

/** The body of every error answer. */
export function errorJson(message: string): string {
  return JSON.stringify({ error: message });
}

/** The reason phrases we send on errors that Node raises before a request object exists. */
export const CLIENT_ERROR_STATUS: Readonly<Record<string, { status: number; text: string; message: string }>> = {
  HPE_HEADER_OVERFLOW: { status: 431, text: 'Request Header Fields Too Large', message: 'request headers too large' },
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, text: 'Request Timeout', message: 'request not received in time' },
};
