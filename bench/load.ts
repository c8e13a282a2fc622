/**
 * The load generator process of `npm run bench`: autocannon's programmatic API, in a process of its
 * own so it never shares an event loop with the server it measures. One run per invocation:
 * `node dist/bench/load.js '<json LoadSpec>'` prints one JSON `LoadResult` line and exits.
 *
 * Paths rotate over the given list (a rotating set of switches and metrics for GetMetric). Latency is
 * recorded here from autocannon's per-response timings in microseconds, because autocannon's own
 * histogram keeps whole milliseconds, too coarse for sub-millisecond answers.
 */
import autocannon from 'autocannon';

export interface LoadSpec {
  readonly url: string;
  readonly paths: readonly string[];
  readonly connections: number;
  /** Upper bound on the run's length; with `amount`, the run ends when that many requests are answered. */
  readonly seconds: number;
  /** A fixed number of requests (autocannon `amount`): for CPU-per-request figures. */
  readonly amount?: number;
  /** Requests per second over all connections; absent means as fast as possible. */
  readonly rate?: number;
  /**
   * Seconds of the same load run first and not recorded: this process's own start (Node start-up,
   * JIT) costs CPU that would otherwise land in the measured window.
   */
  readonly warmupSeconds?: number;
  /** Extra request headers (e.g. `accept-encoding: gzip`, as Prometheus sends). */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface LoadResult {
  readonly requestsPerSecond: number;
  readonly bytesPerSecond: number;
  readonly responses: number;
  readonly latencyMs: { readonly p50: number; readonly p99: number; readonly max: number; readonly mean: number };
  /** Connection errors, timeouts and non-2xx answers. */
  readonly failures: number;
}

async function main(spec: LoadSpec): Promise<LoadResult> {
  if (spec.warmupSeconds !== undefined && spec.warmupSeconds > 0) await main({ ...spec, seconds: spec.warmupSeconds, warmupSeconds: 0 });
  let next = 0;
  const paths = spec.paths;
  let latencies = new Float64Array(1 << 16);
  let count = 0;
  const instance = autocannon({
    url: spec.url,
    connections: spec.connections,
    ...(spec.amount !== undefined ? { amount: spec.amount } : { duration: spec.seconds }),
    timeout: 10,
    ...(spec.rate !== undefined ? { overallRate: spec.rate } : {}),
    ...(spec.headers !== undefined ? { headers: { ...spec.headers } } : {}),
    requests: [
      {
        method: 'GET',
        setupRequest: (request) => {
          request.path = paths[next++ % paths.length]!;
          return request;
        },
      },
    ],
  });
  instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
    if (statusCode < 200 || statusCode >= 300) return;
    if (count === latencies.length) {
      const grown = new Float64Array(latencies.length * 2);
      grown.set(latencies);
      latencies = grown;
    }
    latencies[count++] = responseTime;
  });
  const result = await instance;
  const sorted = latencies.subarray(0, count).sort();
  const at = (q: number): number => (count === 0 ? NaN : sorted[Math.min(count - 1, Math.floor(q * count))]!);
  let sum = 0;
  for (let i = 0; i < count; i++) sum += sorted[i]!;
  return {
    requestsPerSecond: count / result.duration,
    bytesPerSecond: result.throughput.average,
    responses: count,
    latencyMs: { p50: at(0.5), p99: at(0.99), max: count === 0 ? NaN : sorted[count - 1]!, mean: count === 0 ? NaN : sum / count },
    failures: result.errors + result.timeouts + result.non2xx,
  };
}

const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec;
main(spec).then(
  (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
  (err: unknown) => {
    process.stderr.write(`load: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
