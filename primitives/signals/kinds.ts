/**
 * The consortium's signal kinds, as data rather than a constant, so that a consortium adds a flag kind by editing the
 * coordinator config instead of releasing new software to every member (pure module: no I/O).
 *
 *  1. Coordinator: kinds = the built-in `SIGNAL_KINDS` (below), then `signals.extraFlagKinds` from its config,
 *     in that order (`consortiumKinds`). Publish refuses any other kind.
 *  2. Coordinator -> node: the ordered list travels in the Register answer (`signal_kinds`).
 *  3. Node: checks publish kinds against the list of its latest registration (`announcedKinds`), the built-ins before
 *     the first one. A stale list can only refuse early: the coordinator checks every signal again.
 *
 * `application` is the only kind counted in time windows; every other kind, built-in or extra, is a flag.
 */

/**
 * The built-in signal kinds, the one list every other is built from. `application`: the member saw a credit
 * application carrying the identifier (counted per time window). The others are flags (counted over the whole
 * retention period). Code whose answer depends on the consortium uses a `SignalKinds` (below), never this list alone.
 */
export const SIGNAL_KINDS = ['application', 'telecom_scam', 'mule_account', 'confirmed_fraud'] as const;

/** The kind counted in time windows; every other kind, built-in or extra, is a flag. */
export const APPLICATION_KIND = 'application' satisfies (typeof SIGNAL_KINDS)[number];

/** Shape of every kind name (built-ins included): short, lowercase, safe in logs, URLs and JSON keys. */
export const SIGNAL_KIND_PATTERN = /^[a-z][a-z0-9_]{0,31}$/;
/** `SIGNAL_KIND_PATTERN` in words, for validation messages. */
export const SIGNAL_KIND_RULE =
  'must be a lowercase letter, then lowercase letters, digits or _ (32 characters at most)';
/** Most extra flag kinds a consortium may configure (each one can add an entry to every query answer). */
export const MAX_EXTRA_FLAG_KINDS = 64;

/** A consortium's kinds, in order; immutable. */
export interface SignalKinds {
  /** Every kind, built-ins first, then the extras in config order. */
  readonly all: readonly string[];
  /** Every kind but `application`, in the same order (the order flags appear in query answers). */
  readonly flags: readonly string[];
  isKind(value: unknown): value is string;
  /** True for the kind counted per 1/7/30-day window (`application`); flags are counted over the retention period. */
  isWindowed(kind: string): boolean;
}

function registry(all: readonly string[]): SignalKinds {
  const set: ReadonlySet<string> = new Set(all);
  return Object.freeze({
    all: Object.freeze([...all]),
    flags: Object.freeze(all.filter((k) => k !== APPLICATION_KIND)),
    isKind: (value: unknown): value is string => typeof value === 'string' && set.has(value),
    isWindowed: (kind: string) => kind === APPLICATION_KIND,
  });
}

/** The built-in kinds alone: what a node uses before its first registration. */
export const BUILT_IN_KINDS: SignalKinds = registry(SIGNAL_KINDS);

/** One problem of an extra-kinds list: the offending entry's index, or null for the list as a whole. */
export interface KindProblem {
  readonly index: number | null;
  readonly problem: string;
}

/**
 * What is wrong with a list of extra flag kinds (empty when it is fine): too many, bad shape, a built-in name, a
 * repeat. The config schema reports these under their field paths.
 */
export function extraFlagKindProblems(extras: readonly string[]): KindProblem[] {
  const problems: KindProblem[] = [];
  if (extras.length > MAX_EXTRA_FLAG_KINDS)
    problems.push({ index: null, problem: `at most ${MAX_EXTRA_FLAG_KINDS} extra kinds` });
  const seen = new Set<string>();
  const builtIn: ReadonlySet<string> = new Set(SIGNAL_KINDS);
  extras.forEach((kind, index) => {
    if (!SIGNAL_KIND_PATTERN.test(kind)) problems.push({ index, problem: SIGNAL_KIND_RULE });
    else if (builtIn.has(kind)) problems.push({ index, problem: `${kind} is a built-in kind` });
    else if (seen.has(kind)) problems.push({ index, problem: `${kind} is listed twice` });
    seen.add(kind);
  });
  return problems;
}

/**
 * The coordinator's kinds: built-ins, then `extraFlagKinds` (validated by the config schema already; checked again
 * here because a wrong list would silently change what every member may publish). Throws a plain Error on a bad list.
 */
export function consortiumKinds(extraFlagKinds: readonly string[]): SignalKinds {
  const problems = extraFlagKindProblems(extraFlagKinds);
  if (problems.length > 0)
    throw new Error(
      `invalid extra flag kinds: ${problems.map((p) => `${p.index ?? 'list'}: ${p.problem}`).join('; ')}`,
    );
  return registry([...SIGNAL_KINDS, ...extraFlagKinds]);
}

/**
 * The kinds a coordinator announced at registration (already shape-checked by the wire decoder), in its order. An
 * empty list comes from a coordinator older than the announcement: the built-ins are what it accepts.
 */
export function announcedKinds(kinds: readonly string[]): SignalKinds {
  return kinds.length === 0 ? BUILT_IN_KINDS : registry(kinds);
}
