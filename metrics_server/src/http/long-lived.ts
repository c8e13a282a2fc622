/**
 * Responses that stay open until the server ends them (event streams). A graceful stop must not wait
 * for them (they never finish by themselves), so the app ends every one of them when it starts to
 * close, before it drains the requests that will finish.
 */
import type { ServerResponse } from 'node:http';

/** The open long-lived responses of one app. */
export class LongLivedResponses {
  /** Each open response and how to end it (its owner's way, or `res.end()`). */
  private readonly open = new Map<ServerResponse, () => void>();
  private closing = false;

  /**
   * Tracks `res` until it ends; `end` is how to end it at close (a deflate stream writes its
   * trailer first). Returns false, tracking nothing, when the app is already closing: the caller
   * should then refuse the request instead of opening a stream.
   */
  track(res: ServerResponse, end: () => void = () => res.end()): boolean {
    if (this.closing) return false;
    this.open.set(res, end);
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
    for (const end of this.open.values()) end();
    this.open.clear();
  }
}
