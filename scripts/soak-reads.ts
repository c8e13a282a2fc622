/**
 * The soak's read load and what it checks (issue 18): full-speed mixed reads over keep-alive
 * connections, spread over every instance that is up, with the history queries in the mix when the
 * history is on.
 *
 * Mix per ten requests: 4 GetMetric, 3 ListMetrics, 1 Status, and with the history on 1 GetHistory
 * and 1 Aggregate or Top (without it, those two are GetMetric). Checked as they come: the status (200;
 * 503 "no snapshot yet" only from a process that has not served a snapshot yet), one timestamp and
 * every switch in a ListMetrics answer, one body per ETag across all instances, and per connection
 * and instance a version that never goes back. Checked at the end (`verify`): every ListMetrics state
 * and every state a stream client held is one the generator served, the stream's state of a version
 * is ListMetrics' state of it, every GetMetric agrees with ListMetrics of the same ETag, and every
 * GetHistory sample agrees with the ListMetrics answer whose snapshot has that timestamp.
 */
import http from 'node:http';
import { METRICS, describe, etagVersion, get, switchesFingerprint, type Reply } from './soak-http.js';
import { NO_SNAPSHOT_YET } from './soak-streams.js';

/** An instance a request may go to now. */
export interface ReadTarget {
  readonly name: string;
  readonly port: number;
  /** The process behind it now: a 503 "no snapshot yet" is expected only before it served one. */
  readonly pid: number;
}

/** What the read load needs from the soak. */
export interface ReadLoadOptions {
  readonly switches: number;
  readonly history: boolean;
  readonly deadlineMs: number;
  /** The instance for request `i`; undefined while none is up. */
  readonly pick: (i: number) => ReadTarget | undefined;
  readonly faulted: (name: string, fromMs: number, toMs: number) => boolean;
}

/** Per-instance figures. */
export interface InstanceReads {
  ok: number;
  /** Failures while the instance was killed or paused (not errors). */
  duringFaults: number;
  versionsBack: number;
  highestVersion: number;
}

type Kind = 'get' | 'list' | 'status' | 'history' | 'aggregate' | 'top';
type SwitchMap = Record<string, Record<string, number>>;

/** Samples kept for the end checks: enough to cover a run, bounded in memory. */
const MAX_SAMPLES = 200_000;

/** The reads of one run and their checks. */
export class ReadLoad {
  readonly counts: Record<Kind, number> = { get: 0, list: 0, status: 0, history: 0, aggregate: 0, top: 0 };
  requests = 0;
  ok = 0;
  expected503 = 0;
  errors = 0;
  torn = 0;
  readonly errorSamples: string[] = [];
  readonly tornSamples: string[] = [];
  /** A version served after a newer one, on one connection to one instance. */
  readonly backSamples: string[] = [];
  /** GetHistory answers holding two samples or more at one timestamp (snapshots ingested in one second). */
  historyTies = 0;
  readonly instances = new Map<string, InstanceReads>();
  /** ETag → the ListMetrics answer under it (the first one seen). */
  readonly versions = new Map<string, { fingerprint: string; body: string; timestamp: number }>();
  private readonly getSamples: { etag: string; id: string; metric: string; value: number }[] = [];
  private readonly historySamples: { id: string; metric: string; timestamp: number; value: number }[] = [];
  /** Process id → when its first snapshot answer arrived. */
  private readonly servedSnapshot = new Map<number, number>();

  constructor(private readonly options: ReadLoadOptions) {}

  /** True once any instance served a snapshot. */
  get snapshotSeen(): boolean {
    return this.servedSnapshot.size > 0;
  }

  private error(what: string): void {
    this.errors += 1;
    if (this.errorSamples.length < 10) this.errorSamples.push(what);
  }

  /** Counts a torn read (a check that failed on the data itself). */
  tornRead(what: string): void {
    this.torn += 1;
    if (this.tornSamples.length < 10) this.tornSamples.push(what);
  }

  private instance(name: string): InstanceReads {
    let reads = this.instances.get(name);
    if (reads === undefined) {
      reads = { ok: 0, duringFaults: 0, versionsBack: 0, highestVersion: 0 };
      this.instances.set(name, reads);
    }
    return reads;
  }

  private path(kind: Kind, i: number): string {
    const id = `sw${1 + ((i * 7919) % this.options.switches)}`;
    const metric = METRICS[i % METRICS.length]!;
    switch (kind) {
      case 'get':
        return `/telemetry/GetMetric?switch=${id}&metric=${metric}`;
      case 'list':
        return '/telemetry/ListMetrics';
      case 'status':
        return '/telemetry/Status';
      case 'history':
        return `/telemetry/GetHistory?switch=${id}&metric=${metric}&since=-30s`;
      case 'aggregate':
        return `/telemetry/Aggregate?metric=${metric}&fn=${['avg', 'p95', 'max', 'changes'][i % 4]!}&window=5m${i % 3 === 0 ? `&switch=${id}` : ''}`;
      case 'top':
        return `/telemetry/Top?metric=${metric}&k=5&fn=${i % 2 === 0 ? 'max' : 'last'}&window=1m`;
    }
  }

  private kind(i: number): Kind {
    const slot = i % 10;
    if (slot < 4) return 'get';
    if (slot < 7) return 'list';
    if (slot === 7) return 'status';
    if (!this.options.history) return 'get';
    if (slot === 8) return 'history';
    return i % 20 === 9 ? 'aggregate' : 'top';
  }

  /** One connection per instance, reading as fast as answers come until the deadline. */
  async reader(n: number): Promise<void> {
    const agents = new Map<string, http.Agent>();
    const lastVersion = new Map<string, number>();
    let i = n * 1000;
    while (Date.now() < this.options.deadlineMs) {
      i += 1;
      const target = this.options.pick(i);
      if (target === undefined) {
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      let agent = agents.get(target.name);
      if (agent === undefined) {
        agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
        agents.set(target.name, agent);
      }
      const kind = this.kind(i);
      const path = this.path(kind, i);
      const startedMs = Date.now();
      let reply: Reply;
      try {
        reply = await get(agent, target.port, path);
      } catch (err) {
        this.requests += 1;
        if (this.options.faulted(target.name, startedMs, Date.now())) this.instance(target.name).duringFaults += 1;
        else this.error(`${target.name} ${path}: ${describe(err)}`);
        continue;
      }
      this.requests += 1;
      // Expected only for a request sent before that process's first snapshot answer arrived (one sent
      // just before may come back after another reader's 200: seen once in a 300 s run).
      if (reply.status === 503 && reply.body.includes(NO_SNAPSHOT_YET) && startedMs <= (this.servedSnapshot.get(target.pid) ?? Infinity)) {
        this.expected503 += 1;
        continue;
      }
      if (reply.status !== 200) {
        if (this.options.faulted(target.name, startedMs, Date.now())) this.instance(target.name).duringFaults += 1;
        else this.error(`${target.name} ${path}: HTTP ${reply.status} ${reply.body.slice(0, 100)}`);
        continue;
      }
      this.ok += 1;
      this.counts[kind] += 1;
      const reads = this.instance(target.name);
      reads.ok += 1;
      try {
        this.check(kind, target, reply, reads, lastVersion);
      } catch (err) {
        this.error(`${target.name} ${path}: ${describe(err)}`);
      }
    }
    for (const agent of agents.values()) agent.destroy();
  }

  private check(kind: Kind, target: ReadTarget, reply: Reply, reads: InstanceReads, lastVersion: Map<string, number>): void {
    if (kind === 'status') {
      JSON.parse(reply.body);
      return;
    }
    if (kind === 'history') {
      const doc = JSON.parse(reply.body) as { switch: string; metric: string; since: number; until: number; samples: { timestamp: number; value: number }[] };
      let previous: { timestamp: number } | undefined;
      let tied = false;
      for (const s of doc.samples) {
        if (s.timestamp < doc.since || s.timestamp > doc.until) this.tornRead(`${target.name} GetHistory ${doc.switch}.${doc.metric}: sample at ${s.timestamp} outside [${doc.since}, ${doc.until}]`);
        if (previous !== undefined && s.timestamp < previous.timestamp) this.tornRead(`${target.name} GetHistory ${doc.switch}.${doc.metric}: sample at ${s.timestamp} after one at ${previous.timestamp}`);
        // Two samples at one timestamp are in the contract: a snapshot's timestamp is the second it
        // was ingested, and push mode can ingest several in one second (a catch-up after a
        // reconnect, the poll standing in as the stream returns). Counted; checked against
        // ListMetrics only where one snapshot had that second.
        if (previous !== undefined && s.timestamp === previous.timestamp) tied = true;
        previous = s;
        if (this.historySamples.length < MAX_SAMPLES) this.historySamples.push({ id: doc.switch, metric: doc.metric, timestamp: s.timestamp, value: s.value });
      }
      if (tied) this.historyTies += 1;
      return;
    }
    if (kind === 'aggregate') {
      const doc = JSON.parse(reply.body) as { samples: number; value: number | null };
      if (doc.samples > 0 && typeof doc.value !== 'number') this.tornRead(`${target.name} Aggregate: ${doc.samples} samples but value ${String(doc.value)}`);
      return;
    }
    if (kind === 'top') {
      const doc = JSON.parse(reply.body) as { switches: unknown[] };
      if (doc.switches.length > 5) this.tornRead(`${target.name} Top k=5: ${doc.switches.length} switches`);
      return;
    }
    // GetMetric and ListMetrics carry the snapshot's ETag; its version must never go back.
    if (!this.servedSnapshot.has(target.pid)) this.servedSnapshot.set(target.pid, Date.now());
    const version = etagVersion(reply.etag);
    if (version === undefined) throw new Error(`ETag ${String(reply.etag)} names no version`);
    if (version < (lastVersion.get(target.name) ?? 0)) {
      reads.versionsBack += 1;
      if (this.backSamples.length < 10) this.backSamples.push(`${target.name}: v${version} served after v${lastVersion.get(target.name)} on the same connection`);
    }
    lastVersion.set(target.name, version);
    reads.highestVersion = Math.max(reads.highestVersion, version);
    const etag = reply.etag!;
    if (kind === 'get') {
      const doc = JSON.parse(reply.body) as { switch: string; metric: string; value: number };
      if (this.getSamples.length < MAX_SAMPLES) this.getSamples.push({ etag, id: doc.switch, metric: doc.metric, value: doc.value });
      return;
    }
    const list = JSON.parse(reply.body) as SwitchMap;
    const entries = Object.values(list);
    const timestamps = new Set(entries.map((e) => e['timestamp']));
    if (entries.length !== this.options.switches) this.tornRead(`${target.name} ${etag}: ${entries.length} switches`);
    if (timestamps.size !== 1) this.tornRead(`${target.name} ${etag}: ${timestamps.size} timestamps in one answer`);
    const known = this.versions.get(etag);
    if (known === undefined) this.versions.set(etag, { fingerprint: switchesFingerprint(list), body: reply.body, timestamp: entries[0]?.['timestamp'] ?? 0 });
    else if (known.body !== reply.body) this.tornRead(`${target.name} ${etag}: two different bodies under one ETag`);
  }

  /**
   * The end checks, once the load has stopped: returns how many ListMetrics states matched a CSV the
   * generator served, and how many answers of each other kind were checked.
   */
  verify(generatorFingerprints: ReadonlySet<string>, streamStates: ReadonlyMap<number, string>): { matched: number; getsChecked: number; historyChecked: number; streamStates: number; streamMatched: number } {
    let matched = 0;
    for (const [etag, v] of this.versions) {
      if (generatorFingerprints.has(v.fingerprint)) matched += 1;
      else this.tornRead(`${etag}: matches no CSV the generator served`);
    }
    let streamMatched = 0;
    for (const [version, fingerprint] of streamStates) {
      if (generatorFingerprints.has(fingerprint)) streamMatched += 1;
      else this.tornRead(`stream state v${version}: matches no CSV the generator served`);
      const listed = this.versions.get(`"v${version}"`);
      if (listed !== undefined && listed.fingerprint !== fingerprint) this.tornRead(`stream state v${version} differs from ListMetrics of v${version}`);
    }
    // Each ListMetrics body parsed once, not once per sample (200,000 parses took minutes).
    const parsed = new Map<string, SwitchMap>();
    const body = (etag: string): SwitchMap | undefined => {
      let doc = parsed.get(etag);
      const v = this.versions.get(etag);
      if (doc === undefined && v !== undefined) {
        doc = JSON.parse(v.body) as SwitchMap;
        parsed.set(etag, doc);
      }
      return doc;
    };
    let getsChecked = 0;
    for (const s of this.getSamples) {
      const doc = body(s.etag);
      if (doc === undefined) continue;
      getsChecked += 1;
      const expected = doc[s.id]?.[s.metric];
      if (expected !== s.value) this.tornRead(`${s.etag}: GetMetric ${s.id}.${s.metric}=${s.value}, ListMetrics says ${String(expected)}`);
    }
    // A history sample is checked against the one snapshot with its timestamp (two with one
    // timestamp, possible across a generator restart, leave it unchecked).
    const byTimestamp = new Map<number, string | null>();
    for (const [etag, v] of this.versions) byTimestamp.set(v.timestamp, byTimestamp.has(v.timestamp) ? null : etag);
    let historyChecked = 0;
    for (const s of this.historySamples) {
      const etag = byTimestamp.get(s.timestamp);
      if (etag === undefined || etag === null) continue;
      const doc = body(etag);
      if (doc === undefined) continue;
      historyChecked += 1;
      const expected = doc[s.id]?.[s.metric];
      if (expected !== s.value) this.tornRead(`GetHistory ${s.id}.${s.metric} at ${s.timestamp} = ${s.value}, ListMetrics ${etag} says ${String(expected)}`);
    }
    return { matched, getsChecked, historyChecked, streamStates: streamStates.size, streamMatched };
  }
}
