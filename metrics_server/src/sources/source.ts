/**
 * The source seam: where fabric data comes from. A source owns its transport and its schedule (a
 * poll loop, a push stream, a store follower) and hands each delivery to the ingester
 * (ingest/ingester.ts), which owns everything after: parsing, publishing, health. Adding a way in is
 * a new file here, not an edit through the pipeline.
 */

/** A running way in for fabric data. */
export interface TelemetrySource {
  /** What kind of source it is, for Status and logs (`poll`). */
  readonly kind: string;
  /** Starts delivering; the first delivery is attempted at once. */
  start(): void;
  /** Stops delivering and waits for a delivery in flight to be handed over. */
  stop(): Promise<void>;
}
