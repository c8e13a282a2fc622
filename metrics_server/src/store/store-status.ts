/**
 * What a store says about itself, for Status (`store` section), readiness and `/metrics`, and the
 * role seam the composition root reads to decide whether this instance polls the generator.
 */

/** Whether this instance ingests (leader) or copies what another published (follower). */
export type StoreRole = 'leader' | 'follower';

/** The last outcome of a publish to the shared store. */
export interface PublishReport {
  readonly version: number;
  readonly term: number;
  /** accepted: in the store; refused: a newer term exists; failed: the store was unreachable (served locally). */
  readonly outcome: 'accepted' | 'refused' | 'failed';
  readonly atMs: number;
  readonly error?: string;
}

/** The store's state, as Status shows it. */
export interface StoreStatus {
  readonly kind: 'memory' | 'redis';
  readonly role: StoreRole;
  /** The fencing term this instance publishes under, or the newest it has seen (0 for memory). */
  readonly term: number;
  /** Whether the shared store answers (always true for memory). */
  readonly connected: boolean;
  readonly lastError?: { readonly message: string; readonly atMs: number };
  readonly lastPublish?: PublishReport;
  /** Extra facts of one store kind (URL without password, key prefix, counts, ...). */
  readonly details?: Readonly<Record<string, unknown>>;
}

/** A store that can describe itself; `confirmedAtMs` is when the leader last confirmed its data current. */
export interface DescribedStore {
  /** The state for Status and `/metrics`. */
  status(): StoreStatus;
  /**
   * When the data served was last confirmed current by the instance that ingests it (a new snapshot
   * or a `304`), as far as this instance knows; undefined when the store carries no such news.
   */
  confirmedAtMs(): number | undefined;
}

/** A store whose instances elect one ingester (Redis); the memory store always ingests. */
export interface ElectedStore {
  /** Whether this instance is the one that should poll. */
  isLeader(): boolean;
  /** Called with true on becoming leader (after loading the latest snapshot) and false on losing it. */
  onRoleChange(listener: (leader: boolean) => void): () => void;
}

/** True when `store` takes part in an election (the composition root starts polling on its word). */
export function isElectedStore(store: object): store is ElectedStore {
  return typeof (store as Partial<ElectedStore>).onRoleChange === 'function' && typeof (store as Partial<ElectedStore>).isLeader === 'function';
}
