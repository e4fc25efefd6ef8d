/**
 * `accord init <dir> --members bank-a,bank-b,bank-c [--rest-tls]`: a development consortium in one folder: a CA,
 * certificates and keys for the coordinator and each member, one config file per process, and REST API tokens per
 * role per node; with --rest-tls, a REST server certificate per node so its REST API serves HTTPS.
 * Production consortia bring their own PKI and point the configs at their PEM files.
 */
import { coordinatorTrainingSchema, nodeTrainingSchema } from '../../platform/config/training-schema.js';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createAuthority, issueLeaf } from '../../platform/tls/issue.js';
import { ANY_DATASET, coordinatorPsiSchema, nodePsiSchema } from '../../platform/config/psi-schema.js';
import { coordinatorSignalsSchema, nodeSignalsSchema } from '../../platform/config/signals-schema.js';
import { CoordinatorKey } from '../../primitives/oprf/coordinator-key.js';
import { MemberKey } from '../../primitives/oprf/member-key.js';
import {
  COORDINATOR_NAME,
  MEMBER_NAME_PATTERN,
  MEMBER_URI_PREFIX,
  ROLES,
} from '../../primitives/consortium/roles.js';
import { AccordError } from '../../primitives/errors/index.js';
import { hashToken } from '../../node/rest/auth.js';
import type { CoordinatorConfig, NodeConfig } from '../../platform/config/index.js';

export interface InitOptions {
  readonly dir: string;
  readonly members: readonly string[];
  readonly consortium: string;
  readonly coordinatorPort: number;
  readonly firstRestPort: number;
  readonly force: boolean;
  /** Also issue each node a REST server certificate from the consortium CA and serve its REST API over HTTPS. */
  readonly restTls?: boolean;
}

export interface InitResult {
  readonly dir: string;
  readonly coordinatorConfig: string;
  readonly nodes: ReadonlyArray<{ member: string; config: string; tokens: string }>;
}

function writeSecret(path: string, content: string): void {
  writeFileSync(path, content, { mode: 0o600 });
  // `mode` applies only when the file is created: `init --force` over an old file must tighten it too.
  chmodSync(path, 0o600);
}

function writeJson(path: string, value: unknown, secret = false): void {
  const text = `${JSON.stringify(value, null, 2)}\n`;
  if (secret) writeSecret(path, text);
  else writeFileSync(path, text);
}

export function initConsortium(options: InitOptions): InitResult {
  const dir = resolve(options.dir);
  const problems = options.members.filter((m) => !MEMBER_NAME_PATTERN.test(m) || m === COORDINATOR_NAME);
  if (options.members.length === 0)
    throw new AccordError('ACCORD_USAGE', { problem: '--members needs at least one name' });
  if (problems.length) {
    throw new AccordError('ACCORD_USAGE', {
      problem: `invalid member names: ${problems.join(', ')} (lowercase letters, digits, dashes)`,
    });
  }
  if (new Set(options.members).size !== options.members.length)
    throw new AccordError('ACCORD_USAGE', { problem: 'member names repeat' });
  if (existsSync(dir) && readdirSync(dir).length > 0 && !options.force)
    throw new AccordError('ACCORD_INIT_TARGET_EXISTS', { dir });

  mkdirSync(join(dir, 'ca'), { recursive: true });
  const ca = createAuthority(options.consortium);
  writeFileSync(join(dir, 'ca', 'ca.pem'), ca.certPem);
  writeSecret(join(dir, 'ca', 'ca.key'), ca.keyPem);

  mkdirSync(join(dir, COORDINATOR_NAME), { recursive: true });
  const coordinatorLeaf = issueLeaf(ca, {
    commonName: COORDINATOR_NAME,
    consortium: options.consortium,
    server: { dns: [COORDINATOR_NAME, 'localhost'], ip: ['127.0.0.1'] },
    uri: `${MEMBER_URI_PREFIX}${COORDINATOR_NAME}`,
  });
  writeFileSync(join(dir, COORDINATOR_NAME, 'cert.pem'), coordinatorLeaf.certPem);
  writeSecret(join(dir, COORDINATOR_NAME, 'key.pem'), coordinatorLeaf.keyPem);
  const coordinatorConfig: CoordinatorConfig = {
    kind: 'coordinator',
    consortium: options.consortium,
    listen: { host: '127.0.0.1', port: options.coordinatorPort },
    tls: { ca: '../ca/ca.pem', cert: 'cert.pem', key: 'key.pem' },
    members: [...options.members],
    dataDir: 'data',
    heartbeat: { intervalMs: 2_000, offlineAfterMs: 6_000 },
    psi: coordinatorPsiSchema.parse({}),
    training: coordinatorTrainingSchema.parse({}),
    signals: coordinatorSignalsSchema.parse({ keyFile: 'coordinator-key.b64' }),
    revocation: { deniedMembers: [], deniedSerials: [] },
  };
  // Fraud-signal OPRF keys: k_c for the coordinator only; ONE k_m shared by every member node and never by the
  // coordinator (holding both lets anyone compute the token of a guessed identifier).
  writeSecret(
    join(dir, COORDINATOR_NAME, 'coordinator-key.b64'),
    `${CoordinatorKey.generate().toBase64()}\n`,
  );
  const memberKey = MemberKey.generate().toBase64();
  const coordinatorConfigPath = join(dir, COORDINATOR_NAME, 'coordinator.json');
  writeJson(coordinatorConfigPath, coordinatorConfig);

  const nodes = options.members.map((member, index) => {
    const memberDir = join(dir, member);
    mkdirSync(memberDir, { recursive: true });
    const leaf = issueLeaf(ca, {
      commonName: member,
      consortium: options.consortium,
      uri: `${MEMBER_URI_PREFIX}${member}`,
    });
    writeFileSync(join(memberDir, 'cert.pem'), leaf.certPem);
    writeSecret(join(memberDir, 'key.pem'), leaf.keyPem);
    writeSecret(join(memberDir, 'member-key.b64'), `${memberKey}\n`);
    if (options.restTls) {
      // Valid for the loopback names the CLI connects to; a node bound elsewhere needs a certificate naming that
      // host. serverAuth only: this key may sit on a proxy, and must not be able to act as the member over gRPC.
      const restLeaf = issueLeaf(ca, {
        commonName: member,
        consortium: options.consortium,
        server: { dns: ['localhost'], ip: ['127.0.0.1'] },
        serverOnly: true,
      });
      writeFileSync(join(memberDir, 'rest-cert.pem'), restLeaf.certPem);
      writeSecret(join(memberDir, 'rest-key.pem'), restLeaf.keyPem);
    }
    const tokens = Object.fromEntries(
      ROLES.map((role) => [role, `acc_${role}_${randomBytes(24).toString('base64url')}`]),
    );
    const nodeConfig: NodeConfig = {
      kind: 'node',
      member,
      dataDir: 'data',
      coordinator: { address: `127.0.0.1:${options.coordinatorPort}`, serverName: COORDINATOR_NAME },
      tls: { ca: '../ca/ca.pem', cert: 'cert.pem', key: 'key.pem' },
      rest: {
        host: '127.0.0.1',
        port: options.firstRestPort === 0 ? 0 : options.firstRestPort + index,
        ...(options.restTls ? { tls: { cert: 'rest-cert.pem', key: 'rest-key.pem' } } : {}),
        insecurePlainHttp: false,
      },
      tokens: ROLES.map((role) => ({ role, sha256: hashToken(tokens[role]!), label: `${member}-${role}` })),
      // A development consortium lets every member intersect against any dataset and accepts automatically;
      // production configs list each partner's datasets and modes (psi.partners) and who is auto-accepted.
      psi: nodePsiSchema.parse({
        partners: Object.fromEntries(
          options.members.filter((m) => m !== member).map((m) => [m, { datasets: [ANY_DATASET] }]),
        ),
        autoAcceptFrom: options.members.filter((m) => m !== member),
      }),
      // Likewise for training: every member may train with every other on any dataset, accepted automatically.
      training: nodeTrainingSchema.parse({
        partners: Object.fromEntries(
          options.members.filter((m) => m !== member).map((m) => [m, { datasets: [ANY_DATASET] }]),
        ),
        autoAcceptFrom: options.members.filter((m) => m !== member),
      }),
      signals: nodeSignalsSchema.parse({ memberKeyFile: 'member-key.b64' }),
      store: { kind: 'sqlite' },
    };
    const config = join(memberDir, 'node.json');
    const tokensFile = join(memberDir, 'tokens.json');
    writeJson(config, nodeConfig);
    writeJson(tokensFile, tokens, true);
    return { member, config, tokens: tokensFile };
  });
  return { dir, coordinatorConfig: coordinatorConfigPath, nodes };
}
