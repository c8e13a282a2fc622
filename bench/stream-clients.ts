/**
 * The client side of the stream fan-out benchmark, in a process of its own so its parsing does not
 * run on the server's event loop: opens N `/telemetry/stream` connections (127.0.0.1 only) and, for
 * each event, records the wall-clock moment its last byte arrived. Deliberately light per byte: it
 * looks for the `id:` line and the blank line that ends an event, nothing more.
 *
 * argv: url connections seconds [deflate]. Prints one JSON line: `{ "opened", "arrivals": { version: [ms, ...] }, "sizes": { version: bytes }, "failed" }`.
 *
 * With `deflate` the clients ask for `Accept-Encoding: deflate` and do not inflate (a client process
 * per 1,000 streams cannot inflate 1 GB a second): each event is one deflated chunk ending in a sync
 * flush (`00 00 ff ff`), so an event's last byte is the n-th such marker on the connection. The
 * first connection inflates everything it gets and parses the ids, which maps marker n to a version
 * (and checks that the markers counted are the events); `sizes` are its compressed bytes per event.
 */
import http from 'node:http';
import { createInflate } from 'node:zlib';

const [url = '', connectionsText = '1', secondsText = '10', encoding = 'identity'] = process.argv.slice(2);
const deflate = encoding === 'deflate';
/** The end of every deflated event chunk (a sync flush's empty stored block). */
const SYNC_MARKER = Buffer.from([0x00, 0x00, 0xff, 0xff]);
/** Per connection (deflate): the arrival time of each marker, in order. */
const markerTimes: number[][] = [];
/** The first connection's events (deflate): the version of each marker, in order (undefined: not an event). */
const markerVersions: (number | undefined)[] = [];
const connections = Number(connectionsText);
const wallNow = (): number => performance.timeOrigin + performance.now();
const arrivals = new Map<number, number[]>();
/** Bytes of each event on the first connection, by version (the others get the same bytes). */
const sizes = new Map<number, number>();
/** The first connection's compressed bytes received up to each marker, in order (deflate). */
const bytesAtMarker: number[] = [];
const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
let opened = 0;
let failed = 0;
const requests: http.ClientRequest[] = [];

function open(index: number): Promise<void> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent, headers: { accept: 'text/event-stream', ...(deflate ? { 'accept-encoding': 'deflate' } : {}) } }, (res) => {
      if (res.statusCode !== 200) {
        failed++;
        res.resume();
        resolve();
        return;
      }
      opened++;
      resolve();
      if (deflate) {
        followDeflated(res, index);
        return;
      }
      let version = -1;
      let tail = '';
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        // The id line sits at an event's start; look only at a chunk's head and the previous tail.
        const head = tail + chunk.subarray(0, 64).toString('latin1');
        const at = head.indexOf('id: ');
        if (at !== -1) {
          const end = head.indexOf('\n', at);
          if (end !== -1) version = Number(head.slice(at + 4, end));
        }
        tail = chunk.subarray(Math.max(0, chunk.length - 2)).toString('latin1');
        if (tail === '\n\n' && version >= 0) {
          let list = arrivals.get(version);
          if (list === undefined) arrivals.set(version, (list = []));
          list.push(wallNow());
          if (index === 0) sizes.set(version, bytes);
          bytes = 0;
          version = -1;
        }
      });
      res.on('error', () => undefined);
    });
    req.on('error', () => {
      failed++;
      resolve();
    });
    requests.push(req);
  });
}

/** Counts a deflated stream's event ends; the first connection also inflates and reads the ids. */
function followDeflated(res: http.IncomingMessage, index: number): void {
  const times: number[] = [];
  markerTimes[index] = times;
  let carry: Buffer = Buffer.alloc(0);
  let compressed = 0;
  const inflate = index === 0 ? createInflate() : undefined;
  let text = '';
  inflate?.on('data', (d: Buffer) => {
    text += d.toString('latin1');
    // Each inflated event ends in a blank line; the preamble (`retry: 1000`) has no id.
    for (let end = text.indexOf('\n\n'); end !== -1; end = text.indexOf('\n\n')) {
      const event = text.slice(0, end);
      text = text.slice(end + 2);
      const id = /^id: (\d+)$/m.exec(event);
      markerVersions.push(id === null ? undefined : Number(id[1]));
    }
  });
  res.on('data', (chunk: Buffer) => {
    const now = wallNow();
    inflate?.write(chunk);
    compressed += chunk.length;
    // A marker may straddle two reads: the last 3 bytes of the previous one and the first 3 of this
    // one hold it whole if so (6 bytes hold at most one); then this read alone, without a copy.
    let found = carry.length > 0 && Buffer.concat([carry, chunk.subarray(0, 3)]).includes(SYNC_MARKER) ? 1 : 0;
    for (let at = chunk.indexOf(SYNC_MARKER); at !== -1; at = chunk.indexOf(SYNC_MARKER, at + 4)) found++;
    for (let k = 0; k < found; k++) {
      times.push(now);
      if (index === 0) bytesAtMarker.push(compressed);
    }
    carry = chunk.length >= 3 ? chunk.subarray(chunk.length - 3) : Buffer.concat([carry, chunk]).subarray(-3);
  });
  res.on('error', () => undefined);
}

/** Deflate: arrival times per version, from each connection's marker times and the first connection's versions. */
function deflatedArrivals(): void {
  for (const times of markerTimes) {
    if (times === undefined) continue;
    times.forEach((t, n) => {
      const version = markerVersions[n];
      if (version === undefined) return;
      let list = arrivals.get(version);
      if (list === undefined) arrivals.set(version, (list = []));
      list.push(t);
    });
  }
  // Sizes: compressed bytes between consecutive event markers of the first connection, by version.
  markerVersions.forEach((version, n) => {
    if (version !== undefined && n > 0) sizes.set(version, (bytesAtMarker[n] ?? 0) - (bytesAtMarker[n - 1] ?? 0));
  });
}

async function main(): Promise<void> {
  for (let i = 0; i < connections; i += 100) await Promise.all(Array.from({ length: Math.min(100, connections - i) }, (_, k) => open(i + k)));
  process.stdout.write(`${JSON.stringify({ ready: true, opened, failed })}\n`);
  await new Promise((r) => setTimeout(r, Number(secondsText) * 1000));
  for (const req of requests) req.destroy();
  if (deflate) deflatedArrivals();
  // Exit only once the line is written: a pipe takes ~64 KB at a time, and the arrivals of 1,000
  // clients are several hundred KB (process.exit right after write() cut the line short).
  process.stdout.write(`${JSON.stringify({ opened, failed, arrivals: Object.fromEntries(arrivals), sizes: Object.fromEntries(sizes) })}\n`, () => process.exit(0));
}

void main();
