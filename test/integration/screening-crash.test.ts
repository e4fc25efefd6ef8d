/**
 * A node killed in the middle of a screening job: when it starts again, polling the job gives a coded, final
 * answer (failed, ACCORD_SIGNAL_SCREEN_INTERRUPTED, with the progress it had made) rather than "no such job".
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callApi, type LocalConsortium, startLocalConsortium } from '../../examples/local-consortium.js';

const IDS = 100_000;
const phone = (i: number) => `+4477${String(i).padStart(8, '0')}`;

describe('screening when the node crashes mid-job', () => {
  let c: LocalConsortium;
  beforeAll(async () => {
    c = await startLocalConsortium({ members: ['bank-a', 'bank-b'] });
  });
  afterAll(async () => {
    await c?.stop();
  });

  it('marks the job failed with ACCORD_SIGNAL_SCREEN_INTERRUPTED when the node restarts', async () => {
    const ids = Array.from({ length: IDS }, (_, i) => phone(i));
    const start = await c.api('bank-a', 'risk', 'POST', '/v1/signals/screen', { idKind: 'phone', ids });
    expect(start.status).toBe(202);
    const jobId = start.body.jobId as string;
    let processed = 0;
    for (;;) {
      const { body } = await c.api('bank-a', 'risk', 'GET', `/v1/signals/screen/${jobId}`);
      expect(body.state).toBe('running');
      processed = body.processed;
      if (processed > 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    c.nodes['bank-a']!.process.kill('SIGKILL');

    const again = await c.restartNode('bank-a');
    const after = await callApi(
      again.url,
      c.nodes['bank-a']!.tokens.risk,
      'GET',
      `/v1/signals/screen/${jobId}`,
    );
    expect(after.status).toBe(200);
    expect(after.body).toMatchObject({
      jobId,
      state: 'failed',
      errorCode: 'ACCORD_SIGNAL_SCREEN_INTERRUPTED',
      total: IDS,
      flagged: null,
    });
    expect(after.body.processed).toBeGreaterThanOrEqual(processed);
    expect(after.body.processed).toBeLessThan(IDS);
  });
});
