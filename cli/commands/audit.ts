/**
 * `accord audit verify|anchors`: checks a process's audit log, including against the heads other processes anchored.
 *
 *   accord audit verify --config node.json [--coordinator host:port] [--offline]
 *     1. fetches the anchors the coordinator holds about this node's log (`Consortium.AuditAnchors` over mutual TLS,
 *        as the member of the node's certificate); unless --offline, an unreachable coordinator fails the command,
 *        since the chain alone cannot see a log rewritten and re-sealed as a whole;
 *     2. streams the local log once: the hash chain (ACCORD_AUDIT_CHAIN_BROKEN), and every anchored seq must exist
 *        with exactly the anchored hash (ACCORD_AUDIT_ANCHOR_MISMATCH names the first that does not).
 *   accord audit anchors --config node.json
 *     prints (JSON) the coordinator's heads this node anchored: the evidence for the next command.
 *   accord audit verify --config coordinator.json [--anchors file]...
 *     the same checks for the coordinator's log, against anchors exported from one or more nodes.
 */
import { join } from 'node:path';
import { z } from 'zod';
import { fetchAllAnchors, fetchAnchorsFromCoordinator } from '../../platform/audit/anchor-client.js';
import { verifyAuditLogAgainst } from '../../platform/audit/verify.js';
import { formatZodIssues, readJsonFile } from '../../platform/config/load.js';
import { loadCoordinatorConfig, loadNodeConfig } from '../../platform/config/index.js';
import { openSqliteCoordinatorStore, openSqliteNodeStore } from '../../platform/store/sqlite/index.js';
import { loadTlsMaterial } from '../../platform/tls/credentials.js';
import type { HeldAnchor } from '../../primitives/audit/anchors.js';
import { COORDINATOR_NAME, MEMBER_NAME_PATTERN } from '../../primitives/consortium/roles.js';
import { AccordError } from '../../primitives/errors/index.js';

export interface AuditVerifyOptions {
  /** host:port overriding the node config's `coordinator.address`. */
  readonly coordinator?: string;
  /** Skip the anchor check (node config). */
  readonly offline?: boolean;
  /** Files written by `accord audit anchors` (coordinator config). */
  readonly anchors?: readonly string[];
}

/** What `accord audit anchors` prints and `--anchors` reads. */
const ANCHORS_FORMAT = 'accord-audit-anchors/v1';
const anchorsFileSchema = z.strictObject({
  format: z.literal(ANCHORS_FORMAT),
  /** Whose log the anchors are of. */
  party: z.literal(COORDINATOR_NAME),
  /** The member whose node anchored them. */
  holder: z.string().regex(MEMBER_NAME_PATTERN),
  anchors: z.array(
    z.strictObject({
      seq: z.number().int().positive(),
      hash: z.string().regex(/^[0-9a-f]{64}$/),
      at: z.string().refine((at) => !Number.isNaN(Date.parse(at)), 'must be an ISO time'),
      entrySeq: z.number().int().positive(),
    }),
  ),
});

function configKind(configFile: string): string | undefined {
  return (readJsonFile(configFile) as { kind?: string } | null)?.kind;
}

function readAnchorsFile(file: string): HeldAnchor[] {
  const parsed = anchorsFileSchema.safeParse(readJsonFile(file));
  if (!parsed.success)
    throw new AccordError('ACCORD_USAGE', {
      problem: `${file} is not a file written by \`accord audit anchors\`: ${formatZodIssues(parsed.error)}`,
    });
  return parsed.data.anchors.map((a) => ({ seq: a.seq, hash: a.hash, at: a.at, holder: parsed.data.holder }));
}

async function anchorsOfNode(configFile: string, options: AuditVerifyOptions): Promise<HeldAnchor[]> {
  const config = loadNodeConfig(configFile);
  const tls = loadTlsMaterial(config.tls);
  if (tls.name !== config.member)
    throw new AccordError('ACCORD_TLS_IDENTITY_MISMATCH', {
      file: config.tls.cert,
      actual: tls.name,
      expected: config.member,
    });
  const address = options.coordinator ?? config.coordinator.address;
  try {
    const anchors = await fetchAnchorsFromCoordinator(tls, address, config.coordinator.serverName);
    return anchors.map((a) => ({ seq: a.seq, hash: a.hash, at: a.at, holder: COORDINATOR_NAME }));
  } catch (err) {
    if (err instanceof AccordError && err.code === 'ACCORD_COORDINATOR_UNAVAILABLE')
      throw new AccordError('ACCORD_COORDINATOR_UNAVAILABLE', {
        reason: `${address}: ${err.params['reason'] ?? 'unavailable'}; the anchors it holds are needed to detect a rewritten log (pass --coordinator host:port, or --offline to check the chain alone)`,
      });
    throw err;
  }
}

/** How old an unanchored node log may be before `verify` refuses it (a few anchor intervals and restarts). */
const UNANCHORED_GRACE_MS = 10 * 60_000;

export async function auditVerify(configFile: string, options: AuditVerifyOptions = {}): Promise<void> {
  const isCoordinator = configKind(configFile) === 'coordinator';
  if (isCoordinator && options.coordinator)
    throw new AccordError('ACCORD_USAGE', { problem: '--coordinator applies to a node config' });
  if (!isCoordinator && options.anchors?.length)
    throw new AccordError('ACCORD_USAGE', {
      problem: '--anchors applies to a coordinator config (a node fetches its anchors from the coordinator)',
    });

  // Fetched first, so that an unreachable coordinator does not hide a broken chain: that is reported first.
  let held: HeldAnchor[] | null = null;
  let fetchError: unknown = null;
  let source = '';
  if (isCoordinator) {
    held = (options.anchors ?? []).flatMap(readAnchorsFile);
    source = `anchors held by ${[...new Set(held.map((a) => a.holder))].join(', ') || 'nobody'}`;
  } else if (!options.offline) {
    try {
      held = await anchorsOfNode(configFile, options);
      source = "the coordinator's anchors";
    } catch (err) {
      fetchError = err;
    }
  }

  const store = isCoordinator
    ? openSqliteCoordinatorStore(join(loadCoordinatorConfig(configFile).dataDir, 'coordinator.db'))
    : openSqliteNodeStore(loadNodeConfig(configFile).store.path!);
  try {
    const { chain, anchors } = await verifyAuditLogAgainst(store.audit, held ?? []);
    if (!chain.ok)
      throw new AccordError('ACCORD_AUDIT_CHAIN_BROKEN', { seq: chain.brokenAt, reason: chain.reason });
    if (fetchError) throw fetchError;
    // A node's log that the coordinator never anchored, though it is older than a few anchor intervals: the node hid
    // its heads (or the anchors were lost), so nothing vouches for the log and it is not verified.
    if (!isCoordinator && held && held.length === 0) {
      const [first] = await store.audit.list({ afterSeq: 0, limit: 1 });
      const ageMs = first ? Date.now() - Date.parse(first.at) : 0;
      if (ageMs > UNANCHORED_GRACE_MS)
        throw new AccordError('ACCORD_AUDIT_ANCHOR_MISMATCH', {
          seq: first!.seq,
          reason: `is not covered by any anchor the coordinator holds, though the log is ${Math.round(ageMs / 60_000)} minutes old: its heads were never anchored`,
        });
    }
    if (!anchors.ok)
      throw new AccordError('ACCORD_AUDIT_ANCHOR_MISMATCH', {
        seq: anchors.firstMismatch.seq,
        reason: anchors.firstMismatch.reason,
      });
    process.stdout.write(`audit log intact: ${chain.entries} entries, head ${chain.headHash}\n`);
    if (!held)
      process.stdout.write(
        'anchor check skipped (--offline): a log rewritten and re-sealed as a whole passes the chain check alone\n',
      );
    else if (anchors.lastAnchor)
      process.stdout.write(
        `anchors agree: ${anchors.checked} checked against ${source}, the newest at entry ${anchors.lastAnchor.seq} ` +
          `(anchored ${anchors.lastAnchor.at}); entries after it are not anchored yet\n`,
      );
    else
      process.stdout.write(
        isCoordinator && !options.anchors?.length
          ? 'no --anchors given: only the chain was checked (export them with `accord audit anchors --config node.json`)\n'
          : `no anchors to check against (${source}): only the chain was checked\n`,
      );
  } finally {
    await store.close();
  }
}

/** Prints the coordinator's heads this node anchored, as JSON for `accord audit verify --anchors`. */
export async function auditAnchors(configFile: string): Promise<void> {
  if (configKind(configFile) === 'coordinator')
    throw new AccordError('ACCORD_USAGE', {
      problem:
        'accord audit anchors takes a node config: the coordinator serves its anchors of each member log to that member',
    });
  const config = loadNodeConfig(configFile);
  const store = openSqliteNodeStore(config.store.path!);
  try {
    const anchors = (await fetchAllAnchors((query) => store.anchors.list(COORDINATOR_NAME, query))).map(
      ({ seq, hash, at, entrySeq }) => ({ seq, hash, at, entrySeq }),
    );
    const file: z.infer<typeof anchorsFileSchema> = {
      format: ANCHORS_FORMAT,
      party: COORDINATOR_NAME,
      holder: config.member,
      anchors,
    };
    process.stdout.write(`${JSON.stringify(file, null, 2)}\n`);
  } finally {
    await store.close();
  }
}
