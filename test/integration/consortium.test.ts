/**
 * The skeleton end to end: real coordinator and node processes over mutual TLS on 127.0.0.1, real SQLite, the REST
 * API and the CLI as an operator uses them.
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalConsortium, startLocalConsortium } from '../../examples/local-consortium.js';
import { serviceOf } from '../../platform/grpc/proto.js';
import { tempConsortium } from '../helpers/temp-consortium.js';
import { accord } from '../helpers/run-cli.js';
import { coordinatorAudit } from '../helpers/coordinator-audit.js';

const FIXTURE = readFileSync(
  fileURLToPath(new URL('../fixtures/breast_hetero_guest.csv', import.meta.url)),
  'utf8',
);

function listMembersWith(
  address: string,
  credentials: grpc.ChannelCredentials,
): Promise<grpc.ServiceError | null> {
  const Ctor = serviceOf('consortium.proto', 'Consortium');
  const client = new Ctor(address, credentials, { 'grpc.ssl_target_name_override': 'coordinator' });
  return new Promise((resolve) => {
    (
      client as unknown as {
        listMembers: (r: object, o: object, cb: (err: grpc.ServiceError | null) => void) => void;
      }
    ).listMembers({}, { deadline: Date.now() + 5_000 }, (err: grpc.ServiceError | null) => {
      client.close();
      resolve(err);
    });
  });
}

describe('consortium skeleton over real processes', () => {
  let consortium: LocalConsortium;
  beforeAll(async () => {
    consortium = await startLocalConsortium({ members: ['bank-a', 'bank-b'] });
  });
  afterAll(async () => {
    await consortium?.stop();
  });

  it('nodes register over mutual TLS and see each other online', async () => {
    const { status, body } = await consortium.api('bank-b', 'risk', 'GET', '/v1/members');
    expect(status).toBe(200);
    expect(body.members.map((m: { name: string; status: string }) => `${m.name}:${m.status}`)).toEqual([
      'bank-a:online',
      'bank-b:online',
    ]);
  });

  it('refuses unknown tokens with 401 and the wrong role with 403', async () => {
    const node = consortium.nodes['bank-a']!;
    const none = await fetch(`${node.url}/v1/datasets`);
    expect(none.status).toBe(401);
    const forged = await fetch(`${node.url}/v1/datasets`, {
      headers: { authorization: 'Bearer acc_admin_forged' },
    });
    expect(forged.status).toBe(401);
    const wrongRole = await consortium.api('bank-a', 'marketing', 'GET', '/v1/audit');
    expect(wrongRole.status).toBe(403);
    expect(wrongRole.body.error.code).toBe('ACCORD_AUTH_FORBIDDEN');
  });

  it('imports a real CSV, lists it, and serves its schema; a bad row is refused with line and column', async () => {
    const created = await consortium.api(
      'bank-a',
      'admin',
      'POST',
      '/v1/datasets/breast?idColumn=id&columns=y:integer&defaultType=number',
      FIXTURE,
      'text/csv',
    );
    expect(created.status).toBe(201);
    expect(created.body.rowCount).toBe(569);
    const lines = FIXTURE.split('\n');
    lines[100] = lines[100]!.replace(/,[^,]+$/, ',not-a-number');
    const bad = await consortium.api(
      'bank-a',
      'admin',
      'POST',
      '/v1/datasets/breast?idColumn=id&columns=y:integer&defaultType=number&replace=true',
      lines.join('\n'),
      'text/csv',
    );
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({
      code: 'ACCORD_DATASET_ROW_INVALID',
      params: { line: 101, column: 'x9' },
    });
    const schema = await consortium.api('bank-a', 'risk', 'GET', '/v1/datasets/breast');
    expect(schema.body.rowCount).toBe(569);
    expect(schema.body.columns).toHaveLength(12);
  });

  it('serves an OpenAPI document covering every route', async () => {
    const doc = await consortium.api('bank-a', 'admin', 'GET', '/v1/openapi.json');
    expect(doc.body.openapi).toBe('3.1.0');
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining([
        '/v1/health',
        '/v1/members',
        '/v1/datasets',
        '/v1/datasets/{name}',
        '/v1/audit',
        '/v1/audit/verify',
      ]),
    );
  });

  it('refuses a client certificate from another CA, and audits the attempt', async () => {
    const foreign = tempConsortium(['bank-a']);
    try {
      const read = (p: string) => readFileSync(join(foreign.dir, p));
      const credentials = grpc.credentials.createSsl(
        readFileSync(join(consortium.dir, 'ca', 'ca.pem')),
        read('bank-a/key.pem'),
        read('bank-a/cert.pem'),
      );
      const err = await listMembersWith(consortium.coordinatorAddress, credentials);
      expect(err?.code).toBe(grpc.status.UNAVAILABLE);
    } finally {
      foreign.cleanup();
    }
    await new Promise((r) => setTimeout(r, 200));
    // The first refusal from this source is written at once; later ones in its window are counted, not written.
    const refused = coordinatorAudit(consortium).filter((e) => e.action === 'tls:handshake');
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ actor: 'unidentified', outcome: 'refused' });
    expect(refused[0]!.target).toMatch(/127\.0\.0\.1$/);
    expect(JSON.parse(refused[0]!.details)).toEqual({
      refused: 1,
      reasons: expect.stringMatching(/^[\w.:-]+$/),
      windowMs: 60_000,
    });
  });

  it('refuses a client with no certificate', async () => {
    const credentials = grpc.credentials.createSsl(readFileSync(join(consortium.dir, 'ca', 'ca.pem')));
    const err = await listMembersWith(consortium.coordinatorAddress, credentials);
    expect(err?.code).toBe(grpc.status.UNAVAILABLE);
    // Same source, same window: counted for the window's entry, not audited once more.
    await new Promise((r) => setTimeout(r, 200));
    expect(coordinatorAudit(consortium).filter((e) => e.action === 'tls:handshake')).toHaveLength(1);
  });

  it('keeps every data folder and file in it owner-only, and runs its processes with umask 077', () => {
    const modes: Record<string, string> = {};
    for (const owner of ['bank-a', 'bank-b', 'coordinator']) {
      const data = join(consortium.dir, owner, 'data');
      for (const path of [data, ...readdirSync(data).map((f) => join(data, f))])
        modes[relative(consortium.dir, path)] = (statSync(path).mode & 0o777).toString(8);
    }
    expect(Object.keys(modes)).toEqual(
      expect.arrayContaining(['bank-a/data/node.db', 'bank-a/data/node.db-wal', 'bank-a/data/node.db-shm']),
    );
    for (const [path, mode] of Object.entries(modes))
      expect({ path, mode }).toEqual({ path, mode: path.endsWith('data') ? '700' : '600' });
    // Linux shows a process's umask in /proc: files the processes create later (logs, results) are private too.
    const pids = [consortium.coordinator.pid, consortium.nodes['bank-a']!.process.pid];
    if (existsSync('/proc/self/status')) {
      for (const pid of pids) expect(readFileSync(`/proc/${pid}/status`, 'utf8')).toMatch(/^Umask:\s+0077$/m);
    }
  });

  it('audits node RPCs at the coordinator under the name from the certificate', () => {
    const entries = coordinatorAudit(consortium);
    expect(entries).toContainEqual(
      expect.objectContaining({ actor: 'bank-a', action: 'rpc:Register', outcome: 'ok' }),
    );
    expect(entries).toContainEqual(
      expect.objectContaining({ actor: 'bank-b', action: 'rpc:ListMembers', outcome: 'ok' }),
    );
  });

  it('`accord audit verify` passes on an intact log and names the first altered entry', async () => {
    const node = consortium.nodes['bank-b']!;
    const at = ['--coordinator', consortium.coordinatorAddress];
    const ok = await accord(['audit', 'verify', '--config', node.configFile, ...at]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('audit log intact');

    const db = new Database(join(consortium.dir, 'bank-b', 'data', 'node.db'));
    db.exec('DROP TRIGGER audit_log_no_update');
    db.prepare(`UPDATE audit_log SET target = 'rewritten' WHERE seq = 2`).run();
    db.close();
    const broken = await accord(['audit', 'verify', '--config', node.configFile, ...at]);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain('ACCORD_AUDIT_CHAIN_BROKEN');
    expect(broken.stderr).toContain('entry 2');
  });
});

describe('processes refuse to start on bad config or TLS files', () => {
  it('names a missing key file', async () => {
    const c = tempConsortium(['bank-a']);
    try {
      const config = JSON.parse(readFileSync(c.nodes[0]!.config, 'utf8'));
      config.tls.key = 'missing-key.pem';
      writeFileSync(c.nodes[0]!.config, JSON.stringify(config));
      const result = await accord(['node', '--config', c.nodes[0]!.config]);
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain('ACCORD_TLS_FILE_UNREADABLE');
      expect(result.stderr).toContain('missing-key.pem');
    } finally {
      c.cleanup();
    }
  });

  it('lists every invalid config field before starting anything', async () => {
    const c = tempConsortium(['bank-a']);
    try {
      const config = JSON.parse(readFileSync(c.coordinatorConfig, 'utf8'));
      config.members = ['Bank A'];
      config.listen.port = -1;
      writeFileSync(c.coordinatorConfig, JSON.stringify(config));
      const result = await accord(['coordinator', '--config', c.coordinatorConfig]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('ACCORD_CONFIG_INVALID');
      expect(result.stderr).toContain('members.0');
      expect(result.stderr).toContain('listen.port');
    } finally {
      c.cleanup();
    }
  });
});
