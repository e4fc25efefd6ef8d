/**
 * Fraud-signal sharing end to end over real processes: a coordinator and four bank nodes on 127.0.0.1 with mutual
 * TLS. Everything the nodes exchange over gRPC (both directions, metadata, messages and status) is recorded
 * (ACCORD_WIRE_RECORD) and searched, with the coordinator's storage, for every form of every identifier any bank
 * used in this file (test/helpers/identifier-forms.ts, test/helpers/wire-record.ts).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalConsortium, startLocalConsortium } from '../../examples/local-consortium.js';
import { formsOfIdentifiers, type IdKind } from '../helpers/identifier-forms.js';
import { expectNoLeaks, parseWireRecord, readWireRecord } from '../helpers/wire-record.js';

const DAY = 86_400_000;
const MEMBERS = ['bank-a', 'bank-b', 'bank-c', 'bank-d'];

/** Every identifier any bank uses in this file, as it is sent to the node: the privacy tests search for them all. */
const IDENTIFIERS: Array<[IdKind, string]> = [];
function id(kind: IdKind, raw: string): string {
  IDENTIFIERS.push([kind, raw]);
  return raw;
}
const PHONE_RAW = id('phone', '+44 7700 900123');
const PHONE_NORMALISED = id('phone', '+447700900123');
/** The same number as bank-b imported it. */
const PHONE_OTHER_FORMAT = id('phone', '0044 (7700) 900-123');
const OTHER_RAW = id('phone', '0049 151 2345 6789');
const OTHER_NORMALISED = '+4915123456789';
const EMAIL_RAW = id('email', 'Mule.Account@Example.org');
/** Flagged only with the consortium's configured extra kind. */
const SYNTHETIC_RAW = id('phone', '+44 7700 900456');
const SYNTHETIC_NORMALISED = '+447700900456';
const INVALID_PHONE = id('phone', '12345');
/** Screened by bank-a (two of the four). */
const SCREENED = [id('phone', '+33612345678'), id('phone', '+33612345679')];
/** Published by bank-d until its rate limit. */
const RATE_LIMITED = [id('phone', '+33612345670'), id('phone', '+33612345671')];
const EXTRA_KIND = 'synthetic_identity';

const iso = (ms: number) => new Date(ms).toISOString();
/** What answers give as a flag's time: its UTC day (the coordinator's default `timeResolutionMs`). */
const day = (ms: number) => iso(ms - (ms % DAY));
/**
 * The application windows as answers count them, at day resolution: dN counts members whose newest application
 * fell on one of the last N UTC days, today included (so near midnight, 2 hours ago may already be yesterday).
 */
function windows(nowMs: number, newestPerMember: readonly number[]) {
  const today = nowMs - (nowMs % DAY);
  const within = (days: number) =>
    newestPerMember.filter((at) => at - (at % DAY) > today - days * DAY).length;
  return { d1: within(1), d7: within(7), d30: within(30) };
}

function coordinatorDb(consortium: LocalConsortium): Database.Database {
  return new Database(join(consortium.dir, 'coordinator', 'data', 'coordinator.db'), { readonly: true });
}

function signalCount(consortium: LocalConsortium): number {
  const db = coordinatorDb(consortium);
  try {
    return (db.prepare('SELECT COUNT(*) AS n FROM signals').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

describe('fraud signals over real processes', () => {
  let c: LocalConsortium;
  let wireFile: string;
  const now = Date.now();
  const ids: Record<string, string[]> = {};

  beforeAll(async () => {
    wireFile = join(process.env['TMPDIR'] ?? '/tmp', `accord-signals-wire-${process.pid}-${now}.jsonl`);
    c = await startLocalConsortium({
      members: MEMBERS,
      env: { ACCORD_WIRE_RECORD: wireFile },
      configure: (init) => {
        const config = JSON.parse(readFileSync(init.coordinatorConfig, 'utf8'));
        // A consortium-specific flag kind, added by configuration only (nodes learn it at registration).
        config.signals.extraFlagKinds = [EXTRA_KIND];
        // bank-d gets tiny limits so the test can reach them.
        config.signals.rateLimits.perMember = {
          'bank-d': { evaluations: { perSecond: 0.001, burst: 5 }, queries: { perSecond: 0.001, burst: 3 } },
        };
        writeFileSync(init.coordinatorConfig, JSON.stringify(config));
      },
    });
    // Signals older than the live limit (3 days) go through the historical import, with the admin token.
    const publish = async (member: string, signals: object[], historical = false) => {
      const r = historical
        ? await c.api(member, 'admin', 'POST', '/v1/signals/historical', { signals })
        : await c.api(member, 'risk', 'POST', '/v1/signals', { signals });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      ids[member] = [...(ids[member] ?? []), ...r.body.signalIds];
    };
    await publish('bank-a', [{ idKind: 'phone', id: PHONE_RAW, kind: 'application', at: iso(now) }]);
    await publish('bank-b', [
      { idKind: 'phone', id: PHONE_RAW, kind: 'application', at: iso(now - 2 * 3_600_000) },
      { idKind: 'phone', id: PHONE_RAW, kind: 'telecom_scam', at: now - 3_600_000 },
    ]);
    await publish(
      'bank-b',
      [{ idKind: 'phone', id: PHONE_OTHER_FORMAT, kind: 'application', at: iso(now - 20 * DAY) }],
      true,
    );
    await publish('bank-c', [
      { idKind: 'phone', id: PHONE_RAW, kind: 'application', at: iso(now - 2.5 * DAY) },
      { idKind: 'phone', id: PHONE_RAW, kind: 'telecom_scam', at: iso(now - DAY) },
    ]);
    await publish(
      'bank-c',
      [
        { idKind: 'phone', id: PHONE_RAW, kind: 'mule_account', at: iso(now - 10 * DAY) },
        { idKind: 'email', id: EMAIL_RAW, kind: 'mule_account', at: iso(now - 10 * DAY) },
      ],
      true,
    );
  });
  afterAll(async () => {
    await c?.stop();
  });

  it('counts distinct other members per window and per flag, without the caller’s own signals or names', async () => {
    const a = await c.api('bank-a', 'risk', 'POST', '/v1/signals/query', {
      idKind: 'phone',
      id: PHONE_NORMALISED,
    });
    expect(a.status).toBe(200);
    expect(a.body).toEqual({
      // Others than bank-a: bank-b 2 hours ago, bank-c almost 3 days ago.
      applications: windows(Date.now(), [now - 2 * 3_600_000, now - 2.5 * DAY]),
      flags: [
        { kind: 'telecom_scam', members: 2, lastSeen: day(now - 3_600_000) },
        { kind: 'mule_account', members: 1, lastSeen: day(now - 10 * DAY) },
      ],
    });
    // bank-b's own three signals are not counted; bank-a's application is.
    const b = await c.api('bank-b', 'risk', 'POST', '/v1/signals/query', { idKind: 'phone', id: PHONE_RAW });
    expect(b.body.applications).toEqual(windows(Date.now(), [now, now - 2.5 * DAY]));
    expect(b.body.flags).toEqual([
      { kind: 'telecom_scam', members: 1, lastSeen: day(now - DAY) },
      { kind: 'mule_account', members: 1, lastSeen: day(now - 10 * DAY) },
    ]);
    // The publisher alone sees nothing of its own email flag.
    const own = await c.api('bank-c', 'risk', 'POST', '/v1/signals/query', {
      idKind: 'email',
      id: EMAIL_RAW,
    });
    expect(own.body).toEqual({ applications: { d1: 0, d7: 0, d30: 0 }, flags: [] });
    for (const body of [a.body, b.body, own.body]) expect(JSON.stringify(body)).not.toMatch(/bank-/);
  });

  it('records an application and answers in one call', async () => {
    const r = await c.api('bank-d', 'risk', 'POST', '/v1/signals/applications', {
      idKind: 'phone',
      id: PHONE_RAW,
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body.signalId).toMatch(/^sig_[0-9a-f]{32}$/);
    const others = [now, now - 2 * 3_600_000, now - 2.5 * DAY];
    expect(r.body.applications).toEqual(windows(Date.now(), others));
    const a = await c.api('bank-a', 'risk', 'POST', '/v1/signals/query', { idKind: 'phone', id: PHONE_RAW });
    expect(a.body.applications).toEqual(windows(Date.now(), [Date.now(), others[1]!, others[2]!]));
  });

  it('retraction by the publisher takes effect for everyone; nobody else can retract', async () => {
    const scamOfB = ids['bank-b']![1]!;
    const denied = await c.api('bank-a', 'risk', 'DELETE', `/v1/signals/${scamOfB}`);
    expect(denied.status).toBe(404);
    expect(denied.body.error.code).toBe('ACCORD_SIGNAL_NOT_FOUND');
    const ok = await c.api('bank-b', 'risk', 'DELETE', `/v1/signals/${scamOfB}`);
    expect(ok.body).toEqual({ retracted: 1 });
    const a = await c.api('bank-a', 'risk', 'POST', '/v1/signals/query', { idKind: 'phone', id: PHONE_RAW });
    expect(a.body.flags[0]).toEqual({ kind: 'telecom_scam', members: 1, lastSeen: day(now - DAY) });
  });

  it('refuses unknown kinds, bad ids, future and expired times with coded errors, storing nothing', async () => {
    const before = signalCount(c);
    const valid = { idKind: 'phone', id: OTHER_RAW, kind: 'application' };
    const cases: Array<[object, number, string]> = [
      [{ ...valid, kind: 'gossip' }, 400, 'ACCORD_SIGNAL_KIND_UNKNOWN'],
      [{ ...valid, id: INVALID_PHONE }, 400, 'ACCORD_ID_INVALID'],
      [{ ...valid, at: iso(now + DAY) }, 400, 'ACCORD_SIGNAL_TIME_FUTURE'],
      [{ ...valid, at: iso(now - 100 * DAY) }, 400, 'ACCORD_SIGNAL_TIME_EXPIRED'],
    ];
    for (const [bad, status, code] of cases) {
      const r = await c.api('bank-a', 'risk', 'POST', '/v1/signals', { signals: [valid, valid, bad] });
      expect(r.status, JSON.stringify(r.body)).toBe(status);
      expect(r.body.error.code).toBe(code);
      expect(r.body.error.params.index).toBe(2);
      expect(JSON.stringify(r.body)).not.toContain(OTHER_NORMALISED);
    }
    expect(signalCount(c)).toBe(before);
    const q = await c.api('bank-b', 'risk', 'POST', '/v1/signals/query', { idKind: 'phone', id: OTHER_RAW });
    expect(q.body.applications.d30).toBe(0);
  });

  it('accepts a flag kind the coordinator config adds, lists it, and refuses kinds nobody configured', async () => {
    const kinds = await c.api('bank-b', 'risk', 'GET', '/v1/signals/kinds');
    expect(kinds.status, JSON.stringify(kinds.body)).toBe(200);
    expect(kinds.body).toEqual({
      kinds: [
        { kind: 'application', windowed: true },
        { kind: 'telecom_scam', windowed: false },
        { kind: 'mule_account', windowed: false },
        { kind: 'confirmed_fraud', windowed: false },
        { kind: EXTRA_KIND, windowed: false },
      ],
    });
    expect((await c.api('bank-b', 'reviewer', 'GET', '/v1/signals/kinds')).status).toBe(403);

    const published = await c.api('bank-a', 'risk', 'POST', '/v1/signals', {
      idKind: 'phone',
      id: SYNTHETIC_RAW,
      kind: EXTRA_KIND,
      at: iso(now - DAY),
    });
    expect(published.status, JSON.stringify(published.body)).toBe(201);
    const b = await c.api('bank-b', 'risk', 'POST', '/v1/signals/query', {
      idKind: 'phone',
      id: SYNTHETIC_RAW,
    });
    expect(b.body).toEqual({
      applications: { d1: 0, d7: 0, d30: 0 },
      flags: [{ kind: EXTRA_KIND, members: 1, lastSeen: day(now - DAY) }],
    });

    // An unknown kind is refused by the node itself: nothing stored, no Publish reaches the coordinator.
    const publishRpcs = () => {
      const db = coordinatorDb(c);
      try {
        return (
          db
            .prepare(
              "SELECT COUNT(*) AS n FROM audit_log WHERE actor = 'bank-a' AND action = 'rpc:Signals.Publish'",
            )
            .get() as { n: number }
        ).n;
      } finally {
        db.close();
      }
    };
    const storedBefore = signalCount(c);
    const rpcsBefore = publishRpcs();
    const refused = await c.api('bank-a', 'risk', 'POST', '/v1/signals', {
      signals: [
        { idKind: 'phone', id: SYNTHETIC_RAW, kind: EXTRA_KIND },
        { idKind: 'phone', id: SYNTHETIC_RAW, kind: 'account_takeover' },
      ],
    });
    expect(refused.status, JSON.stringify(refused.body)).toBe(400);
    expect(refused.body.error.code).toBe('ACCORD_SIGNAL_KIND_UNKNOWN');
    expect(refused.body.error.params.index).toBe(1);
    expect(refused.body.error.params.known.split(', ')).toContain(EXTRA_KIND);
    expect(refused.body.error.message).toContain(EXTRA_KIND);
    expect(JSON.stringify(refused.body)).not.toContain(SYNTHETIC_NORMALISED);
    expect(signalCount(c)).toBe(storedBefore);
    expect(publishRpcs()).toBe(rpcsBefore);
  });

  it('screens a batch with progress and lists the flagged identifiers', async () => {
    const idsToScreen = [OTHER_RAW, PHONE_RAW, ...SCREENED];
    const start = await c.api('bank-a', 'risk', 'POST', '/v1/signals/screen', {
      idKind: 'phone',
      ids: idsToScreen,
    });
    expect(start.status).toBe(202);
    let job = start.body;
    for (let i = 0; i < 100 && job.state === 'running'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      job = (await c.api('bank-a', 'risk', 'GET', `/v1/signals/screen/${start.body.jobId}`)).body;
    }
    expect(job.state).toBe('done');
    expect(job.processed).toBe(4);
    expect(job.flagged.map((f: { index: number }) => f.index)).toEqual([1]);
    expect(job.flagged[0].flags.map((f: { kind: string }) => f.kind)).toEqual([
      'telecom_scam',
      'mule_account',
    ]);
  });

  it('rate-limits evaluations and queries per member with a coded error', async () => {
    const q = (id: string) => c.api('bank-d', 'risk', 'POST', '/v1/signals/query', { idKind: 'phone', id });
    const p = (id: string) =>
      c.api('bank-d', 'risk', 'POST', '/v1/signals', { idKind: 'phone', id, kind: 'application' });
    // bank-d's application above cost two evaluations (its publish and its query) and one query.
    expect((await q(PHONE_RAW)).status).toBe(200); // query 2, evaluation 3
    expect((await q(PHONE_RAW)).status).toBe(200); // query 3, evaluation 4
    const limited = await q(PHONE_RAW);
    expect(limited.status).toBe(429);
    expect(limited.body.error).toMatchObject({ code: 'ACCORD_RATE_LIMITED', params: { what: 'queries' } });
    expect((await p(RATE_LIMITED[0]!)).status).toBe(201); // evaluation 5
    const exhausted = await p(RATE_LIMITED[1]!);
    expect(exhausted.status).toBe(429);
    expect(exhausted.body.error.params.what).toBe('evaluations');
  });

  it('keeps every form of every identifier out of everything the nodes exchanged and the coordinator stores', async () => {
    const wire = readWireRecord(wireFile);
    // The record covers both directions and every event, on the unary calls and on the node's QueryStream (which
    // carries the single queries and stays open while the nodes run, so it has no status yet).
    const seen = new Set(parseWireRecord(wire).map((e) => `${e.method} ${e.dir} ${e.event}`));
    const expected: Record<string, string[]> = {
      '/accord.v1.Signals/Publish': ['out metadata', 'out message', 'in metadata', 'in message', 'in status'],
      '/accord.v1.Signals/QueryStream': ['out metadata', 'out message', 'in metadata', 'in message'],
    };
    for (const [method, events] of Object.entries(expected))
      for (const event of events) expect(seen, `${method} ${event}`).toContain(`${method} ${event}`);
    const forms = formsOfIdentifiers(IDENTIFIERS);
    expect(forms).toEqual(
      expect.arrayContaining([PHONE_RAW, PHONE_NORMALISED, '7700900123', EMAIL_RAW.toLowerCase()]),
    );
    expectNoLeaks(wire, forms, 'what the nodes exchanged over gRPC');

    const dir = join(c.dir, 'coordinator', 'data');
    const stored = ['coordinator.db', 'coordinator.db-wal']
      .filter((f) => existsSync(join(dir, f)))
      .map((f) => readFileSync(join(dir, f)))
      .map((b) => `${b.toString('latin1')}\n${b.toString('hex')}\n`)
      .join('');
    expectNoLeaks(stored, forms, 'the coordinator database files');
    const db = coordinatorDb(c);
    const rows = JSON.stringify(
      (
        db
          .prepare('SELECT hex(sid) AS sid, hex(token) AS token, kind, member, at_ms FROM signals')
          .all() as object[]
      ).concat(db.prepare('SELECT * FROM audit_log').all() as object[]),
    );
    db.close();
    expectNoLeaks(rows, forms, 'the coordinator rows');
  });

  it('audits every evaluation and query with masked identifiers, at the node and at the coordinator', async () => {
    const node = await c.api('bank-a', 'reviewer', 'GET', '/v1/audit?limit=1000');
    expect(node.status).toBe(200);
    const entries = node.body.entries as Array<{ action: string; target: string; details: object }>;
    const queries = entries.filter((e) => e.action === 'signals:query');
    const publishes = entries.filter((e) => e.action === 'signals:publish');
    expect(queries.length).toBeGreaterThanOrEqual(3);
    expect(publishes.length).toBeGreaterThanOrEqual(1);
    for (const e of queries) expect(e.target).toMatch(/^phone#[A-Za-z0-9_-]{16}$/);
    expectNoLeaks(JSON.stringify(entries), formsOfIdentifiers(IDENTIFIERS), "bank-a's audit entries");

    const db = coordinatorDb(c);
    const coord = db
      .prepare("SELECT actor, action, target FROM audit_log WHERE action LIKE 'rpc:Signals.%'")
      .all() as Array<{ actor: string; action: string; target: string }>;
    db.close();
    const coordQueries = coord.filter((e) => e.action === 'rpc:Signals.Query' && e.actor === 'bank-a');
    expect(coordQueries.length).toBeGreaterThanOrEqual(3);
    for (const e of coordQueries) expect(e.target).toMatch(/^token:[0-9a-f]{8}$/);
    expect(
      coord.some(
        (e) => e.action === 'rpc:Signals.Publish' && /^(token:[0-9a-f]{8}|tokens:\d+)$/.test(e.target),
      ),
    ).toBe(true);
  });
});
