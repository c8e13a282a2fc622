/**
 * One HTTP fetch of the generator's counters (CSV or Arrow, as `accept` asks), bounded in time and size. Conditional: sends the last ETag
 * and reports a `304` as "not modified" without reading a body. Redirects are not followed (the
 * generator has no reason to send one; following them invites loops). Every failure is a
 * `FetchError` whose message says what happened, fit for a log line and the Status endpoint.
 */
import http from 'node:http';
import https from 'node:https';

/** What went wrong with a fetch, for callers that care about the kind. */
export type FetchFailureKind = 'connect' | 'timeout' | 'http_status' | 'too_large' | 'aborted';

/** A failed fetch, its message fit for a log line and Status. */
export class FetchError extends Error {
  override readonly name = 'FetchError';
  constructor(
    readonly kind: FetchFailureKind,
    message: string,
  ) {
    super(message);
  }
}

/** A body (with its ETag), or `304 Not Modified`. */
export type FetchOutcome =
  | { readonly kind: 'not_modified'; readonly status: 304 }
  | { readonly kind: 'ok'; readonly status: number; readonly body: Uint8Array; readonly etag: string | undefined; readonly contentType: string | undefined };

/** Limits of one fetch and the ETag to send. */
export interface FetchOptions {
  readonly timeoutMs: number;
  readonly maxBodyBytes: number;
  readonly ifNoneMatch?: string | undefined;
  /** The `Accept` header to send; `text/csv` when absent. */
  readonly accept?: string;
}

// Keep-alive: a poll every second to the same generator should not pay a TCP handshake each time.
const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 1 });

/** Fetches the generator's counters once; rejects with a `FetchError`. */
export function fetchCounters(url: URL, options: FetchOptions): Promise<FetchOutcome> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (err: FetchError | undefined, outcome?: FetchOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      if (err !== undefined) {
        request.destroy();
        reject(err);
      } else resolve(outcome!);
    };
    const headers: Record<string, string> = { accept: options.accept ?? 'text/csv' };
    if (options.ifNoneMatch !== undefined) headers['if-none-match'] = options.ifNoneMatch;
    const secure = url.protocol === 'https:';
    // One deadline for the whole exchange (connect, headers, body): a slow trickle cannot hold a poll.
    const deadline = setTimeout(() => finish(new FetchError('timeout', `no complete response within ${options.timeoutMs} ms`)), options.timeoutMs);
    let retried = false;
    let responded = false;
    let request = send();

    function send(): http.ClientRequest {
      const req = (secure ? https : http).request(url, { method: 'GET', headers, agent: secure ? httpsAgent : httpAgent });
      req.on('error', (err: NodeJS.ErrnoException) => onError(req, err));
      req.on('response', onResponse);
      req.end();
      return req;
    }

    function onError(req: http.ClientRequest, err: NodeJS.ErrnoException): void {
      if (settled || req !== request) return;
      const code = err.code ?? '';
      // A kept-alive socket the generator closed while idle (it restarted, or its keep-alive timeout
      // ran out) fails the first write with a reset. Found by the fault suite: a restarted generator
      // made the next poll fail with "connection reset" instead of connecting afresh. As Node's docs
      // advise (request.reusedSocket), retry such a GET once on a new connection, within the deadline.
      if (req.reusedSocket && !retried && !responded && (code === 'ECONNRESET' || code === 'EPIPE')) {
        retried = true;
        request = send();
        return;
      }
      if (code === 'ECONNRESET' || code === 'EPIPE') finish(new FetchError('aborted', `connection reset (${code})`));
      else finish(new FetchError('connect', `cannot connect: ${code !== '' ? code : err.message}`));
    }

    function onResponse(response: http.IncomingMessage): void {
      responded = true;
      const status = response.statusCode ?? 0;
      if (status === 304) {
        response.resume();
        finish(undefined, { kind: 'not_modified', status: 304 });
        return;
      }
      if (status !== 200) {
        response.resume();
        const location = status >= 300 && status < 400 && typeof response.headers.location === 'string' ? ' (redirects are not followed)' : '';
        finish(new FetchError('http_status', `HTTP ${status}${location}`));
        return;
      }
      const declared = Number(response.headers['content-length']);
      if (Number.isFinite(declared) && declared > options.maxBodyBytes) {
        finish(new FetchError('too_large', `Content-Length ${declared} exceeds the limit of ${options.maxBodyBytes} bytes`));
        return;
      }
      // With a declared length, read straight into one buffer of our own (transferable to the worker).
      const exact = Number.isFinite(declared) && declared >= 0 ? Buffer.allocUnsafeSlow(declared) : undefined;
      const chunks: Buffer[] = [];
      let received = 0;
      response.on('data', (chunk: Buffer) => {
        if (settled) return;
        if (received + chunk.length > options.maxBodyBytes) {
          finish(new FetchError('too_large', `body exceeds the limit of ${options.maxBodyBytes} bytes`));
          return;
        }
        if (exact !== undefined) {
          if (received + chunk.length > exact.length) {
            finish(new FetchError('aborted', 'body longer than its Content-Length'));
            return;
          }
          chunk.copy(exact, received);
        } else chunks.push(chunk);
        received += chunk.length;
      });
      response.on('aborted', () => finish(new FetchError('aborted', `connection closed mid-body after ${received} bytes`)));
      response.on('error', () => finish(new FetchError('aborted', `connection closed mid-body after ${received} bytes`)));
      response.on('end', () => {
        if (!response.complete || (exact !== undefined && received !== exact.length)) {
          finish(new FetchError('aborted', `connection closed mid-body after ${received} bytes`));
          return;
        }
        const etag = typeof response.headers.etag === 'string' ? response.headers.etag : undefined;
        const contentType = response.headers['content-type'];
        finish(undefined, { kind: 'ok', status, body: exact ?? concatOwned(chunks, received), etag, contentType });
      });
    }
  });
}

/** Concatenates into a buffer that owns its whole ArrayBuffer, so it can be transferred. */
function concatOwned(chunks: readonly Buffer[], length: number): Uint8Array {
  const out = Buffer.allocUnsafeSlow(length);
  let offset = 0;
  for (const chunk of chunks) {
    chunk.copy(out, offset);
    offset += chunk.length;
  }
  return out;
}
