/**
 * Turns a prepared snapshot into a `Snapshot` on the main thread. Nothing here is proportional to the
 * fabric: the id index arrives prebuilt from the worker, and when the ids are the same as the
 * previous snapshot's (the usual case) the previous index object is kept after one memcmp, so the
 * id list and anything cached on it are shared.
 */
import type { PreparedSnapshot } from '../ingest/prepare.js';
import { Snapshot } from './snapshot.js';
import { SwitchIndex } from './switch-index.js';

export function assembleSnapshot(prepared: PreparedSnapshot, version: number, ingestedAtMs: number, previous: Snapshot | undefined): Snapshot {
  const previousIndex = previous?.indexForReuse();
  const switchIndex = previousIndex !== undefined && previousIndex.sameIds(prepared.switchIndex) ? previousIndex : new SwitchIndex(prepared.switchIndex);
  return new Snapshot({
    version,
    ingestedAtMs,
    metrics: prepared.metrics,
    switchIndex,
    values: prepared.values,
    views: { listMetricsJson: prepared.listMetricsJson === undefined ? undefined : asBuffer(prepared.listMetricsJson) },
    preparedJob: prepared.job,
  });
}

/** A Buffer view of transferred bytes, without copying. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
