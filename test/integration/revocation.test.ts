/**
 * A member can leave: once the coordinator's revocation list names it (deny-list or the CA's CRL, reloaded with
 * SIGHUP, no restart), it is refused on every RPC, its open streams (PSI inbox, signals QueryStream) end at once, the
 * refusals are audited, and a list that fails to load un-revokes nobody. Real processes over mutual TLS.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalConsortium, startLocalConsortium } from '../../examples/local-consortium.js';
import { accord } from '../helpers/run-cli.js';
import { waitFor } from '../helpers/wait.js';
import { coordinatorAudit } from '../helpers/coordinator-audit.js';
import { editCoordinatorConfig, reload } from '../helpers/coordinator-config.js';

const query = (c: LocalConsortium, member: string) =>
  c.api(member, 'risk', 'POST', '/v1/signals/query', { idKind: 'phone', id: '+86 138 0013 8000' });

describe('revoking a member', () => {
  let c: LocalConsortium;
  beforeAll(async () => {
    c = await startLocalConsortium({ members: ['bank-a', 'bank-b', 'bank-c'] });
  });
  afterAll(async () => {
    await c?.stop();
  });

  it('refuses a member on the deny-list on every call from the reload on, and ends its open streams', async () => {
    // bank-c is working: its QueryStream and its PSI, training and scoring inboxes are open.
    expect((await query(c, 'bank-c')).status).toBe(200);
    editCoordinatorConfig(c, (config) => {
      config.revocation.deniedMembers = ['bank-c'];
    });
    const entry = await reload(c);
    expect(entry.outcome).toBe('ok');
    const details = JSON.parse(entry.details);
    expect(details.added).toBe('member:bank-c');
    expect(details.streamsEnded).toBe(4);

    const refused = await query(c, 'bank-c');
    expect(refused.body.error?.code, JSON.stringify(refused.body)).toBe('ACCORD_MEMBER_REVOKED');
    expect(refused.status).toBe(403);
    // Another member keeps working; a PSI with the revoked member cannot start (its inbox is gone).
    expect((await query(c, 'bank-a')).status).toBe(200);
    const psi = await c.api('bank-a', 'risk', 'POST', '/v1/psi', { peers: ['bank-c'], dataset: 'none' });
    expect(psi.status).toBeGreaterThanOrEqual(400);
    // The refusals are on record at the coordinator, as denied calls of bank-c.
    const denied = coordinatorAudit(c).filter((e) => e.actor === 'bank-c' && e.outcome === 'denied');
    expect(denied.length).toBeGreaterThan(0);
    expect(JSON.parse(denied[0]!.details)).toEqual({ code: 'ACCORD_MEMBER_REVOKED' });
    // bank-c's node sees it too: its link to the coordinator reports the revocation.
    await waitFor(
      'bank-c to see ACCORD_MEMBER_REVOKED on its link',
      async () =>
        (await c.api('bank-c', 'admin', 'GET', '/v1/health')).body.coordinator.lastErrorCode ===
        'ACCORD_MEMBER_REVOKED',
      10_000,
      100,
    );
  });

  it('revokes a certificate through the CA’s revocation list, and a broken list un-revokes nobody', async () => {
    const revoke = await accord(['revoke', c.dir, '--member', 'bank-b']);
    expect(revoke.code, revoke.stderr).toBe(0);
    expect(JSON.parse((await reload(c)).details).added).toMatch(/^serial:[0-9a-f]+$/);
    expect((await query(c, 'bank-b')).body.error?.code).toBe('ACCORD_MEMBER_REVOKED');
    expect((await query(c, 'bank-a')).status).toBe(200);

    // A corrupted CRL: the reload fails (audited), and bank-b stays refused.
    writeFileSync(join(c.dir, 'ca', 'crl.pem'), '-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n');
    const failed = await reload(c);
    expect(failed.outcome).toBe('failed');
    expect(JSON.parse(failed.details).code).toBe('ACCORD_TLS_CRL_INVALID');
    expect((await query(c, 'bank-b')).body.error?.code).toBe('ACCORD_MEMBER_REVOKED');
  });
});
