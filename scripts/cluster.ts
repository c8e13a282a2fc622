/**
 * `npm run cluster`: a generator and three metrics-server instances sharing one Redis, on loopback
 * ports, each line prefixed with its name. Prints the URLs and roles, and every role change after
 * (kill -9 the leader's PID to watch another take over). Ctrl-C stops them all.
 *
 * Redis must already run; if it does not answer, this says how to start it and exits.
 * REDIS_URL (default redis://127.0.0.1:6379/0) and REDIS_KEY_PREFIX (default `fabric:`) are honoured.
 */
import { instanceState, redisUnavailable, startGenerator, startInstance, stopProcess, type ClusterProcess } from './cluster-processes.js';

const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379/0';
const KEY_PREFIX = process.env['REDIS_KEY_PREFIX'] ?? 'fabric:';
const GENERATOR_PORT = 9001;
const INSTANCE_PORTS = [8081, 8082, 8083];
const LEASE_SECONDS = 5;
const POLL_SECONDS = 1;

const children: ClusterProcess[] = [];
let stopping = false;

async function stopAll(code: number): Promise<never> {
  stopping = true;
  await Promise.all(children.map((c) => stopProcess(c.child)));
  process.exit(code);
}

/** Echoes a child's line under its name; this script's own Status reads are left out of the echo. */
const prefixed = (name: string) => (line: string) => {
  if (!line.includes('/telemetry/Status 200')) process.stdout.write(`[${name.padEnd(9)}] ${line}\n`);
};

async function main(): Promise<void> {
  const problem = await redisUnavailable(REDIS_URL);
  if (problem !== undefined) {
    process.stderr.write(`cluster: ${problem}. Start it with:\n  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no\n`);
    process.exit(1);
  }
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, () => void stopAll(0));

  const generator = await startGenerator({ switches: 1000, intervalSeconds: POLL_SECONDS, seed: 16, port: GENERATOR_PORT }, prefixed('generator'));
  children.push(generator);
  for (const [i, port] of INSTANCE_PORTS.entries()) {
    const name = `server-${i + 1}`;
    const instance = await startInstance({ name, generatorUrl: `${generator.url}/counters`, redisUrl: REDIS_URL, keyPrefix: KEY_PREFIX, leaseSeconds: LEASE_SECONDS, pollIntervalSeconds: POLL_SECONDS, port }, prefixed(name));
    children.push(instance);
    instance.child.once('exit', (code, signal) => {
      if (!stopping) process.stdout.write(`cluster: ${name} (pid ${instance.child.pid}) exited (${code ?? signal}); the others carry on\n`);
    });
  }
  const instances = children.slice(1);
  process.stdout.write(`\ncluster: Redis ${REDIS_URL}, key prefix ${KEY_PREFIX}, lease ${LEASE_SECONDS} s, poll ${POLL_SECONDS} s\n`);
  process.stdout.write(`cluster: generator ${generator.url}/counters (pid ${generator.child.pid})\n`);
  const roles = new Map<string, string>();
  const report = async (): Promise<void> => {
    if (stopping) return;
    for (const instance of instances) {
      const state = instance.child.exitCode === null && instance.child.signalCode === null ? await instanceState(instance.url) : undefined;
      const role = state === undefined ? 'down' : `${state.role} (term ${state.term}, v${state.version ?? '-'})`;
      const roleOnly = state === undefined ? 'down' : state.role;
      if (roles.get(instance.name) !== roleOnly && !stopping) process.stdout.write(`cluster: ${instance.name} ${instance.url} (pid ${instance.child.pid}): ${role}\n`);
      roles.set(instance.name, roleOnly);
    }
  };
  await new Promise((r) => setTimeout(r, 1500));
  await report();
  process.stdout.write('cluster: Ctrl-C stops all; kill -9 the leader\'s pid to watch a failover\n\n');
  setInterval(() => void report(), 1000);
}

main().catch((err: unknown) => {
  process.stderr.write(`cluster: ${err instanceof Error ? err.message : String(err)}\n`);
  void stopAll(1);
});
