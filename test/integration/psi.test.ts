/**
 * PSI end to end over real processes: results against a plaintext intersection, on real data across many batches
 * with the alignments checked row by row; three banks whose pairwise and full intersections all differ; what is NOT
 * revealed (cardinality gives only a count, reveal=initiator gives the peer nothing); each bank's policy (partners,
 * datasets, modes, size ratio; only an admin declines); and peers that misbehave (changed terms or participant list,
 * points off the curve, wrong counts, a reused session id) failing the job cleanly. Privacy of every value on the
 * wire: psi-privacy.test.ts.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalConsortium, startLocalConsortium } from '../../examples/local-consortium.js';
import { alignmentLines } from '../../examples/vertical.js';
import { PsiClient } from '../../node/psi/psi-client.js';
import { parseNodeConfig } from '../../platform/config/index.js';
import { createLogger } from '../../platform/log/logger.js';
import { loadTlsMaterial } from '../../platform/tls/credentials.js';
import type { PsiEvent } from '../../primitives/psi/session-protocol.js';
import { idsOfCreditData, phoneCsv, psiRegions, shared, waitJob } from '../helpers/psi-data.js';
import { until } from '../helpers/wait.js';

const GUEST = fileURLToPath(new URL('../../examples/data/default_credit_hetero_guest.csv', import.meta.url));
const HOST = fileURLToPath(new URL('../../examples/data/default_credit_hetero_host.csv', import.meta.url));

const ids = idsOfCreditData();
const { idsA, idsB, idsC } = psiRegions(ids);

/** The id of each CSV line (line 1 is the header; row keys are line numbers). */
function idsByLine(csv: string): Map<number, string> {
  const lines = csv.trim().split('\n');
  return new Map(lines.slice(1).map((line, i) => [i + 2, line.split(',')[0]!]));
}

const alignment = alignmentLines;

describe('PSI between member banks', () => {
  let c: LocalConsortium;
  // bank-a: the first 24 000 credit-data rows as they come; bank-b: the last 24 000, in reverse order (other row keys).
  const guest = readFileSync(GUEST, 'utf8').trim().split('\n');
  const host = readFileSync(HOST, 'utf8').trim().split('\n');
  const csvA = `${[guest[0], ...guest.slice(1, 24_001)].join('\n')}\n`;
  const csvB = `${[host[0], ...host.slice(6_001).reverse()].join('\n')}\n`;
  beforeAll(async () => {
    c = await startLocalConsortium({
      members: ['bank-a', 'bank-b', 'bank-c'],
      configure: (init) => {
        const edit = (
          member: string,
          change: (psi: { partners: Record<string, unknown>; autoAcceptFrom: string[] }) => void,
        ) => {
          const file = init.nodes.find((n) => n.member === member)!.config;
          const config = JSON.parse(readFileSync(file, 'utf8'));
          change(config.psi);
          writeFileSync(file, JSON.stringify(config));
        };
        // bank-c lets its partners intersect only against `customers`, bank-a with a tight size ratio, and waits
        // for its admin on bank-b's invitations.
        edit('bank-c', (psi) => {
          psi.partners['bank-a'] = { datasets: ['customers'], maxSizeRatio: 2 };
          psi.partners['bank-b'] = { datasets: ['customers'], weeklyRowsRatio: 4 };
          psi.autoAcceptFrom = ['bank-a'];
        });
        // bank-a does only intersections with bank-c.
        edit('bank-a', (psi) => {
          psi.partners['bank-c'] = { datasets: ['*'], modes: ['intersection'] };
        });
      },
    });
    const imports: Array<[string, string, string, string]> = [
      ['bank-a', 'customers', phoneCsv(idsA, 'spaced'), 'idColumn=phone&idKind=phone&columns=ref:string'],
      [
        'bank-a',
        'wide',
        phoneCsv(ids.slice(0, 2_400), 'plain'),
        'idColumn=phone&idKind=phone&columns=ref:string',
      ],
      ['bank-b', 'customers', phoneCsv(idsB, 'plain'), 'idColumn=phone&idKind=phone&columns=ref:string'],
      ['bank-c', 'customers', phoneCsv(idsC, 'dashed'), 'idColumn=phone&idKind=phone&columns=ref:string'],
      [
        'bank-c',
        'small',
        phoneCsv(idsC.slice(0, 50), 'plain'),
        'idColumn=phone&idKind=phone&columns=ref:string',
      ],
      ['bank-a', 'credit', csvA, 'idColumn=id&defaultType=number'],
      ['bank-b', 'credit', csvB, 'idColumn=id&defaultType=number'],
    ];
    for (const [member, dataset, csv, query] of imports) {
      const res = await c.api(member, 'admin', 'POST', `/v1/datasets/${dataset}?${query}`, csv, 'text/csv');
      expect(res.status, `${member} ${dataset}`).toBe(201);
    }
  });
  afterAll(async () => {
    await c?.stop();
  });

  it('finds exactly the shared customers, though the banks format phone numbers differently', async () => {
    const start = await c.api('bank-a', 'risk', 'POST', '/v1/psi', {
      peers: ['bank-b'],
      dataset: 'customers',
      mode: 'intersection',
      reveal: 'initiator',
    });
    expect(start.status).toBe(202);
    const job = await waitJob(c, 'bank-a', start.body.id);
    expect(job.state).toBe('done');
    const expected = shared(idsA, idsB);
    expect(job.result.size).toBe(expected.length);
    const lineOf = new Map(idsA.map((id, i) => [id, i + 2]));
    const rows = await alignment(c, 'bank-a', job.id);
    expect([...rows].sort((x, y) => x - y)).toEqual(
      expected.map((id) => lineOf.get(id)!).sort((x, y) => x - y),
    );
    // reveal=initiator: the peer ran the protocol but learns nothing.
    const peer = await waitJob(c, 'bank-b', job.id);
    expect(peer.state).toBe('done');
    expect(peer.result).toBeNull();
    expect((await c.api('bank-b', 'risk', 'GET', `/v1/psi/${job.id}/alignment`)).status).toBe(409);
  });

  it('aligns 18 000 shared rows of real data over many batches, row by row, in the same order at both banks', async () => {
    const start = await c.api('bank-a', 'risk', 'POST', '/v1/psi', {
      peers: ['bank-b'],
      dataset: 'credit',
      mode: 'intersection',
      reveal: 'all',
    });
    const job = await waitJob(c, 'bank-a', start.body.id);
    expect(job.state).toBe('done');
    expect(job.progress.total).toBe(48_000);
    expect((await waitJob(c, 'bank-b', job.id)).state).toBe('done');
    const [rowsA, rowsB] = [await alignment(c, 'bank-a', job.id), await alignment(c, 'bank-b', job.id)];
    const [byLineA, byLineB] = [idsByLine(csvA), idsByLine(csvB)];
    const idsOfA = rowsA.map((r) => byLineA.get(r)!);
    const idsOfB = rowsB.map((r) => byLineB.get(r)!);
    expect(idsOfA).toHaveLength(18_000);
    // Row r of bank-a's alignment and row r of bank-b's are the same customer, for every r.
    expect(idsOfB).toEqual(idsOfA);
    const expected = guest.slice(6_001, 24_001).map((line) => line.split(',')[0]);
    expect([...idsOfA].sort()).toEqual([...expected].sort());
    // The shared order is random: not the row order of either bank.
    expect(rowsA).not.toEqual([...rowsA].sort((x, y) => x - y));
  });

  it('three banks learn the rows in all three sets, never a pairwise intersection', async () => {
    expect(
      new Set([shared(idsA, idsB).length, shared(idsA, idsC).length, shared(idsB, idsC).length]).size,
    ).toBe(3);
    const start = await c.api('bank-a', 'risk', 'POST', '/v1/psi', {
      peers: ['bank-b', 'bank-c'],
      dataset: 'customers',
      mode: 'intersection',
      reveal: 'all',
    });
    const job = await waitJob(c, 'bank-a', start.body.id);
    expect(job.state).toBe('done');
    const all = shared(shared(idsA, idsB), idsC);
    for (const [member, ids] of [
      ['bank-a', idsA],
      ['bank-b', idsB],
      ['bank-c', idsC],
    ] as const) {
      const view = await waitJob(c, member, job.id);
      expect(view.result.size, member).toBe(all.length);
      const rows = await alignment(c, member, job.id);
      expect(rows.map((r) => ids[r - 2]).sort(), member).toEqual([...all].sort());
    }
  });

  it('cardinality mode returns only a count, to every learner', async () => {
    const start = await c.api('bank-b', 'risk', 'POST', '/v1/psi', {
      peers: ['bank-a'],
      dataset: 'customers',
      mode: 'cardinality',
      reveal: 'all',
    });
    const job = await waitJob(c, 'bank-b', start.body.id);
    expect(job.result).toEqual({ size: shared(idsA, idsB).length, alignment: false });
    expect((await waitJob(c, 'bank-a', job.id)).result.size).toBe(shared(idsA, idsB).length);
    const rows = await c.api('bank-b', 'risk', 'GET', `/v1/psi/${job.id}/alignment`);
    expect(rows.status).toBe(409);
    expect(rows.body.error.code).toBe('ACCORD_PSI_RESULT_UNAVAILABLE');
  });

  it('a bank’s policy decides who may intersect against what, in which mode', async () => {
    // bank-a does only intersections with bank-c: it declines bank-c's cardinality session by policy.
    const mode = await c.api('bank-c', 'risk', 'POST', '/v1/psi', {
      peers: ['bank-a'],
      dataset: 'customers',
      mode: 'cardinality',
    });
    expect(mode.status).toBe(202);
    const refused = await waitJob(c, 'bank-c', mode.body.id);
    expect(refused.state).toBe('failed');
    expect(refused.error.code).toBe('ACCORD_PSI_DECLINED');
    expect(refused.error.message).toContain('ACCORD_PSI_POLICY_REFUSED');
    expect((await waitJob(c, 'bank-a', mode.body.id)).error.code).toBe('ACCORD_PSI_POLICY_REFUSED');
    // `small` is not a dataset bank-b may use at bank-c: declined at once, without waiting for bank-c's admin.
    const dataset = await c.api('bank-b', 'risk', 'POST', '/v1/psi', {
      peers: ['bank-c'],
      dataset: 'customers',
      peerDatasets: { 'bank-c': 'small' },
      mode: 'cardinality',
    });
    expect((await waitJob(c, 'bank-b', dataset.body.id)).error.code).toBe('ACCORD_PSI_DECLINED');
    // bank-a itself may not start what its policy forbids: refused before anything is stored or sent.
    const own = await c.api('bank-a', 'risk', 'POST', '/v1/psi', {
      peers: ['bank-c'],
      dataset: 'customers',
      mode: 'cardinality',
    });
    expect(own.status).toBe(403);
    expect(own.body.error.code).toBe('ACCORD_PSI_POLICY_REFUSED');
  });

  it('refuses sets whose sizes differ by more than the strictest cap, naming the ratio, not the sizes', async () => {
    // bank-a's 2 400 rows against bank-c's 900, whose cap for bank-a is 2.
    const start = await c.api('bank-a', 'risk', 'POST', '/v1/psi', {
      peers: ['bank-c'],
      dataset: 'wide',
      peerDatasets: { 'bank-c': 'customers' },
      mode: 'intersection',
    });
    // bank-c sees the initiator's size in the invitation and declines before anyone is asked; bank-a learns only
    // that bank-c's size policy refused, not bank-c's size.
    const job = await waitJob(c, 'bank-a', start.body.id);
    expect(job.state).toBe('failed');
    expect(job.error.code).toBe('ACCORD_PSI_DECLINED');
    expect(job.error.message).toContain('ACCORD_PSI_SIZE_RATIO_EXCEEDED');
    expect(job.error.message).not.toMatch(/900|2\.7/);
    expect(job.progress.processed).toBe(0);
    const atC = await waitJob(c, 'bank-c', start.body.id);
    expect(atC.error.code).toBe('ACCORD_PSI_SIZE_RATIO_EXCEEDED');
    expect(atC.error.message).toContain('2.7');
  });

  it('only an admin may decline an invitation', async () => {
    // bank-c auto-accepts only bank-a: bank-b's invitation waits for bank-c's admin.
    const start = await c.api('bank-b', 'risk', 'POST', '/v1/psi', {
      peers: ['bank-c'],
      dataset: 'customers',
      mode: 'cardinality',
    });
    const view = await until('the invitation at bank-c', async () => {
      const v = await c.api('bank-c', 'admin', 'GET', `/v1/psi/${start.body.id}`);
      return v.body.state === 'pending_approval' ? v : undefined;
    });
    // The admin sees how many rows the initiator brings before deciding.
    expect(view.body.initiatorSetSize).toBe(idsB.length);
    const byRisk = await c.api('bank-c', 'risk', 'DELETE', `/v1/psi/${start.body.id}`);
    expect(byRisk.status).toBe(403);
    expect(byRisk.body.error.code).toBe('ACCORD_AUTH_FORBIDDEN');
    const byAdmin = await c.api('bank-c', 'admin', 'DELETE', `/v1/psi/${start.body.id}`);
    expect(byAdmin.status).toBe(200);
    expect(byAdmin.body.state).toBe('cancelled');
    expect((await waitJob(c, 'bank-b', start.body.id)).error.code).toBe('ACCORD_PSI_DECLINED');
  });

  it('caps the rows one partner brings against a dataset in a week, across sessions', async () => {
    // bank-c lets bank-b bring 4 x 900 rows a week against `customers`; the three-bank session above brought 1 500.
    const atC = (id: string) =>
      until(`job ${id} at bank-c`, async () => {
        const view = await c.api('bank-c', 'admin', 'GET', `/v1/psi/${id}`);
        return view.status === 200 ? view.body : undefined;
      });
    const run = () =>
      c.api('bank-b', 'risk', 'POST', '/v1/psi', {
        peers: ['bank-c'],
        dataset: 'customers',
        mode: 'cardinality',
      });
    const second = await run();
    expect((await atC(second.body.id)).state).toBe('pending_approval');
    expect(
      (await c.api('bank-c', 'admin', 'POST', `/v1/psi/invitations/${second.body.id}/accept`, {})).status,
    ).toBe(200);
    expect((await waitJob(c, 'bank-b', second.body.id)).state).toBe('done');
    // 1 500 + 1 500 + 1 500 > 3 600: the third is declined at once, before anyone is asked.
    const third = await run();
    const refused = await waitJob(c, 'bank-b', third.body.id);
    expect(refused.error.code).toBe('ACCORD_PSI_DECLINED');
    expect(refused.error.message).toContain('ACCORD_PSI_PARTNER_BUDGET_EXCEEDED');
    expect((await waitJob(c, 'bank-c', third.body.id)).error.code).toBe('ACCORD_PSI_PARTNER_BUDGET_EXCEEDED');
  });

  it('refuses bad requests with coded errors', async () => {
    const self = await c.api('bank-a', 'risk', 'POST', '/v1/psi', {
      peers: ['bank-a'],
      dataset: 'customers',
    });
    expect(self.body.error.code).toBe('ACCORD_PSI_PEER_INVALID');
    const missing = await c.api('bank-a', 'risk', 'POST', '/v1/psi', { peers: ['bank-b'], dataset: 'nope' });
    expect(missing.body.error.code).toBe('ACCORD_DATASET_NOT_FOUND');
    const kind = await c.api('bank-a', 'risk', 'POST', '/v1/psi', {
      peers: ['bank-b'],
      dataset: 'customers',
      idKind: 'email',
    });
    expect(kind.body.error.code).toBe('ACCORD_PSI_ID_KIND_MISMATCH');
    const marketing = await c.api('bank-a', 'marketing', 'POST', '/v1/psi', {
      peers: ['bank-b'],
      dataset: 'customers',
    });
    expect(marketing.status).toBe(403);
  });
});

/** A member that misbehaves: it speaks the Psi protocol directly with its own certificate. */
function rogue(c: LocalConsortium, member: string) {
  const configFile = join(c.dir, member, 'node.json');
  const config = parseNodeConfig(JSON.parse(readFileSync(configFile, 'utf8')), configFile);
  const client = new PsiClient(
    config,
    loadTlsMaterial(config.tls),
    c.coordinatorAddress,
    createLogger('rogue', 'error'),
  );
  const events: PsiEvent[] = [];
  const waiters: Array<() => void> = [];
  client.subscribe({
    onEvent: (e) => {
      events.push(e);
      for (const w of waiters.splice(0)) w();
    },
    onDisconnect: () => undefined,
  });
  const next = async <K extends PsiEvent['kind']>(kind: K): Promise<Extract<PsiEvent, { kind: K }>> => {
    for (;;) {
      const found = events.findIndex((e) => e.kind === kind);
      if (found >= 0) return events.splice(found, 1)[0] as Extract<PsiEvent, { kind: K }>;
      await new Promise<void>((r) => waiters.push(r));
    }
  };
  return { client, next };
}

describe('PSI with a misbehaving peer', () => {
  let c: LocalConsortium;
  let evil: ReturnType<typeof rogue>;
  const terms = {
    participants: ['bank-a', 'bank-b'],
    idKind: 'phone',
    mode: 'intersection',
    reveal: 'initiator',
  } as const;
  beforeAll(async () => {
    c = await startLocalConsortium({ members: ['bank-a', 'bank-b'] });
    await c.api(
      'bank-a',
      'admin',
      'POST',
      '/v1/datasets/customers?idColumn=phone&idKind=phone&columns=ref:string',
      phoneCsv(idsA.slice(0, 300), 'spaced'),
      'text/csv',
    );
    // bank-b's node stops; its certificate is now used by a client that bends the protocol.
    await new Promise<void>((resolve) => {
      c.nodes['bank-b']!.process.once('exit', () => resolve());
      c.nodes['bank-b']!.process.kill('SIGTERM');
    });
    evil = rogue(c, 'bank-b');
    await new Promise((r) => setTimeout(r, 300));
  });
  afterAll(async () => {
    evil?.client.close();
    await c?.stop();
  });

  async function startJob() {
    const start = await c.api('bank-a', 'risk', 'POST', '/v1/psi', {
      peers: ['bank-b'],
      dataset: 'customers',
      mode: 'intersection',
    });
    expect(start.status).toBe(202);
    const invitation = await evil.next('invitation');
    return { id: start.body.id as string, invitation: invitation.invitation };
  }

  async function failedWith(id: string, code: string) {
    const job = await waitJob(c, 'bank-a', id);
    expect(job.state).toBe('failed');
    expect(job.error.code).toBe(code);
  }

  it('rejects a peer that accepts another mode than the one agreed', async () => {
    const { id } = await startJob();
    await evil.client
      .respond({ kind: 'accept', sessionId: id, terms: { ...terms, mode: 'cardinality' }, setSize: 300 })
      .catch(() => undefined);
    await failedWith(id, 'ACCORD_PSI_TERMS_MISMATCH');
  });

  it('rejects an acceptance bound to another participant list', async () => {
    const { id } = await startJob();
    const err = await evil.client
      .respond({
        kind: 'accept',
        sessionId: id,
        terms: { ...terms, participants: ['bank-b', 'bank-a'] },
        setSize: 300,
      })
      .catch((e) => e);
    expect(err.code).toBe('ACCORD_PSI_TERMS_MISMATCH');
    expect(err.message).toContain('participants');
    await failedWith(id, 'ACCORD_PSI_TERMS_MISMATCH');
  });

  it('rejects points that are not on the curve', async () => {
    const { id } = await startJob();
    await evil.client.respond({ kind: 'accept', sessionId: id, terms, setSize: 30 });
    await evil.next('start');
    const twist = Buffer.alloc(64);
    twist[0] = 2; // u = 2 lies on the quadratic twist of Curve25519, not on the curve
    twist[32] = 2;
    await evil.client
      .send({ sessionId: id, origin: 'bank-b', hop: 1, batchIndex: 0, count: 2, points: twist, last: false })
      .catch(() => undefined);
    await failedWith(id, 'ACCORD_PSI_POINT_NOT_ON_CURVE');
  });

  it('rejects a peer that sends fewer points than it announced', async () => {
    const { id } = await startJob();
    await evil.client.respond({ kind: 'accept', sessionId: id, terms, setSize: 40 });
    await evil.next('start');
    const err = await evil.client
      .send({
        sessionId: id,
        origin: 'bank-b',
        hop: 1,
        batchIndex: 0,
        count: 1,
        points: Buffer.alloc(32, 9),
        last: true,
      })
      .catch((e) => e);
    expect(err.code).toBe('ACCORD_PSI_SET_SIZE_MISMATCH');
    await failedWith(id, 'ACCORD_PSI_SET_SIZE_MISMATCH');
  });

  it('refuses an announced set larger than the coordinator allows, before allocating anything', async () => {
    const { id } = await startJob();
    const err = await evil.client
      .respond({ kind: 'accept', sessionId: id, terms, setSize: 2_000_000_000 })
      .catch((e) => e);
    expect(err.code).toBe('ACCORD_PSI_SET_TOO_LARGE');
    await failedWith(id, 'ACCORD_PSI_SET_TOO_LARGE');
  });

  it('never lets a session id be used twice', async () => {
    const { id } = await startJob();
    await evil.client.respond({ kind: 'decline', sessionId: id, code: 'ACCORD_PSI_DECLINED' });
    await failedWith(id, 'ACCORD_PSI_DECLINED');
    const replay = await evil.client
      .open({
        sessionId: id,
        peers: ['bank-a'],
        idKind: 'phone',
        mode: 'intersection',
        reveal: 'initiator',
        setSize: 10,
        peerDatasets: { 'bank-a': 'customers' },
      })
      .catch((e) => e);
    expect(replay.code).toBe('ACCORD_PSI_SESSION_EXISTS');
    const freshId = randomUUID();
    const fresh = await evil.client
      .open({
        sessionId: freshId,
        peers: ['bank-a'],
        idKind: 'phone',
        mode: 'intersection',
        reveal: 'initiator',
        setSize: 10,
        peerDatasets: { 'bank-a': 'customers' },
      })
      .catch((e) => e);
    expect(fresh).toEqual({ invited: ['bank-a'] });
    // Ended before the next test counts sessions: bank-a refuses it, and its job ends once the coordinator has the answer.
    await until('bank-a to answer the fresh session', async () => {
      const { status, body } = await c.api('bank-a', 'admin', 'GET', `/v1/psi/${freshId}`);
      return status === 200 && !['waiting', 'running', 'pending_approval'].includes(body.state)
        ? body
        : undefined;
    });
  });

  it('counts simultaneous Opens one at a time against the member’s limit of sessions at once', async () => {
    const open = () =>
      evil.client.open({
        sessionId: randomUUID(),
        peers: ['bank-a'],
        idKind: 'phone',
        mode: 'intersection',
        reveal: 'initiator',
        setSize: 200,
        peerDatasets: { 'bank-a': 'customers' },
      });
    const results = await Promise.allSettled(Array.from({ length: 10 }, open));
    const opened = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    // The coordinator's default: 4 sessions at once per member; earlier tests' sessions have all ended.
    expect(opened).toHaveLength(4);
    for (const r of refused) expect(r.reason.code).toBe('ACCORD_PSI_LIMIT_REACHED');
  });
});
