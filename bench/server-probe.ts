/** What `npm run bench` reads from a running metrics server: Status, body sizes, resident memory. */
import http from 'node:http';
import { readFileSync } from 'node:fs';

export interface StatusDoc {
  readonly snapshot: { readonly version: number; readonly switches: number } | null;
  readonly ingestion: { readonly last_poll: { readonly outcome: string; readonly started_at: number; readonly duration_ms: number; readonly bytes: number } | null };
  readonly event_loop?: {
    readonly last_window: EventLoopWindow | null;
    readonly current_window: EventLoopWindow | null;
  };
}
export interface EventLoopWindow {
  readonly started_at_ms: number;
  readonly ended_at_ms: number;
  readonly delay_ms: { readonly p50: number; readonly p99: number; readonly max: number; readonly mean: number };
}

export async function status(url: string): Promise<StatusDoc> {
  const res = await fetch(`${url}/telemetry/Status`);
  return (await res.json()) as StatusDoc;
}

export const GZIP = { 'accept-encoding': 'gzip' } as const;

/** The length of a body as sent with `Accept-Encoding: gzip` (fetch would decompress it). */
export function gzipBodyLength(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers: GZIP }, (res) => {
        let bytes = 0;
        res.on('data', (chunk: Buffer) => (bytes += chunk.length));
        res.on('end', () => resolve(bytes));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

export async function bodyLength(url: string): Promise<{ status: number; bytes: number }> {
  const res = await fetch(url);
  return { status: res.status, bytes: (await res.arrayBuffer()).byteLength };
}

/** Resident set size of a process, in MB, from /proc. */
export function rssMb(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match === null ? NaN : Number(match[1]) / 1024;
}

