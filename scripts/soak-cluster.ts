/**
 * `npm run soak -- --cluster` (issue 18, item 3): three metrics-server instances on Redis under
 * the soak's load, the leader killed (kill -9, then restarted) at a sixth of the run and the leader
 * then paused (SIGSTOP for twice the lease, then SIGCONT) at a third: both in the first half, which
 * leaves the second half, where memory is judged, to the instances after their faults. The instances are started with
 * scripts/cluster-processes.ts, as `npm run cluster` starts them, under a key prefix of the soak's
 * own that is deleted on the way out.
 *
 * The soak's readers avoid an instance while it is being faulted, and a failure on one that was
 * faulted during the request is counted apart, not as an error: a killed process refuses
 * connections, a paused one answers nothing, and both are what the fault is. What is judged is the
 * rest: the survivors keep serving, a new leader takes over (a failover), no version goes back on
 * any instance, and at the end exactly one instance leads, on the newest term.
 */
import { createClient } from 'redis';
import { instanceState, killProcess, startInstance, type ClusterProcess, type InstanceSettings, type InstanceState } from './cluster-processes.js';
import { sleep } from './soak-http.js';

/** The soak's lease: short, so both faults fit in the first half of a one-minute run. */
export const SOAK_LEASE_SECONDS = 2;

/** When each instance was being faulted, so failures during a fault are told from errors. */
export class FaultWindows {
  private readonly windows = new Map<string, { fromMs: number; toMs: number | undefined }[]>();

  /** `name` is faulted from now until `close(name)`. */
  open(name: string): void {
    const list = this.windows.get(name) ?? [];
    list.push({ fromMs: Date.now(), toMs: undefined });
    this.windows.set(name, list);
  }

  /** Ends `name`'s open fault. */
  close(name: string): void {
    const open = this.windows.get(name)?.find((w) => w.toMs === undefined);
    if (open !== undefined) open.toMs = Date.now();
  }

  /** True while `name` is being faulted. */
  isOpen(name: string): boolean {
    return this.windows.get(name)?.some((w) => w.toMs === undefined) ?? false;
  }

  /** True when `name` was faulted at some moment in [fromMs, toMs]. */
  overlaps(name: string, fromMs: number, toMs: number): boolean {
    return this.windows.get(name)?.some((w) => w.fromMs <= toMs && (w.toMs === undefined || w.toMs >= fromMs)) ?? false;
  }
}

/** One instance's slot: the process now in it, and every process it has had (a killed one is restarted). */
export interface InstanceSlot {
  readonly name: string;
  readonly port: number;
  readonly settings: InstanceSettings;
  current: ClusterProcess;
  readonly processes: { readonly process: ClusterProcess; readonly startedAtMs: number }[];
}

/** Starts the three instances, one after another (the first takes the lease). */
export async function startInstances(settings: readonly InstanceSettings[]): Promise<InstanceSlot[]> {
  const slots: InstanceSlot[] = [];
  for (const s of settings) {
    const startedAtMs = Date.now();
    const process = await startInstance(s);
    slots.push({ name: s.name, port: s.port, settings: s, current: process, processes: [{ process, startedAtMs }] });
  }
  return slots;
}

/** Role and term of each instance, read every 500 ms; counts failovers (the newest term rising). */
export class RoleMonitor {
  /** Terms seen rising after the first leader: each is one failover. */
  failovers = 0;
  /** Milliseconds from each fault to the first Status naming a new leader on a newer term. */
  readonly takeoverMs: number[] = [];
  readonly lines: string[] = [];
  private newestTerm = 0;
  private readonly last = new Map<string, InstanceState | undefined>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly slots: readonly InstanceSlot[],
    private readonly faults: FaultWindows,
    private readonly startedAtMs: number,
  ) {}

  /** Starts reading. */
  start(): void {
    const tick = async (): Promise<void> => {
      await this.read();
      this.timer = setTimeout(() => void tick(), 500);
    };
    void tick();
  }

  /** Stops reading. */
  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** The newest term any instance has reported. */
  get term(): number {
    return this.newestTerm;
  }

  /** Reads every instance not being paused (a paused one would only time out) once. */
  async read(): Promise<Map<string, InstanceState | undefined>> {
    const states = new Map<string, InstanceState | undefined>();
    await Promise.all(
      this.slots.map(async (slot) => {
        const state = this.faults.isOpen(slot.name) ? undefined : await instanceState(slot.current.url, 1000);
        states.set(slot.name, state);
      }),
    );
    for (const [name, state] of states) {
      const before = this.last.get(name);
      if (state !== undefined && (before?.role !== state.role || before.term !== state.term)) {
        this.lines.push(`${((Date.now() - this.startedAtMs) / 1000).toFixed(1)} s ${name} ${state.role} term ${state.term}`);
      }
      if (state !== undefined && state.role === 'leader' && state.term > this.newestTerm) {
        if (this.newestTerm > 0) this.failovers += 1;
        this.newestTerm = state.term;
      }
      if (state !== undefined || !this.faults.isOpen(name)) this.last.set(name, state);
    }
    return states;
  }

  /** The instance leading now (the newest term among those that say leader). */
  async leader(): Promise<InstanceSlot | undefined> {
    const states = await this.read();
    let best: { slot: InstanceSlot; term: number } | undefined;
    for (const slot of this.slots) {
      const state = states.get(slot.name);
      if (state?.role === 'leader' && (best === undefined || state.term > best.term)) best = { slot, term: state.term };
    }
    return best?.slot;
  }

  /** Waits (at most `timeoutMs`) for a leader other than `old` on a term newer than `term`; records how long it took. */
  async awaitTakeover(old: InstanceSlot, term: number, sinceMs: number, timeoutMs: number): Promise<boolean> {
    const by = Date.now() + timeoutMs;
    while (Date.now() < by) {
      const states = await this.read();
      for (const slot of this.slots) {
        const state = states.get(slot.name);
        if (slot !== old && state?.role === 'leader' && state.term > term) {
          this.takeoverMs.push(Date.now() - sinceMs);
          return true;
        }
      }
      await sleep(100);
    }
    return false;
  }
}

/** The faults of one run: what happened, for the report. */
export interface FaultReport {
  readonly events: string[];
  /** Faults after which no other instance took over in time. */
  readonly missedTakeovers: number;
  /** What could not be done (a restart that failed): each fails the run. */
  readonly problems: string[];
}

/**
 * Kills the leader at `killAtMs` (then restarts it on its port) and pauses the leader at `pauseAtMs`
 * (or as soon after as the restart allows)
 * for twice the lease. Each fault's window stays open until the instance is back: listening again
 * after the kill, answering Status after the pause.
 */
export async function runLeaderFaults(slots: readonly InstanceSlot[], monitor: RoleMonitor, faults: FaultWindows, startedAtMs: number, killAtMs: number, pauseAtMs: number): Promise<FaultReport> {
  const events: string[] = [];
  const problems: string[] = [];
  let missedTakeovers = 0;
  const at = (): string => `${((Date.now() - startedAtMs) / 1000).toFixed(1)} s`;
  const takeoverTimeoutMs = SOAK_LEASE_SECONDS * 1000 * 4 + 5000;

  await sleep(Math.max(0, killAtMs - Date.now()));
  const killed = await monitor.leader();
  if (killed === undefined) {
    events.push(`${at()} no leader to kill`);
    missedTakeovers += 1;
  } else {
    const term = monitor.term;
    faults.open(killed.name);
    const killedAt = Date.now();
    await killProcess(killed.current.child);
    events.push(`${at()} killed leader ${killed.name} (pid ${killed.current.child.pid}, term ${term})`);
    if (await monitor.awaitTakeover(killed, term, killedAt, takeoverTimeoutMs)) events.push(`${at()} new leader on term ${monitor.term}`);
    else missedTakeovers += 1;
    const startedAt = Date.now();
    try {
      const process = await startInstance(killed.settings);
      killed.current = process;
      killed.processes.push({ process, startedAtMs: startedAt });
      faults.close(killed.name);
      events.push(`${at()} restarted ${killed.name} (pid ${process.child.pid})`);
    } catch (err) {
      // Its fault window stays open: the readers keep away from a slot with no process.
      problems.push(`${killed.name} did not restart: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
    }
  }

  await sleep(Math.max(0, pauseAtMs - Date.now()));
  const paused = await monitor.leader();
  if (paused === undefined) {
    events.push(`${at()} no leader to pause`);
    missedTakeovers += 1;
  } else {
    const term = monitor.term;
    const child = paused.current.child;
    faults.open(paused.name);
    const pausedAt = Date.now();
    child.kill('SIGSTOP');
    events.push(`${at()} paused leader ${paused.name} (pid ${child.pid}, term ${term})`);
    if (await monitor.awaitTakeover(paused, term, pausedAt, takeoverTimeoutMs)) events.push(`${at()} new leader on term ${monitor.term}`);
    else missedTakeovers += 1;
    await sleep(Math.max(0, pausedAt + SOAK_LEASE_SECONDS * 2000 - Date.now()));
    child.kill('SIGCONT');
    events.push(`${at()} resumed ${paused.name}`);
    // Back once it answers Status again; a stopped process's queued requests come first.
    const by = Date.now() + 10_000;
    while (Date.now() < by && (await instanceState(paused.current.url, 1000)) === undefined) await sleep(100);
    faults.close(paused.name);
  }
  return { events, missedTakeovers, problems };
}

/** Deletes every key under `prefix` (the soak's own), and says how many. */
export async function deleteKeys(redisUrl: string, prefix: string): Promise<number> {
  const client = createClient({ url: redisUrl, socket: { connectTimeout: 2000, reconnectStrategy: false } });
  client.on('error', () => undefined);
  await client.connect();
  try {
    let deleted = 0;
    for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 100 })) {
      if (keys.length > 0) deleted += await client.del(keys);
    }
    return deleted;
  } finally {
    client.destroy();
  }
}
