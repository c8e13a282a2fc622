/**
 * The node-redis edge: one command connection and one subscriber connection (a `duplicate()`, since a
 * connection in subscribe mode can run nothing else), Lua scripts by EVALSHA with the EVAL fallback,
 * and a deadline on every command so a slow Redis delays a cycle by at most that deadline instead of
 * hanging the election or a publish. Values are read as Buffers: the snapshot is binary.
 */
import { createHash } from 'node:crypto';
import { createClient, RESP_TYPES } from 'redis';

/** node-redis client reading bulk strings as Buffers. */
function makeClient(url: string, connectTimeoutMs: number) {
  return createClient({
    url,
    // Commands fail at once while disconnected instead of queueing: the caller keeps its last snapshot
    // and retries on its own schedule, rather than a queue replaying stale work after a long outage.
    disableOfflineQueue: true,
    socket: {
      connectTimeout: connectTimeoutMs,
      // Never give up (a Redis restart must heal without restarting us); at most one attempt a second.
      reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 1000),
    },
  }).withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
}

/** The client type this module hands out. */
export type RedisClient = ReturnType<typeof makeClient>;

/** A script and its SHA-1, for EVALSHA. */
export interface LuaScript {
  readonly source: string;
  readonly sha: string;
}

/** `source` with its SHA-1. */
export function luaScript(source: string): LuaScript {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

/** A command did not answer within its deadline. */
export class RedisTimeout extends Error {
  override readonly name = 'RedisTimeout';
}

/** Events of the connection that the store turns into state and log lines. */
export interface ConnectionEvents {
  /** The command connection is ready (first time or after a reconnect). */
  ready(reconnect: boolean): void;
  /** The command connection failed or dropped. */
  error(message: string): void;
  /** A message on the subscribed channel. */
  message(text: string): void;
}

/** The two connections of one store. */
export class RedisConnection {
  readonly client: RedisClient;
  private readonly subscriber: RedisClient;
  private everReady = false;
  private closed = false;

  constructor(
    url: string,
    private readonly commandTimeoutMs: number,
    private readonly channel: string,
    events: ConnectionEvents,
  ) {
    this.client = makeClient(url, Math.max(commandTimeoutMs, 500));
    // The subscriber queues its SUBSCRIBE until connected, and node-redis resubscribes after a reconnect.
    this.subscriber = this.client.duplicate({ disableOfflineQueue: false });
    this.client.on('ready', () => {
      events.ready(this.everReady);
      this.everReady = true;
    });
    this.client.on('error', (err: unknown) => events.error(errorText(err)));
    // Subscriber errors repeat the command connection's (same server): only keep node-redis from throwing.
    this.subscriber.on('error', () => undefined);
    void this.subscriber.subscribe(this.channel, (message: Buffer | string) => events.message(message.toString())).catch(() => undefined);
  }

  /** Starts connecting both; resolves when the command connection is ready or after `waitMs`, whichever is first. */
  async open(waitMs: number): Promise<boolean> {
    const ready = Promise.all([this.client.connect(), this.subscriber.connect()]).then(
      () => true,
      () => false,
    );
    return Promise.race([ready, delay(waitMs).then(() => false)]);
  }

  /** Whether commands can be sent now. */
  get isReady(): boolean {
    return this.client.isReady;
  }

  /** Runs a script by SHA, loading it with EVAL when Redis does not know it (first use, or after a restart). */
  async run(script: LuaScript, keys: readonly string[], args: readonly (string | Buffer)[]): Promise<unknown> {
    return this.deadline(async () => {
      const options = { keys: [...keys], arguments: [...args] };
      try {
        return await this.client.evalSha(script.sha, options);
      } catch (err) {
        if (errorText(err).startsWith('NOSCRIPT')) return this.client.eval(script.source, options);
        throw err;
      }
    }, 'script');
  }

  /** MGET with the deadline. */
  async mGet(keys: readonly string[]): Promise<(Buffer | null)[]> {
    return this.deadline(() => this.client.mGet([...keys]), 'MGET');
  }

  /** GET with the deadline. */
  async get(key: string): Promise<Buffer | null> {
    return this.deadline(() => this.client.get(key), 'GET');
  }

  /** Closes both connections without waiting for a Redis that may be gone. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const c of [this.subscriber, this.client]) {
      try {
        c.destroy();
      } catch {
        // Already closed (never connected): nothing to release.
      }
    }
  }

  private async deadline<T>(run: () => Promise<T>, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new RedisTimeout(`Redis ${what} did not answer within ${this.commandTimeoutMs} ms`)), this.commandTimeoutMs);
    });
    try {
      return await Promise.race([run(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** An error's message (node-redis errors carry the server's text: `WRONGPASS ...`, `ECONNREFUSED`). */
export function errorText(err: unknown): string {
  if (err instanceof Error) return err.message !== '' ? err.message : err.name;
  return String(err);
}

/** A script reply as integers, or undefined when it is not a list of integers. */
export function integers(reply: unknown): number[] | undefined {
  if (!Array.isArray(reply)) return undefined;
  const out: number[] = [];
  for (const item of reply as unknown[]) {
    if (typeof item !== 'number' || !Number.isSafeInteger(item)) return undefined;
    out.push(item);
  }
  return out;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
