/**
 * A node that dies in the middle of a PSI job: its peer's job fails cleanly with a coded error, and when the dead
 * node starts again its own interrupted job is marked failed with its partial result dropped.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callApi, type LocalConsortium, startLocalConsortium } from '../../examples/local-consortium.js';

const CREDIT = fileURLToPath(new URL('../../examples/data/default_credit_hetero_guest.csv', import.meta.url));

describe('PSI when a node crashes mid-job', () => {
  let c: LocalConsortium;
  beforeAll(async () => {
    c = await startLocalConsortium({ members: ['bank-a', 'bank-b'] });
    const csv = readFileSync(CREDIT, 'utf8');
    for (const member of ['bank-a', 'bank-b']) {
      const r = await c.api(
        member,
        'admin',
        'POST',
        '/v1/datasets/cust?idColumn=id&defaultType=number',
        csv,
        'text/csv',
      );
      expect(r.status).toBe(201);
    }
  });
  afterAll(async () => {
    await c?.stop();
  });

  it('fails the peer job cleanly, and marks the crashed node’s job failed when it restarts', async () => {
    const start = await c.api('bank-a', 'risk', 'POST', '/v1/psi', {
      peers: ['bank-b'],
      dataset: 'cust',
      reveal: 'all',
    });
    expect(start.status).toBe(202);
    const id = start.body.id as string;
    for (;;) {
      const { body } = await c.api('bank-a', 'risk', 'GET', `/v1/psi/${id}`);
      if (body.state === 'running' && body.progress.processed > 0) break;
      expect(['waiting', 'running']).toContain(body.state);
      await new Promise((r) => setTimeout(r, 20));
    }
    c.nodes['bank-b']!.process.kill('SIGKILL');

    let job: { state: string; error: { code: string } | null };
    for (;;) {
      job = (await c.api('bank-a', 'risk', 'GET', `/v1/psi/${id}`)).body;
      if (!['waiting', 'running'].includes(job.state)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(job.state).toBe('failed');
    expect(job.error?.code).toBe('ACCORD_PSI_PEER_LOST');

    const again = await c.restartNode('bank-b');
    const after = await callApi(again.url, c.nodes['bank-b']!.tokens.risk, 'GET', `/v1/psi/${id}`);
    expect(after.body.state).toBe('failed');
    expect(after.body.error.code).toBe('ACCORD_PSI_INTERRUPTED');
    const rows = await callApi(again.url, c.nodes['bank-b']!.tokens.risk, 'GET', `/v1/psi/${id}/alignment`);
    expect(rows.status).toBe(409);
  });
});
