/**
 * What every part of the soak shares: loopback HTTP reads, free ports, and the fingerprint that
 * names one fabric state whichever side it came from (a generator CSV, a ListMetrics answer, a
 * `/telemetry/stream` event), so each can be checked against the CSVs the generator really served.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';

/** Every soak connection stays on loopback. */
export const HOST = '127.0.0.1';

/** The metrics in CSV order: the fingerprint of a JSON answer lists them in this order. */
export const METRICS = ['bandwidth_mbps', 'latency_ms', 'packet_errors', 'link_status', 'tx_queue_depth', 'utilization_percent'] as const;

/** Resolves after `ms`. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/** One answer, read whole. */
export interface Reply {
  readonly status: number;
  readonly etag: string | undefined;
  readonly body: string;
}

/** GET on loopback through `agent`; rejects on a connection error or after `timeoutMs`. */
export function get(agent: http.Agent, port: number, path: string, timeoutMs = 5000): Promise<Reply> {
  return new Promise((resolveReply, reject) => {
    const req = http.get({ host: HOST, port, path, agent, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const etag = res.headers.etag;
        resolveReply({ status: res.statusCode ?? 0, etag: typeof etag === 'string' ? etag : undefined, body: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** The version an ETag names (`"v42"` → 42), undefined for anything else. */
export function etagVersion(etag: string | undefined): number | undefined {
  const match = etag === undefined ? null : /^(?:W\/)?"v(\d+)"$/.exec(etag);
  return match === null ? undefined : Number(match[1]);
}

/** One canonical hash per fabric state: `id:v1,v2,…;` in CSV order. Undefined for a CSV without rows. */
export function csvFingerprint(csv: string): string | undefined {
  const lines = csv.split('\n').filter((l) => l !== '');
  if (lines.length < 2) return undefined;
  const hash = createHash('sha1');
  for (const line of lines.slice(1)) {
    const comma = line.indexOf(',');
    hash.update(`${line.slice(0, comma)}:${line.slice(comma + 1)};`);
  }
  return hash.digest('hex');
}

/** The same hash from a JSON map of switch → metric → value (ListMetrics, a stream event's `switches`). */
export function switchesFingerprint(switches: Record<string, Record<string, number>>): string {
  const hash = createHash('sha1');
  for (const [id, entry] of Object.entries(switches)) hash.update(`${id}:${METRICS.map((m) => String(entry[m])).join(',')};`);
  return hash.digest('hex');
}

/** A failure's message, whatever was thrown. */
export function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
