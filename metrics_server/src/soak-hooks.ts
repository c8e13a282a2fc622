/**
 * What `npm run soak` needs from the server it judges, and nothing a production server runs:
 *
 * - A heap probe: with `node --expose-gc` (only the soak starts the server so), SIGUSR2 runs a full
 *   collection and logs the live heap. The live heap after a full GC has no allocator sawtooth,
 *   which is what lets the soak tell a leak from RSS going up and down (issue 18).
 * - A deliberate leak, so the soak can prove its verdict catches one: a criterion that never saw a
 *   leak fail it is not known to work. Off unless `FABRIC_SOAK_INJECT_LEAK` is set; never set it in
 *   production. `snapshot:BYTES` keeps about BYTES of JavaScript heap per published snapshot,
 *   `request:BYTES` per HTTP request (fast path included: it hooks the socket server).
 */
import type { Server } from 'node:http';
import { ConfigError } from '../../common/config-file.js';
import type { Logger } from '../../common/logger.js';
import type { SnapshotReader } from './store/reader.js';

/** The message of the probe's log line; the soak finds its lines by it. */
export const HEAP_PROBE_MESSAGE = 'soak probe: live heap after a full collection';

/**
 * Installs the SIGUSR2 heap probe when the process was started with `--expose-gc`; otherwise
 * does nothing (a production server never has `gc`). Returns the uninstaller.
 */
export function installHeapProbe(logger: Logger): () => void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc !== 'function') return () => undefined;
  const probe = (): void => {
    gc();
    const memory = process.memoryUsage();
    // WARNING, because the soak runs the server at WARNING to keep its request log quiet.
    logger.warning(HEAP_PROBE_MESSAGE, { heap_used_bytes: memory.heapUsed, external_bytes: memory.external, rss_bytes: memory.rss });
  };
  process.on('SIGUSR2', probe);
  return () => process.off('SIGUSR2', probe);
}

/** What to leak, and how much each time. */
export interface LeakSpec {
  readonly per: 'snapshot' | 'request';
  readonly bytes: number;
}

/** The environment variable that turns the leak on. */
export const LEAK_ENV = 'FABRIC_SOAK_INJECT_LEAK';

/** Reads `snapshot:BYTES` or `request:BYTES`; undefined when unset. */
export function parseLeakSpec(text: string | undefined): LeakSpec | undefined {
  if (text === undefined || text === '') return undefined;
  const match = /^(snapshot|request):(\d{1,9})$/.exec(text);
  if (match === null) throw new ConfigError(`environment variable ${LEAK_ENV} must be snapshot:BYTES or request:BYTES (got ${JSON.stringify(text)})`);
  return { per: match[1] as LeakSpec['per'], bytes: Number(match[2]) };
}

/** Starts leaking; returns a function that stops adding (what leaked stays, as a leak would). */
export function injectLeak(spec: LeakSpec, reader: SnapshotReader, server: Server, logger: Logger): () => void {
  logger.warning(`${LEAK_ENV} is set: leaking ${spec.bytes} bytes of heap per ${spec.per}, for soak testing only`);
  const kept: number[][] = [];
  // A packed array of doubles lives on the V8 heap at 8 bytes a value: the leak shows in the heap
  // figures as well as in RSS (a Buffer's memory would be outside the heap).
  const leak = (): void => {
    kept.push(Array.from({ length: Math.ceil(spec.bytes / 8) }, (_, i) => i + 0.5));
  };
  if (spec.per === 'snapshot') return reader.onPublish(leak);
  server.on('request', leak);
  return () => server.off('request', leak);
}
