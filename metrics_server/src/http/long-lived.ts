/**
 * Responses that stay open until the server ends them (event streams). A graceful stop must not wait
 * for them (they never finish by themselves), so the app ends every one of them when it starts to
 * close, before it drains the requests that will finish.
 */
import type { ServerResponse } from 'node:http';

/** The open long-lived responses of one app. */
export class LongLivedResponses {
  private readonly open = new Set<ServerResponse>();
  private closing = false;

  /**
   * Tracks `res` until it ends. Returns false, tracking nothing, when the app is already closing:
   * the caller should then refuse the request instead of opening a stream.
   */
  track(res: ServerResponse): boolean {
    if (this.closing) return false;
    this.open.add(res);
    res.once('close', () => this.open.delete(res));
    return true;
  }

  /** How many are open now. */
  get size(): number {
    return this.open.size;
  }

  /** Ends every open one and refuses new ones (the app is closing). */
  endAll(): void {
    this.closing = true;
    for (const res of this.open) res.end();
    this.open.clear();
  }
}
