/**
 * A programmable fake telemetry generator on loopback (127.0.0.1, port 0) for fault tests. Each
 * named behaviour is one way a real upstream can go wrong (or right); a test switches behaviour
 * between polls with `behave(name)`. The port stays the same across behaviours, including `refuse`,
 * which closes the listening socket and re-opens it on the same port for the next behaviour.
 *
 * Large bodies (the size-limit cases, millions of columns) are streamed in chunks generated on
 * demand with backpressure, so the test process never holds them whole.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { METRIC_NAMES, csvHeader } from '../../common/telemetry-schema.js';

export const HEADER = csvHeader(METRIC_NAMES);

/** A valid generator-like CSV: `count` switches, values derived from `tick` so each tick differs. */
export function goodCsv(tick: number, count = 5, eol = '\n'): string {
  const lines = [HEADER];
  for (let i = 1; i <= count; i++) {
    const up = (i + tick) % 7 !== 0;
    lines.push(
      up
        ? `sw${i},${1000 * i + tick},${((i * 37 + tick) % 500) / 100},${(i * tick) % 3},1,${(i * 11 + tick) % 4096},${((i * 13 + tick) % 1000) / 10}`
        : `sw${i},0,0,0,0,0,0`,
    );
  }
  return lines.join(eol) + eol;
}

/** Row-level faults: a good CSV plus extra bad rows. `bad` rows are appended after the good ones. */
function withRows(tick: number, bad: readonly string[]): string {
  return goodCsv(tick) + bad.join('\n') + '\n';
}

const VALUES = '1,2,0,1,3,4.5';

/** Every named behaviour. Bodies are functions of the current tick so a good cycle is distinguishable. */
export const BEHAVIOURS = [
  'good',
  'refuse',
  'hang',
  'slow_bytes',
  'cut_mid_body',
  'status_500',
  'status_404',
  'redirect_loop',
  'too_large_declared',
  'too_large_chunked',
  'empty',
  'header_only',
  'binary',
  'bom',
  'crlf',
  'missing_switch_id',
  'duplicate_columns',
  'all_rows_bad',
  'nan',
  'infinity',
  'negative',
  'exponent',
  'quoted',
  'id_comma',
  'id_quote',
  'id_space',
  'id_control',
  'id_10kb',
  'duplicate_ids',
  'wrong_field_count',
  'millions_of_columns',
  'bad_metric_name',
] as const;
export type Behaviour = (typeof BEHAVIOURS)[number];

export interface FakeGeneratorOptions {
  /** Bytes for the oversized bodies; must exceed the server's max_body_bytes. */
  readonly oversizeBytes: number;
  /** Columns in the `millions_of_columns` header. */
  readonly columns: number;
}

export class FakeGenerator {
  private server: http.Server;
  private readonly sockets = new Set<Socket>();
  private behaviour: Behaviour = 'good';
  private port = 0;
  private listening = false;
  /** Incremented by `behave('good')`, so each good cycle serves different values. */
  tick = 0;
  requests = 0;
  /** Set when the fake was asked for a behaviour it streams and the client went away early. */
  aborted = 0;

  private constructor(private readonly options: FakeGeneratorOptions) {
    this.server = this.createServer();
  }

  static async start(options: Partial<FakeGeneratorOptions> = {}): Promise<FakeGenerator> {
    const fake = new FakeGenerator({ oversizeBytes: 2 * 1024 * 1024, columns: 2_000_000, ...options });
    await fake.listen();
    return fake;
  }

  get url(): URL {
    return new URL(`http://127.0.0.1:${this.port}/counters`);
  }

  /** The CSV a `good` cycle serves right now. */
  currentGoodCsv(): string {
    return goodCsv(this.tick);
  }

  async behave(name: Behaviour): Promise<void> {
    if (name === 'good') this.tick += 1;
    this.behaviour = name;
    if (name === 'refuse') await this.unlisten();
    else if (!this.listening) await this.listen();
  }

  async close(): Promise<void> {
    await this.unlisten();
  }

  private createServer(): http.Server {
    const server = http.createServer((req, res) => {
      this.requests += 1;
      this.handle(req, res);
    });
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    return server;
  }

  private listen(): Promise<void> {
    this.server = this.createServer();
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, '127.0.0.1', () => {
        this.port = (this.server.address() as AddressInfo).port;
        this.listening = true;
        resolve();
      });
    });
  }

  private unlisten(): Promise<void> {
    if (!this.listening) return Promise.resolve();
    this.listening = false;
    for (const socket of this.sockets) socket.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const csv = (body: string | Buffer): void => {
      res.writeHead(200, { 'content-type': 'text/csv', 'content-length': String(Buffer.byteLength(body)) }).end(body);
    };
    switch (this.behaviour) {
      case 'good':
        res.writeHead(200, { 'content-type': 'text/csv', etag: `"t${this.tick}"` }).end(goodCsv(this.tick));
        return;
      case 'refuse':
        // Not reached: the listener is closed. Answer like a dead peer if it ever is.
        req.socket.destroy();
        return;
      case 'hang':
        // Accept, read the request, never answer. The socket is destroyed on close().
        return;
      case 'slow_bytes': {
        const body = Buffer.from(goodCsv(this.tick));
        res.writeHead(200, { 'content-type': 'text/csv', 'content-length': String(body.length) });
        let i = 0;
        const timer = setInterval(() => {
          if (i >= body.length || res.destroyed) {
            clearInterval(timer);
            if (!res.destroyed) res.end();
            return;
          }
          res.write(body.subarray(i, i + 1));
          i += 1;
        }, 40);
        res.on('close', () => clearInterval(timer));
        return;
      }
      case 'cut_mid_body': {
        const body = goodCsv(this.tick);
        res.writeHead(200, { 'content-type': 'text/csv', 'content-length': String(Buffer.byteLength(body)) });
        res.write(body.slice(0, Math.floor(body.length / 2)));
        setTimeout(() => req.socket.destroy(), 20);
        return;
      }
      case 'status_500':
        res.writeHead(500, { 'content-type': 'text/plain' }).end('internal error');
        return;
      case 'status_404':
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"no such path"}');
        return;
      case 'redirect_loop':
        // Always points back at itself: a client that follows redirects never gets a body.
        res.writeHead(302, { location: '/counters' }).end();
        return;
      case 'too_large_declared':
        this.stream(res, this.options.oversizeBytes, true, () => 'sw1,1,1,1,1,1,1\n');
        return;
      case 'too_large_chunked':
        this.stream(res, this.options.oversizeBytes, false, () => 'sw1,1,1,1,1,1,1\n');
        return;
      case 'millions_of_columns': {
        // `switch_id,c,c,…` generated lazily in 16 KB chunks: the test never holds the header whole.
        // Two bytes a column keep two million columns (~4 MB) under a body limit of a few MB.
        let next = 1;
        const total = this.options.columns;
        res.writeHead(200, { 'content-type': 'text/csv' });
        this.pump(res, () => {
          if (next > total) return undefined;
          let chunk = next === 1 ? 'switch_id' : '';
          const stop = Math.min(total, next + 8191);
          for (; next <= stop; next++) chunk += ',c';
          if (next > total) chunk += '\nsw1' + ',1'.repeat(3) + '\n';
          return chunk;
        });
        return;
      }
      case 'bad_metric_name':
        // A terminal escape and a C1 control character (U+0085, NEL) in a column name.
        csv(goodCsv(this.tick).replace(/^switch_id,bandwidth_mbps/, `switch_id,${BAD_METRIC_NAME}`));
        return;
      case 'empty':
        csv('');
        return;
      case 'header_only':
        csv(HEADER + '\n');
        return;
      case 'binary': {
        // Deterministic pseudo-random bytes with NUL, CR/LF, commas, 0x80-0xFF and invalid UTF-8.
        const blob = Buffer.alloc(4096);
        let x = 0x2545f491;
        for (let i = 0; i < blob.length; i++) {
          x ^= x << 13;
          x ^= x >>> 17;
          x ^= x << 5;
          blob[i] = x & 0xff;
        }
        csv(blob);
        return;
      }
      case 'bom':
        csv('\uFEFF' + goodCsv(this.tick));
        return;
      case 'crlf':
        csv(goodCsv(this.tick, 5, '\r\n'));
        return;
      case 'missing_switch_id':
        csv(goodCsv(this.tick).replace(/^switch_id,/, 'id,'));
        return;
      case 'duplicate_columns':
        csv(goodCsv(this.tick).replace(/^switch_id,bandwidth_mbps,latency_ms/, 'switch_id,bandwidth_mbps,bandwidth_mbps'));
        return;
      case 'all_rows_bad':
        csv(`${HEADER}\nsw1,NaN,1,1,1,1,1\nsw2,1,2\n"sw3",${VALUES}\n`);
        return;
      case 'nan':
        csv(withRows(this.tick, [`bad1,NaN,${VALUES.slice(2)}`, `bad2,1,nan,0,1,3,4.5`]));
        return;
      case 'infinity':
        csv(withRows(this.tick, [`bad1,Infinity,${VALUES.slice(2)}`, `bad2,1,-Infinity,0,1,3,4.5`, `bad3,1e999,2,0,1,3,4.5`]));
        return;
      case 'negative':
        csv(withRows(this.tick, [`neg1,-5,-0.25,-0,1,-3,-4.5`]));
        return;
      case 'exponent':
        csv(withRows(this.tick, [`exp1,1e3,2.5E-1,0e0,1,3E+2,4.5e1`]));
        return;
      case 'quoted':
        csv(withRows(this.tick, [`"bad1",${VALUES}`, `bad2,"1",2,0,1,3,4.5`]));
        return;
      case 'id_comma':
        csv(withRows(this.tick, [`bad,1,${VALUES}`, `"bad,2",${VALUES}`]));
        return;
      case 'id_quote':
        csv(withRows(this.tick, [`bad"1,${VALUES}`, `bad'2,${VALUES}`, `bad\\3,${VALUES}`]));
        return;
      case 'id_space':
        csv(withRows(this.tick, [`bad 1,${VALUES}`, ` bad2,${VALUES}`, `bad3 ,${VALUES}`, `bad\t4,${VALUES}`]));
        return;
      case 'id_control':
        csv(withRows(this.tick, CONTROL_IDS.map((id) => `${id},${VALUES}`)));
        return;
      case 'id_10kb':
        csv(withRows(this.tick, [`${'s'.repeat(10 * 1024)},${VALUES}`]));
        return;
      case 'duplicate_ids':
        csv(withRows(this.tick, [`sw1,${VALUES}`, `sw2,${VALUES}`]));
        return;
      case 'wrong_field_count':
        csv(withRows(this.tick, ['bad1,1,2', `bad2,${VALUES},7`, 'bad3']));
        return;
    }
  }

  /** Streams `total` bytes of repeated rows, with or without a declared Content-Length. */
  private stream(res: http.ServerResponse, total: number, declare: boolean, row: () => string): void {
    res.writeHead(200, { 'content-type': 'text/csv', ...(declare ? { 'content-length': String(total) } : {}) });
    let sent = 0;
    const first = HEADER + '\n';
    this.pump(res, () => {
      if (sent >= total) return undefined;
      let chunk = sent === 0 ? first : '';
      const line = row();
      while (chunk.length < 64 * 1024) chunk += line;
      chunk = chunk.slice(0, total - sent);
      sent += chunk.length;
      return chunk;
    });
  }

  /** Writes chunks from `next` until it returns undefined, respecting backpressure and stopping on close. */
  private pump(res: http.ServerResponse, next: () => string | undefined): void {
    let closed = false;
    res.on('close', () => {
      if (!res.writableFinished) this.aborted += 1;
      closed = true;
    });
    const write = (): void => {
      for (;;) {
        if (closed) return;
        const chunk = next();
        if (chunk === undefined) {
          res.end();
          return;
        }
        if (!res.write(chunk)) {
          res.once('drain', write);
          return;
        }
      }
    };
    write();
  }
}

/** C0 and C1 control characters, DEL, and U+2028/U+2029: none may reach a log line or a response raw. */
// eslint-disable-next-line no-control-regex
export const RAW_CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

export const BAD_METRIC_NAME = 'band\x1b[2Jwidth\u0085\x7f';

/** Switch ids carrying control characters and terminal escapes: none may reach a log or response. */
export const CONTROL_IDS: readonly string[] = [
  'bad\x00nul',
  'bad\x1b[31mred',
  'bad\x07bell',
  'bad\x7fdel',
  'bad\u0085nel',
  'bad\u2028sep',
  'bad\rcr',
  'bad\u200bzw',
  '<script>x</script>',
  'sw1\u0000',
];
