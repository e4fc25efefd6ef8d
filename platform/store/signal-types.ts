/**
 * Storage of fraud signals at the coordinator: rows keyed by the 32-byte fraud token (never an identifier), with
 * the publishing member, the signal kind and the time it was observed.
 */

export interface NewSignal {
  /** 32-byte fraud token. */
  readonly token: Uint8Array;
  readonly kind: string;
  /** When the member observed it, Unix ms. */
  readonly atMs: number;
}

/** The newest time one member reported one kind for a token. */
export interface SignalGroupRow {
  readonly kind: string;
  readonly member: string;
  readonly lastAtMs: number;
}

export interface SignalStore {
  /**
   * Stores every signal for `member` in one transaction; returns their ids in order. `historical` marks a bulk
   * import of old signals (dated further back than live ones may be), kept apart for audit.
   */
  insert(
    member: string,
    signals: readonly NewSignal[],
    publishedAtMs: number,
    historical?: boolean,
  ): Promise<string[]>;
  /**
   * Deletes the given signals of `member`, all or none: if any id is unknown or another member's, nothing is
   * deleted and ACCORD_SIGNAL_NOT_FOUND names it.
   */
  retract(member: string, signalIds: readonly string[]): Promise<number>;
  /** The (kind, member) groups of a token's signals observed at or after `sinceMs`. */
  groups(token: Uint8Array, sinceMs: number): Promise<SignalGroupRow[]>;
  /** `groups` for many tokens at once (one read transaction), aligned with `tokens`. */
  groupsMany(tokens: readonly Uint8Array[], sinceMs: number): Promise<SignalGroupRow[][]>;
  /** Deletes signals observed before `beforeMs`; returns how many. */
  deleteObservedBefore(beforeMs: number): Promise<number>;
  count(): Promise<number>;
}
