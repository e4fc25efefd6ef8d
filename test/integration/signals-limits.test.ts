/**
 * The fraud-signal OPRF cannot be run as a dictionary, and answers do not fingerprint the reporting bank, over real
 * processes: a member's quota on NEW identifiers (repeats free; Query and screening alike; all or nothing) holds
 * across a coordinator restart until an operator's audited grant raises it; a day of many new identifiers with no hits
 * raises the enumeration alert, a bank checking identifiers that have signals does not; flag times come rounded to the
 * day; a live signal cannot be backdated, while the marked historical import (admin only) can.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalConsortium, startLocalConsortium } from '../../examples/local-consortium.js';
import { accord } from '../helpers/run-cli.js';
import { until } from '../helpers/wait.js';
import { coordinatorAudit } from '../helpers/coordinator-audit.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;
/** Distinct Chinese mobile numbers; nobody reported anything about these unless a test publishes. */
const phone = (series: number, i: number) =>
  `+86 137 ${String(series).padStart(4, '0')} ${String(i).padStart(4, '0')}`;

async function screen(c: LocalConsortium, member: string, ids: string[]) {
  const start = await c.api(member, 'risk', 'POST', '/v1/signals/screen', { idKind: 'phone', ids });
  expect(start.status, JSON.stringify(start.body)).toBe(202);
  return until('the screening job to end', async () => {
    const job = await c.api(member, 'risk', 'GET', `/v1/signals/screen/${start.body.jobId}`);
    return job.body.state !== 'running' ? job.body : undefined;
  });
}

describe('fraud-signal limits over real processes', () => {
  let c: LocalConsortium;
  beforeAll(async () => {
    c = await startLocalConsortium({
      members: ['bank-a', 'bank-b', 'bank-c'],
      configure: (init) => {
        const config = JSON.parse(readFileSync(init.coordinatorConfig, 'utf8'));
        config.signals.quotas = {
          newElementsPerDay: 1_000,
          perMember: { 'bank-b': { newElementsPerDay: 30 } },
          enumerationAlert: { minNewElements: 20, maxHitRate: 0.05 },
        };
        writeFileSync(init.coordinatorConfig, JSON.stringify(config));
      },
    });
  });
  afterAll(async () => {
    await c?.stop();
  });

  it('counts new identifiers only, refuses past the quota (screening too), keeps it across a restart, until a grant', async () => {
    // bank-a reports an application for the first 10 numbers, so bank-b's checks on them find something.
    const first = Array.from({ length: 25 }, (_, i) => phone(1, i));
    const published = await c.api('bank-a', 'risk', 'POST', '/v1/signals', {
      signals: first.slice(0, 10).map((id) => ({ idKind: 'phone', id, kind: 'application' })),
    });
    expect(published.status).toBe(201);
    const screened = await screen(c, 'bank-b', first);
    expect(screened.state).toBe('done');
    expect(screened.flagged).toHaveLength(10);
    // The same 25 again, in another format: repeats cost nothing.
    const again = await screen(
      c,
      'bank-b',
      first.map((p) => p.replaceAll(' ', '-')),
    );
    expect(again.state).toBe('done');
    for (let i = 25; i < 30; i++) {
      const r = await c.api('bank-b', 'risk', 'POST', '/v1/signals/query', {
        idKind: 'phone',
        id: phone(1, i),
      });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
    }
    const over = await c.api('bank-b', 'risk', 'POST', '/v1/signals/query', {
      idKind: 'phone',
      id: phone(1, 30),
    });
    expect(over.status).toBe(429);
    expect(over.body.error.code).toBe('ACCORD_SIGNAL_QUOTA_EXCEEDED');
    expect(over.body.error.message).toContain('0 of today’s 30');
    // A repeat still works after the quota is spent.
    expect(
      (await c.api('bank-b', 'risk', 'POST', '/v1/signals/query', { idKind: 'phone', id: first[3] })).status,
    ).toBe(200);
    // Screening counts against the same quota, all or nothing.
    const refused = await screen(c, 'bank-b', [phone(1, 40), phone(1, 41)]);
    expect(refused.state).toBe('failed');
    expect(refused.errorCode).toBe('ACCORD_SIGNAL_QUOTA_EXCEEDED');

    // A coordinator restart resets nothing.
    await c.restartCoordinator();
    const afterRestart = await until(
      'the coordinator to answer again',
      async () => {
        const r = await c.api('bank-b', 'risk', 'POST', '/v1/signals/query', {
          idKind: 'phone',
          id: phone(1, 30),
        });
        return r.body.error?.code !== 'ACCORD_COORDINATOR_UNAVAILABLE' ? r : undefined;
      },
      10_000,
      100,
    );
    expect(afterRestart.body.error?.code).toBe('ACCORD_SIGNAL_QUOTA_EXCEEDED');

    // The consortium operator grants bank-b more for its onboarding; audited in the coordinator's chain.
    const grant = await accord([
      'signals',
      'quota',
      'grant',
      '--config',
      c.coordinatorConfig,
      '--member',
      'bank-b',
      '--add',
      '100',
      '--days',
      '2',
      '--reason',
      'first screening of the customer base',
    ]);
    expect(grant.code, grant.stderr).toBe(0);
    const ok = await c.api('bank-b', 'risk', 'POST', '/v1/signals/query', {
      idKind: 'phone',
      id: phone(1, 30),
    });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    const entry = coordinatorAudit(c).find((e) => e.action === 'signals:quota-grant');
    expect(entry?.actor).toMatch(/^operator:/);
    expect(JSON.parse(entry!.details)).toMatchObject({
      extra: 100,
      reason: 'first screening of the customer base',
    });
    const show = await accord([
      'signals',
      'quota',
      'show',
      '--config',
      c.coordinatorConfig,
      '--member',
      'bank-b',
    ]);
    const shown = JSON.parse(show.stdout)[0];
    expect(shown).toMatchObject({ member: 'bank-b', limit: 130 });
    // The count is in the database before each answer: 30 before the grant, and the last query's element.
    expect(shown.newElements).toBe(31);
    // bank-b's lookups found something now and then: no enumeration alert for it.
    expect(
      coordinatorAudit(c).some((e) => e.action === 'signals:enumeration-suspected' && e.actor === 'bank-b'),
    ).toBe(false);
  });

  it('alerts when a member runs many new identifiers that find nothing', async () => {
    const dictionary = Array.from({ length: 40 }, (_, i) => phone(2, i));
    expect((await screen(c, 'bank-c', dictionary)).state).toBe('done');
    const alerts = coordinatorAudit(c).filter((e) => e.action === 'signals:enumeration-suspected');
    expect(alerts.map((a) => a.actor)).toEqual(['bank-c']);
    expect(JSON.parse(alerts[0]!.details)).toMatchObject({ newElements: 40, hits: 0 });
    // Once per member and day.
    await screen(
      c,
      'bank-c',
      Array.from({ length: 30 }, (_, i) => phone(3, i)),
    );
    expect(coordinatorAudit(c).filter((e) => e.action === 'signals:enumeration-suspected')).toHaveLength(1);
  });

  it('gives flag times rounded down to the day, never the publisher’s exact time', async () => {
    const id = phone(4, 1);
    const exact = Date.now() - 2 * HOUR - 12_345;
    const pub = await c.api('bank-a', 'risk', 'POST', '/v1/signals', {
      idKind: 'phone',
      id,
      kind: 'mule_account',
      at: exact,
    });
    expect(pub.status).toBe(201);
    const answer = await c.api('bank-c', 'risk', 'POST', '/v1/signals/query', { idKind: 'phone', id });
    const lastSeen = Date.parse(answer.body.flags[0].lastSeen);
    expect(answer.body.flags[0].lastSeen).toMatch(/T00:00:00\.000Z$/);
    expect(lastSeen).toBe(exact - (exact % DAY));
  });

  it('refuses a backdated live signal, and takes it through the marked historical import, admin only', async () => {
    const old = {
      idKind: 'phone',
      id: phone(5, 1),
      kind: 'confirmed_fraud',
      at: new Date(Date.now() - 10 * DAY).toISOString(),
    };
    const live = await c.api('bank-a', 'risk', 'POST', '/v1/signals', old);
    expect(live.status).toBe(400);
    expect(live.body.error.code).toBe('ACCORD_SIGNAL_TIME_BACKDATED');
    expect((await c.api('bank-a', 'risk', 'POST', '/v1/signals/historical', old)).status).toBe(403);
    const historical = await c.api('bank-a', 'admin', 'POST', '/v1/signals/historical', old);
    expect(historical.status, JSON.stringify(historical.body)).toBe(201);
    const answer = await c.api('bank-c', 'risk', 'POST', '/v1/signals/query', {
      idKind: 'phone',
      id: phone(5, 1),
    });
    expect(answer.body.flags).toEqual([expect.objectContaining({ kind: 'confirmed_fraud', members: 1 })]);
    expect(
      coordinatorAudit(c).some((e) => e.action === 'rpc:Signals.Publish(historical)' && e.actor === 'bank-a'),
    ).toBe(true);
  });
});
