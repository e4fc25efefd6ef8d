/**
 * The CLI as an operator runs it against real processes: `accord psi` (progress bar, result) and
 * `accord signals publish|query|screen`, finding the node and its token from the node config.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalConsortium, startLocalConsortium } from '../../examples/local-consortium.js';
import { waitJob } from '../helpers/psi-data.js';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../../cli/main.ts', import.meta.url));
const fixture = (name: string) =>
  readFileSync(fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url)), 'utf8');

describe('accord CLI against a running consortium', () => {
  let c: LocalConsortium;
  let scratch: string;
  /** Runs the CLI for a member; its node config gets the node's real REST port first. */
  const accord = async (member: string, args: string[]) => {
    const { stdout, stderr } = await run(process.execPath, [
      '--import',
      'tsx',
      CLI,
      ...args,
      '--config',
      join(scratch, `${member}.json`),
    ]);
    return { stdout, stderr };
  };

  beforeAll(async () => {
    c = await startLocalConsortium({ members: ['bank-a', 'bank-b'] });
    scratch = mkdtempSync(join(tmpdir(), 'accord-cli-'));
    for (const member of ['bank-a', 'bank-b']) {
      const node = c.nodes[member]!;
      const config = JSON.parse(readFileSync(node.configFile, 'utf8'));
      const base = join(c.dir, member);
      config.rest.port = Number(new URL(node.url).port);
      for (const k of ['ca', 'cert', 'key'] as const) config.tls[k] = join(base, config.tls[k]);
      config.dataDir = join(base, config.dataDir);
      if (config.signals?.memberKeyFile)
        config.signals.memberKeyFile = join(base, config.signals.memberKeyFile);
      writeFileSync(join(scratch, `${member}.json`), JSON.stringify(config));
      writeFileSync(join(scratch, 'tokens.json'), readFileSync(join(base, 'tokens.json')));
    }
    expect(
      (
        await c.api(
          'bank-a',
          'admin',
          'POST',
          '/v1/datasets/cust?idColumn=id&columns=y:integer&defaultType=number',
          fixture('breast_hetero_guest.csv'),
          'text/csv',
        )
      ).status,
    ).toBe(201);
    expect(
      (
        await c.api(
          'bank-b',
          'admin',
          'POST',
          '/v1/datasets/cust?idColumn=id&defaultType=number',
          fixture('breast_hetero_host.csv'),
          'text/csv',
        )
      ).status,
    ).toBe(201);
  });
  afterAll(async () => {
    await c?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('accord psi runs a job to the end and prints the shared count', async () => {
    // tokens.json next to the config belongs to bank-b (written last): pass bank-a's token explicitly.
    const { stdout, stderr } = await accord('bank-a', [
      'psi',
      '--peer',
      'bank-b',
      '--dataset',
      'cust',
      '--token',
      c.nodes['bank-a']!.tokens.risk,
    ]);
    expect(stdout).toContain('569 shared');
    expect(stderr).toMatch(/psi \[#+\] 100%/);
  });

  it('accord train --alignment runs a vertical job over a PSI alignment, a bar per epoch, and prints the part', async () => {
    for (const [member, file, columns] of [
      ['bank-a', 'breast_hetero_guest.csv', '&columns=y:integer'],
      ['bank-b', 'breast_hetero_host.csv', ''],
    ] as const) {
      const res = await c.api(
        member,
        'admin',
        'POST',
        `/v1/datasets/hetero?idColumn=id&idKind=customer_id&defaultType=number${columns}`,
        fixture(file),
        'text/csv',
      );
      expect(res.status).toBe(201);
    }
    const psi = await c.api('bank-a', 'risk', 'POST', '/v1/psi', {
      peers: ['bank-b'],
      dataset: 'hetero',
      mode: 'intersection',
      reveal: 'all',
    });
    expect(psi.status).toBe(202);
    for (const m of ['bank-a', 'bank-b']) expect((await waitJob(c, m, psi.body.id)).state).toBe('done');
    const { stdout, stderr } = await accord('bank-a', [
      'train',
      '--alignment',
      psi.body.id,
      '--peer',
      'bank-b',
      '--label',
      'y',
      '--model',
      'logistic',
      '--epochs',
      '2',
      '--batch-size',
      '256',
      '--learning-rate',
      '0.5',
      '--purpose',
      'risk',
      '--validation-fraction',
      '0.2',
      '--token',
      c.nodes['bank-a']!.tokens.risk,
    ]);
    // The breast-cancer split separates well: a random alignment order can put an AUC of 1 on its validation rows.
    expect(stderr).toMatch(/train \[#+\] 100% 2\/2 done AUC (0\.9\d{3}|1\.0000)/);
    expect(stdout).toMatch(/epoch 2: AUC (0\.9\d{3}|1\.0000)/);
    const result = JSON.parse(stdout.trim().split('\n').at(-1)!);
    expect(result.state).toBe('done');
    const part = await c.api('bank-a', 'risk', 'GET', `/v1/models/${result.model}`);
    expect(part.body.vertical).toMatchObject({ role: 'label-holder', partners: ['bank-b'] });
  });

  it('accord train runs a horizontal job to the end with a progress bar per round and prints the model', async () => {
    for (const [member, file] of [
      ['bank-a', 'breast_homo_guest.csv'],
      ['bank-b', 'breast_homo_host.csv'],
    ] as const) {
      const res = await c.api(
        member,
        'admin',
        'POST',
        '/v1/datasets/homo?idColumn=id&columns=y:integer&defaultType=number',
        fixture(file),
        'text/csv',
      );
      expect(res.status).toBe(201);
    }
    const { stdout, stderr } = await accord('bank-a', [
      'train',
      '--peer',
      'bank-b',
      '--dataset',
      'homo',
      '--label',
      'y',
      '--model',
      'logistic',
      '--rounds',
      '2',
      '--learning-rate',
      '0.05',
      '--min-participants',
      '2',
      '--purpose',
      'risk',
      '--validation-fraction',
      '0.2',
      '--token',
      c.nodes['bank-a']!.tokens.risk,
    ]);
    expect(stderr).toMatch(/train \[#+\] 100% 2\/2 done AUC 0\.\d{4}/);
    expect(stdout).toMatch(/round 2: AUC 0\.\d{4}/);
    const result = JSON.parse(stdout.trim().split('\n').at(-1)!);
    expect(result.state).toBe('done');
    const model = await c.api('bank-a', 'risk', 'GET', `/v1/models/${result.model}`);
    expect(model.status).toBe(200);
  });

  it('accord signals publish, query and screen', async () => {
    const risk = c.nodes['bank-b']!.tokens.risk;
    const published = await accord('bank-b', [
      'signals',
      'publish',
      '--id-kind',
      'phone',
      '--id',
      '+44 7700 900123',
      '--kind',
      'telecom_scam',
      '--token',
      risk,
    ]);
    expect(JSON.parse(published.stdout).signalIds).toHaveLength(1);
    const aRisk = c.nodes['bank-a']!.tokens.risk;
    const query = await accord('bank-a', [
      'signals',
      'query',
      '--id-kind',
      'phone',
      '--id',
      '+447700900123',
      '--token',
      aRisk,
    ]);
    expect(JSON.parse(query.stdout).flags).toEqual([
      expect.objectContaining({ kind: 'telecom_scam', members: 1 }),
    ]);
    const ids = join(scratch, 'ids.txt');
    writeFileSync(ids, '+44 7700 900123\n+44 7700 900999\n');
    const screen = await accord('bank-a', [
      'signals',
      'screen',
      '--id-kind',
      'phone',
      '--file',
      ids,
      '--token',
      aRisk,
    ]);
    const result = JSON.parse(screen.stdout);
    expect(result.total).toBe(2);
    expect(result.flagged).toHaveLength(1);
  });
});
