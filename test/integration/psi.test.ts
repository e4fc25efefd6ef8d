/**
 * PSI end to end over real processes: results against a plaintext intersection, what is NOT revealed (no raw
 * identifier in any message a node sends; cardinality gives only a count; reveal=initiator gives the peer nothing),
 * and peers that misbehave (changed terms, points off the curve, wrong counts) failing the job cleanly.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalConsortium, startLocalConsortium } from '../../examples/local-consortium.js';
import { createLogger } from '../../platform/log/logger.js';
import { parseNodeConfig } from '../../platform/config/index.js';
import { loadTlsMaterial } from '../../platform/tls/credentials.js';
import type { PsiEvent } from '../../platform/wire/psi.js';
import { PsiClient } from '../../node/psi/psi-client.js';
import { normaliseId } from '../../primitives/identity/normalise.js';

const CREDIT = fileURLToPath(new URL('../../examples/data/default_credit_hetero_guest.csv', import.meta.url));

/** Customers of one bank, keyed by phone numbers derived from the real records' ids (different formats per bank). */
function phoneCsv(ids: string[], style: 'spaced' | 'plain'): string {
  const rows = ids.map((id) => {
    const digits = id.padStart(8, '0');
    const phone = style === 'spaced' ? `+886 9${digits.slice(0, 4)} ${digits.slice(4)}` : `00886-9${digits}`;
    return `${phone},${id}`;
  });
  return `phone,ref\n${rows.join('\n')}\n`;
}

async function waitJob(c: LocalConsortium, member: string, id: string) {
  for (;;) {
    const { body } = await c.api(member, 'risk', 'GET', `/v1/psi/${id}`);
    if (!['waiting', 'running', 'pending_approval'].includes(body.state)) return body;
    await new Promise((r) => setTimeout(r, 100));
  }
}

const allIds = readFileSync(CREDIT, 'utf8')
  .trim()
  .split('\n')
  .slice(1, 3_001)
  .map((line) => line.split(',')[0]!);
const idsA = allIds.slice(0, 2_000);
const idsB = allIds.slice(1_200, 3_000);
const idsC = [...allIds.slice(1_500, 1_800), ...allIds.slice(2_500, 2_600)];
const shared = (a: string[], b: string[]) => a.filter((x) => new Set(b).has(x));

describe('PSI between member banks', () => {
  let c: LocalConsortium;
  let wireDir: string;
  beforeAll(async () => {
    wireDir = mkdtempSync(join(tmpdir(), 'accord-wire-'));
    c = await startLocalConsortium({
      members: ['bank-a', 'bank-b', 'bank-c'],
      env: { ACCORD_WIRE_RECORD: join(wireDir, 'sent.jsonl') },
    });
    for (const [member, ids, style] of [
      ['bank-a', idsA, 'spaced'],
      ['bank-b', idsB, 'plain'],
      ['bank-c', idsC, 'plain'],
    ] as const) {
      const res = await c.api(
        member,
        'admin',
        'POST',
        '/v1/datasets/customers?idColumn=phone&idKind=phone&columns=ref:string',
        phoneCsv(ids, style),
        'text/csv',
      );
      expect(res.status).toBe(201);
    }
  });
  afterAll(async () => {
    await c?.stop();
    rmSync(wireDir, { recursive: true, force: true });
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
    const rows = await c.api('bank-a', 'risk', 'GET', `/v1/psi/${job.id}/alignment?limit=100000`);
    const lineOf = new Map(idsA.map((id, i) => [id, i + 2]));
    expect(rows.body.rowKeys).toEqual(expected.map((id) => lineOf.get(id)).sort((x, y) => x! - y!));
    // reveal=initiator: the peer ran the protocol but learns nothing.
    const peer = await waitJob(c, 'bank-b', job.id);
    expect(peer.state).toBe('done');
    expect(peer.result).toBeNull();
    expect((await c.api('bank-b', 'risk', 'GET', `/v1/psi/${job.id}/alignment`)).status).toBe(409);
  });

  it('intersects three banks through the coordinator', async () => {
    const start = await c.api('bank-c', 'risk', 'POST', '/v1/psi', {
      peers: ['bank-a', 'bank-b'],
      dataset: 'customers',
      reveal: 'all',
    });
    const job = await waitJob(c, 'bank-c', start.body.id);
    expect(job.state).toBe('done');
    const expected = shared(shared(idsC, idsA), idsB);
    expect(job.result.size).toBe(expected.length);
    expect((await waitJob(c, 'bank-a', job.id)).result.size).toBe(expected.length);
  });

  it('cardinality mode returns only a count', async () => {
    const start = await c.api('bank-b', 'risk', 'POST', '/v1/psi', {
      peers: ['bank-a'],
      dataset: 'customers',
      mode: 'cardinality',
      reveal: 'all',
    });
    const job = await waitJob(c, 'bank-b', start.body.id);
    expect(job.result).toEqual({ size: shared(idsA, idsB).length, alignment: false });
    const rows = await c.api('bank-b', 'risk', 'GET', `/v1/psi/${job.id}/alignment`);
    expect(rows.status).toBe(409);
    expect(rows.body.error.code).toBe('ACCORD_PSI_RESULT_UNAVAILABLE');
  });

  it('no message any node sent contains a raw or normalised identifier', () => {
    const sent = readFileSync(join(wireDir, 'sent.jsonl'), 'utf8');
    expect(sent).toContain('/accord.v1.Psi/Send');
    for (const id of [...idsA, ...idsB, ...idsC].slice(0, 400)) {
      const digits = id.padStart(8, '0');
      const normalised = normaliseId('phone', `+886 9${digits}`);
      for (const needle of [normalised, normalised.slice(1), Buffer.from(normalised).toString('hex')]) {
        expect(sent.includes(needle), `found ${needle}`).toBe(false);
      }
    }
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

  it('rejects a peer that accepts another mode than the one agreed', async () => {
    const { id } = await startJob();
    await evil.client
      .respond({
        sessionId: id,
        accept: true,
        mode: 'cardinality',
        reveal: 'initiator',
        setSize: 300,
        declineCode: '',
      })
      .catch(() => undefined);
    const job = await waitJob(c, 'bank-a', id);
    expect(job.state).toBe('failed');
    expect(job.error.code).toBe('ACCORD_PSI_TERMS_MISMATCH');
  });

  it('rejects points that are not on the curve', async () => {
    const { id } = await startJob();
    await evil.client.respond({
      sessionId: id,
      accept: true,
      mode: 'intersection',
      reveal: 'initiator',
      setSize: 2,
      declineCode: '',
    });
    await evil.next('start');
    const twist = Buffer.alloc(64);
    twist[0] = 2; // u = 2 lies on the quadratic twist of Curve25519, not on the curve
    twist[32] = 2;
    await evil.client.send({
      sessionId: id,
      origin: 'bank-b',
      hop: 1,
      batchIndex: 0,
      count: 2,
      points: twist,
      last: true,
    });
    const job = await waitJob(c, 'bank-a', id);
    expect(job.state).toBe('failed');
    expect(job.error.code).toBe('ACCORD_PSI_POINT_NOT_ON_CURVE');
  });

  it('rejects a peer that sends fewer points than it announced', async () => {
    const { id } = await startJob();
    await evil.client.respond({
      sessionId: id,
      accept: true,
      mode: 'intersection',
      reveal: 'initiator',
      setSize: 10,
      declineCode: '',
    });
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
    const job = await waitJob(c, 'bank-a', id);
    expect(job.state).toBe('failed');
    expect(job.error.code).toBe('ACCORD_PSI_SET_SIZE_MISMATCH');
  });
});
