/**
 * The soak's command line (`npm run soak -- …`). A bad option prints one line and exits 2, before
 * anything is started.
 */
import { parseArgs } from 'node:util';
import { parseLeakSpec } from '../metrics_server/src/soak-hooks.js';

/** What one soak run does. */
export interface SoakOptions {
  readonly seconds: number;
  /** `snapshot:BYTES` or `request:BYTES`: the server's deliberate leak (the negative control). */
  readonly leak: string | undefined;
  /** How the server ingests: polling `/counters`, or the generator's event stream. */
  readonly mode: 'poll' | 'push';
  /** `/telemetry/stream` clients coming and going through the run. */
  readonly streamClients: number;
  /** History on (the server's default; history queries join the read mix) or off. */
  readonly history: boolean;
  /** Three instances on Redis, the leader killed and paused, instead of one server. */
  readonly cluster: boolean;
}

/** Longest run allowed, in seconds. */
export const MAX_SECONDS = 3600;
/** Most stream clients allowed (each is a socket and a parser in the soak itself). */
export const MAX_STREAM_CLIENTS = 200;

/** The usage line printed with a bad option. */
export const USAGE = 'usage: npm run soak -- [--seconds N] [--mode poll|push] [--stream-clients N] [--no-history] [--cluster] [--inject-leak snapshot:BYTES|request:BYTES]';

/** Parses the soak's arguments; throws with a one-line reason on a bad one. */
export function parseSoakOptions(argv: readonly string[]): SoakOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      seconds: { type: 'string' },
      'inject-leak': { type: 'string' },
      mode: { type: 'string' },
      'stream-clients': { type: 'string' },
      'no-history': { type: 'boolean' },
      cluster: { type: 'boolean' },
    },
    strict: true,
  });
  const seconds = values.seconds === undefined ? 60 : Number(values.seconds);
  if (!Number.isFinite(seconds) || seconds < 10 || seconds > MAX_SECONDS) throw new Error(`--seconds must be a number from 10 to ${MAX_SECONDS}`);
  const leak = values['inject-leak'];
  parseLeakSpec(leak);
  const mode = values.mode ?? 'poll';
  if (mode !== 'poll' && mode !== 'push') throw new Error('--mode must be poll or push');
  const streamClients = values['stream-clients'] === undefined ? 0 : Number(values['stream-clients']);
  if (!Number.isInteger(streamClients) || streamClients < 0 || streamClients > MAX_STREAM_CLIENTS) throw new Error(`--stream-clients must be an integer from 0 to ${MAX_STREAM_CLIENTS}`);
  const cluster = values.cluster === true;
  // The cluster's faults need room in the first half (a kill, a restart that takes seconds, a pause
  // of twice the lease), and the second half must hold enough heap probes to judge.
  if (cluster && seconds < 60) throw new Error('--cluster needs --seconds 60 or more');
  return { seconds, leak, mode, streamClients, history: values['no-history'] !== true, cluster };
}
