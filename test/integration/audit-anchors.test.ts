/**
 * Audit anchors end to end, over real processes: a node that deletes an early audit entry and re-seals its whole log
 * passes the plain chain check, but `accord audit verify` compares the log with the heads the coordinator anchored
 * from its heartbeats and names the first that disagrees. Likewise for the coordinator's own log, checked against
 * the heads a node anchored from the heartbeat answers (`accord audit anchors` -> `verify --anchors`).
 *
 * Flow: short heartbeat and anchor intervals (configure hook) -> activity on the node -> wait for anchors on both
 * sides -> the REST verify reports them -> stop the node, tamper, verify (offline passes, anchored fails) and export
 * the node's anchors of the coordinator -> stop the coordinator, tamper, verify with and without the export.
 * Each CLI run costs a process start, so the operator paths go through the CLI (together where independent) and the
 * positive controls run in-process, to keep the test short.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalConsortium, startLocalConsortium, stopProcess } from '../../examples/local-consortium.js';
import { verifyAuditLog, verifyAuditLogAgainst } from '../../platform/audit/verify.js';
import { openSqliteCoordinatorStore } from '../../platform/store/sqlite/index.js';
import type { CoordinatorStore } from '../../platform/store/types.js';
import { removeEntryAndReseal } from '../helpers/audit-tamper.js';
import { accord } from '../helpers/run-cli.js';
import { waitFor } from '../helpers/wait.js';

const MEMBER = 'bank-a';

interface AnchorRow {
  seq: number;
  at: string;
}

function anchorsIn(dbFile: string, party: string): AnchorRow[] {
  const db = new Database(dbFile, { readonly: true, fileMustExist: true });
  try {
    return db
      .prepare('SELECT seq, at FROM audit_anchors WHERE party = ? ORDER BY seq')
      .all(party) as AnchorRow[];
  } finally {
    db.close();
  }
}

/**
 * Deletes the entry just after the first anchor, so the second anchor is the first that disagrees and the first
 * still agrees. Needs three anchors: the second is then not the last entry, which the deletion shortens.
 */
function plan(anchors: AnchorRow[]) {
  const [agreeing, first] = anchors;
  return { remove: agreeing!.seq + 1, firstMismatch: first!, lastAgreeing: agreeing! };
}

describe('audit anchors catch a log rewritten and re-sealed as a whole', () => {
  let c: LocalConsortium;
  let nodeDb: string;
  let coordinatorDb: string;
  let anchorsFile: string;

  beforeAll(async () => {
    c = await startLocalConsortium({
      members: [MEMBER],
      configure: (init) => {
        const edit = (file: string, change: (config: Record<string, unknown>) => void) => {
          const config = JSON.parse(readFileSync(file, 'utf8'));
          change(config);
          writeFileSync(file, JSON.stringify(config, null, 2));
        };
        edit(init.coordinatorConfig, (config) => {
          config['heartbeat'] = { intervalMs: 100, offlineAfterMs: 3_000 };
          config['audit'] = { anchorIntervalMs: 200 };
        });
        for (const node of init.nodes)
          edit(node.config, (config) => (config['audit'] = { anchorIntervalMs: 200 }));
      },
    });
    nodeDb = join(c.dir, MEMBER, 'data', 'node.db');
    coordinatorDb = join(c.dir, 'coordinator', 'data', 'coordinator.db');
  });
  afterAll(async () => {
    await c?.stop();
  });

  it("a node's rewritten log passes the chain check, and fails against the coordinator's anchors", async () => {
    for (let i = 0; i < 5; i++) expect((await c.api(MEMBER, 'risk', 'GET', '/v1/members')).status).toBe(200);
    await waitFor(
      'anchors on both sides',
      () => anchorsIn(coordinatorDb, MEMBER).length >= 3 && anchorsIn(nodeDb, 'coordinator').length >= 3,
    );

    // Intact: the node's REST check compares its log with the coordinator's anchors.
    const rest = await c.api(MEMBER, 'reviewer', 'GET', '/v1/audit/verify');
    expect(rest.status).toBe(200);
    expect(rest.body).toMatchObject({ ok: true, anchors: { ok: true } });
    expect(rest.body.anchors.checked).toBeGreaterThanOrEqual(3);
    const held = await c.api(MEMBER, 'admin', 'GET', '/v1/audit/anchors');
    expect(held.body.party).toBe('coordinator');
    expect(held.body.anchors.length).toBeGreaterThanOrEqual(3);

    const node = c.nodes[MEMBER]!;
    await stopProcess(node.process);
    const { remove, firstMismatch, lastAgreeing } = plan(anchorsIn(coordinatorDb, MEMBER));
    removeEntryAndReseal(nodeDb, remove);

    const [offline, anchored, exported] = await Promise.all([
      accord(['audit', 'verify', '--config', node.configFile, '--offline']),
      accord(['audit', 'verify', '--config', node.configFile, '--coordinator', c.coordinatorAddress]),
      // The coordinator's heads this node anchored (all while the coordinator ran), for the next test.
      accord(['audit', 'anchors', '--config', node.configFile]),
    ]);
    // The attack works without anchors...
    expect(offline.code).toBe(0);
    expect(offline.stdout).toContain('audit log intact');
    expect(offline.stdout).toContain('anchor check skipped (--offline)');
    // ...and not with them.
    expect(anchored.code).toBe(1);
    expect(anchored.stderr).toContain('ACCORD_AUDIT_ANCHOR_MISMATCH');
    expect(anchored.stderr).toContain(
      `audit log entry ${firstMismatch.seq} differs from the head the coordinator anchored at ${firstMismatch.at} ` +
        `(entries after ${lastAgreeing.seq}, the last anchor that agrees, were rewritten or removed)`,
    );

    expect(exported.code).toBe(0);
    expect(JSON.parse(exported.stdout)).toMatchObject({
      format: 'accord-audit-anchors/v1',
      party: 'coordinator',
      holder: MEMBER,
    });
    anchorsFile = join(c.dir, `${MEMBER}-anchors.json`);
    writeFileSync(anchorsFile, exported.stdout);
  });

  it("the coordinator's rewritten log fails against the heads a node anchored", async () => {
    expect(anchorsFile).toBeDefined();
    const exported = JSON.parse(readFileSync(anchorsFile, 'utf8')) as {
      anchors: { seq: number; hash: string; at: string }[];
    };
    const held = exported.anchors.map((a) => ({ ...a, holder: MEMBER }));
    const inProcess = async <T>(check: (store: CoordinatorStore) => Promise<T>): Promise<T> => {
      const store = openSqliteCoordinatorStore(coordinatorDb);
      try {
        return await check(store);
      } finally {
        await store.close();
      }
    };
    // The node anchored these heads while the coordinator ran; stopped, its untouched log agrees with every one.
    await stopProcess(c.coordinator);
    expect(await inProcess((s) => verifyAuditLogAgainst(s.audit, held))).toMatchObject({
      chain: { ok: true },
      anchors: { ok: true, checked: held.length },
    });

    const { remove, firstMismatch, lastAgreeing } = plan(anchorsIn(nodeDb, 'coordinator'));
    removeEntryAndReseal(coordinatorDb, remove);
    // The attack works without anchors...
    expect(await inProcess((s) => verifyAuditLog(s.audit))).toMatchObject({ ok: true });
    // ...and not with them.
    const anchored = await accord([
      'audit',
      'verify',
      '--config',
      c.coordinatorConfig,
      '--anchors',
      anchorsFile,
    ]);
    expect(anchored.code).toBe(1);
    expect(anchored.stderr).toContain('ACCORD_AUDIT_ANCHOR_MISMATCH');
    expect(anchored.stderr).toContain(
      `audit log entry ${firstMismatch.seq} differs from the head ${MEMBER} anchored at ${firstMismatch.at} ` +
        `(entries after ${lastAgreeing.seq}, the last anchor that agrees, were rewritten or removed)`,
    );
  });
});
