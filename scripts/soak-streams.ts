/**
 * `npm run soak -- --stream-clients N`: clients of `/telemetry/stream` that come and go for the whole
 * run (issue 18, item 3). Client k plays one part, connection after connection:
 *
 * - **reader** (k % 3 = 0): connects, reads every event for 2 to 6 s, and leaves.
 * - **slow reader** (k % 3 = 1): reads for 20 ms a second, and leaves after 8 to 16 s.
 * - **stalled** (k % 3 = 2): reads the first event, then stops reading. The server must drop it once
 *   its unsent data passes `stream.max_buffered_bytes`; but the kernel's socket buffers hold about
 *   4 MB first (measured on loopback: tcp_wmem's 4 MiB ceiling plus the receive buffer), which is
 *   100 s of full snapshot events at 300 switches. After 150 s (or at the end of the run) it reads
 *   again: a stream that then ends was dropped by the server (a paused socket cannot see its end
 *   sooner); one still open 3 s later leaves on its own, counted apart, not as an error.
 *
 * Readers alternate `changes=1`, applying each `changes` event to the state they hold. Every state a
 * reader holds (a `snapshot` event, or the state after `changes`) is fingerprinted, so the soak can
 * check it against the CSVs the generator served and the ListMetrics answer of the same version;
 * versions must rise within a connection.
 *
 * A stream the server ends for any other reason is an error, unless the instance it was on was being
 * killed or paused at the time (cluster faults), when it is counted apart. Nothing here judges memory:
 * the soak's live-memory verdict covers the clients that left, which is what makes a per-client
 * residue visible as a slope.
 */
import http from 'node:http';
import { createParser } from 'eventsource-parser';
import { HOST, describe, sleep, switchesFingerprint } from './soak-http.js';

/** Where a client may connect now; undefined while no instance is up. */
export interface StreamTarget {
  readonly name: string;
  readonly port: number;
}

/** What the stream clients need from the soak. */
export interface StreamClientsOptions {
  readonly count: number;
  readonly deadlineMs: number;
  /** An instance that is up and not being faulted, for client `k`'s next connection. */
  readonly pick: (k: number) => StreamTarget | undefined;
  /** True when `name` was killed or paused at some moment in [fromMs, toMs]. */
  readonly faulted: (name: string, fromMs: number, toMs: number) => boolean;
}

/** What the clients saw. */
export interface StreamClientStats {
  connected: number;
  /** Connections the client closed itself after reading. */
  left: number;
  /** Stalled connections the server dropped (its buffer limit). */
  slowDropped: number;
  /** Stalled connections the server had not dropped after the wait; the client left. */
  stalledLeft: number;
  /** Streams ended while their instance was killed or paused. */
  endedByFault: number;
  /** 503 before any snapshot existed, or while an instance had none yet. */
  expected503: number;
  events: number;
  errors: number;
  readonly errorSamples: string[];
  /** Version → fingerprint of each state a reader held (first seen wins; a second, different one is an error). */
  readonly states: Map<number, string>;
}

/** How long a stalled client waits to be dropped. */
const STALL_WAIT_MS = 150_000;
/** Runs at least this long are expected to see a stalled client dropped (the kernel's buffers fill first). */
export const SLOW_DROP_MIN_RUN_SECONDS = 240;
/** The 503's message before an instance holds a snapshot (metrics_server/src/http/errors.ts). */
export const NO_SNAPSHOT_YET = 'no telemetry snapshot has been ingested yet';

/** Runs `count` clients until the deadline; resolves when every connection is closed. */
export async function runStreamClients(options: StreamClientsOptions): Promise<StreamClientStats> {
  const stats: StreamClientStats = { connected: 0, left: 0, slowDropped: 0, stalledLeft: 0, endedByFault: 0, expected503: 0, events: 0, errors: 0, errorSamples: [], states: new Map() };
  const error = (what: string): void => {
    stats.errors += 1;
    if (stats.errorSamples.length < 10) stats.errorSamples.push(what);
  };
  const client = async (k: number): Promise<void> => {
    let turn = 0;
    while (Date.now() < options.deadlineMs) {
      turn += 1;
      const target = options.pick(k + turn);
      if (target === undefined) {
        await sleep(200);
        continue;
      }
      const stalled = k % 3 === 2;
      const slow = k % 3 === 1;
      const changes = !stalled && (k + turn) % 2 === 0;
      const readForMs = (slow ? 8000 : 2000) + ((k * 7919 + turn * 104_729) % (slow ? 8000 : 4000));
      await oneConnection(target, { stalled, slow, changes, readForMs }, options, stats, error);
      await sleep(100 + ((k * 31 + turn * 17) % 400));
    }
  };
  await Promise.all(Array.from({ length: options.count }, (_, k) => client(k)));
  return stats;
}

interface Part {
  readonly stalled: boolean;
  readonly slow: boolean;
  readonly changes: boolean;
  readonly readForMs: number;
}

type SwitchMap = Record<string, Record<string, number>>;

/** One connection, from request to close. */
function oneConnection(target: StreamTarget, part: Part, options: StreamClientsOptions, stats: StreamClientStats, error: (what: string) => void): Promise<void> {
  const path = `/telemetry/stream${part.changes ? '?changes=1' : ''}`;
  const openedAt = Date.now();
  return new Promise((done) => {
    let leaving = false;
    let settled = false;
    /** A stalled client reading again, to see whether the server dropped it. */
    let probing = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (): void => {
      if (settled) return;
      settled = true;
      if (timer !== undefined) clearTimeout(timer);
      done();
    };
    // No agent: each stream is its own connection, closed when the client leaves.
    const req = http.get({ host: HOST, port: target.port, path, agent: false, headers: { accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => {
          // "No snapshot yet" is expected before the first one, and from an instance restarted after
          // a kill for its first moments; any other answer is an error.
          if (res.statusCode === 503 && body.includes(NO_SNAPSHOT_YET)) stats.expected503 += 1;
          else error(`${target.name} ${path}: HTTP ${res.statusCode} ${body.slice(0, 100)}`);
          finish();
        });
        res.on('close', finish);
        return;
      }
      stats.connected += 1;
      let state: SwitchMap | undefined;
      let lastVersion = 0;
      const parser = createParser({
        onEvent: (event) => {
          stats.events += 1;
          const version = Number(event.id);
          if (!Number.isInteger(version) || version <= lastVersion) {
            error(`${target.name}: stream event id ${String(event.id)} after ${lastVersion}`);
            return;
          }
          lastVersion = version;
          const doc = JSON.parse(event.data) as { version: number; switches: SwitchMap };
          if (doc.version !== version) error(`${target.name}: event id ${version} carries version ${doc.version}`);
          if (event.event === 'snapshot') state = doc.switches;
          else if (event.event === 'changes' && state !== undefined) {
            for (const [id, changed] of Object.entries(doc.switches)) {
              const known = state[id];
              if (known === undefined) error(`${target.name}: changes event v${version} names unknown switch ${id}`);
              else state[id] = { ...known, ...changed };
            }
          } else {
            error(`${target.name}: unexpected ${event.event ?? 'message'} event (v${version})`);
            return;
          }
          const fingerprint = switchesFingerprint(state);
          const known = stats.states.get(version);
          if (known === undefined) stats.states.set(version, fingerprint);
          else if (known !== fingerprint) error(`${target.name}: two different states for v${version} on streams`);
          if (part.stalled && !probing) {
            // Stop reading after the first event: TCP backpressure fills the server's buffer.
            res.pause();
          }
        },
      });
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => parser.feed(chunk));
      // A slow reader reads for 20 ms a second; the rest of the time the socket is not read.
      const throttle = part.slow
        ? setInterval(() => {
            res.resume();
            setTimeout(() => res.pause(), 20);
          }, 1000)
        : undefined;
      if (part.slow) res.pause();
      res.on('close', () => clearInterval(throttle));
      const ended = (how: string): void => {
        if (settled) return;
        if (leaving) stats.left += 1;
        else if (options.faulted(target.name, openedAt, Date.now() + 500)) stats.endedByFault += 1;
        else if (part.stalled) stats.slowDropped += 1;
        else error(`${target.name}: the server ended a stream that was being read (${how}) after ${Date.now() - openedAt} ms`);
        finish();
      };
      res.on('end', () => ended('end'));
      res.on('close', () => ended('close'));
      res.on('error', (err) => ended(describe(err)));
      timer = setTimeout(
        () => {
          if (part.stalled) {
            // A paused socket reads nothing, so the server's drop is not seen until the client reads
            // again: it drains what the kernel holds and meets the end of the stream if it was
            // dropped. Still open 3 s later: it was not dropped, and it leaves.
            probing = true;
            res.resume();
            timer = setTimeout(() => {
              stats.stalledLeft += 1;
              settled = true;
              req.destroy();
              done();
            }, 3000);
            return;
          }
          leaving = true;
          req.destroy();
        },
        part.stalled ? Math.min(STALL_WAIT_MS, Math.max(0, options.deadlineMs - Date.now())) : part.readForMs,
      );
    });
    req.on('error', (err) => {
      if (settled) return;
      if (leaving) {
        stats.left += 1;
      } else if (options.faulted(target.name, openedAt, Date.now() + 500)) stats.endedByFault += 1;
      else error(`${target.name} ${path}: ${describe(err)}`);
      finish();
    });
  });
}
