/**
 * The client side of the stream fan-out benchmark, in a process of its own so its parsing does not
 * run on the server's event loop: opens N `/telemetry/stream` connections (127.0.0.1 only) and, for
 * each event, records the wall-clock moment its last byte arrived. Deliberately light per byte: it
 * looks for the `id:` line and the blank line that ends an event, nothing more.
 *
 * argv: url connections seconds. Prints one JSON line: `{ "opened", "arrivals": { version: [ms, ...] }, "sizes": { version: bytes }, "failed" }`.
 */
import http from 'node:http';

const [url = '', connectionsText = '1', secondsText = '10'] = process.argv.slice(2);
const connections = Number(connectionsText);
const wallNow = (): number => performance.timeOrigin + performance.now();
const arrivals = new Map<number, number[]>();
/** Bytes of each event on the first connection (the others get the same bytes). */
const sizes = new Map<number, number>();
const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
let opened = 0;
let failed = 0;
const requests: http.ClientRequest[] = [];

function open(index: number): Promise<void> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent, headers: { accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) {
        failed++;
        res.resume();
        resolve();
        return;
      }
      opened++;
      resolve();
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

async function main(): Promise<void> {
  for (let i = 0; i < connections; i += 100) await Promise.all(Array.from({ length: Math.min(100, connections - i) }, (_, k) => open(i + k)));
  process.stdout.write(`${JSON.stringify({ ready: true, opened, failed })}\n`);
  await new Promise((r) => setTimeout(r, Number(secondsText) * 1000));
  for (const req of requests) req.destroy();
  // Exit only once the line is written: a pipe takes ~64 KB at a time, and the arrivals of 1,000
  // clients are several hundred KB (process.exit right after write() cut the line short).
  process.stdout.write(`${JSON.stringify({ opened, failed, arrivals: Object.fromEntries(arrivals), sizes: Object.fromEntries(sizes) })}\n`, () => process.exit(0));
}

void main();
