/**
 * A child process for the checkpoint's atomicity test: builds a large history, writes a first
 * checkpoint to the path in argv[2], says "saved" on stdout, then keeps writing checkpoints of a
 * growing history until it is killed (the test kills it mid-write).
 */
import { createLogger } from '../../common/logger.js';
import { Checkpointer } from '../src/history/checkpoint-file.js';
import { HistoryStore } from '../src/history/history-store.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { contentFromCsv } from './helpers.js';

const path = process.argv[2]!;
const store = new MemoryStore();
const history = new HistoryStore({ retentionSeconds: 86400, maxMemoryBytes: 2 ** 34, chunkSamples: 16 });
const csv = (n: number): string => `switch_id,latency_ms,bandwidth_mbps\n${Array.from({ length: 20_000 }, (_, i) => `sw${i},${((i * 7 + n * 13) % 997) / 100},${(i * 31 + n * 101) % 100_000}`).join('\n')}\n`;
const logger = createLogger({ level: 'ERROR', format: 'text' });
const checkpointer = new Checkpointer(history, path, 3_600_000, logger);
let n = 0;
const grow = (count: number): void => {
  for (let i = 0; i < count; i++, n++) history.appendNow(store.publishNow(contentFromCsv(csv(n), (1_766_500_000 + n * 5) * 1000)));
};
grow(40);
await checkpointer.save();
process.stdout.write(`saved ${history.stats().samples}\n`);
for (;;) {
  grow(2);
  await checkpointer.save();
}
