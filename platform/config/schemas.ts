/**
 * Config schemas for both processes, with defaults and units. One place; `accord init` writes files that match.
 */
import { z } from 'zod';
import { AUDIT_ANCHOR_INTERVAL_MS } from '../../primitives/audit/anchors.js';
import { MEMBER_NAME_PATTERN, ROLES } from '../../primitives/consortium/roles.js';
import { isLoopbackHost } from './rest-listener.js';
import { coordinatorPsiSchema, nodePsiSchema } from './psi-schema.js';
import { coordinatorTrainingSchema, nodeTrainingSchema } from './training-schema.js';
import { coordinatorSignalsSchema, nodeSignalsSchema } from './signals-schema.js';

const memberName = z.string().regex(MEMBER_NAME_PATTERN, 'must be lowercase letters, digits and dashes');
const port = z.number().int().min(0).max(65535);

export const tlsFilesSchema = z.strictObject({
  /** PEM file of the consortium CA every peer certificate must chain to. */
  ca: z.string().min(1),
  /** PEM certificate of this process (member name in subject CN). */
  cert: z.string().min(1),
  /** PEM private key matching `cert`. */
  key: z.string().min(1),
});

/**
 * Audit anchoring (primitives/audit/anchors.ts). Optional, so configs written before it stay valid; when absent, the
 * process uses `AUDIT_ANCHOR_INTERVAL_MS` (30 000 ms).
 */
const auditAnchoringSchema = z
  .strictObject({
    /** Minimum milliseconds between two anchors of one peer's audit head (a head that did not move is not anchored). */
    anchorIntervalMs: z.number().int().min(100).max(86_400_000).default(AUDIT_ANCHOR_INTERVAL_MS),
  })
  .optional();

export const coordinatorConfigSchema = z.strictObject({
  kind: z.literal('coordinator'),
  /** Consortium name, shown to members on registration. */
  consortium: z.string().min(1).default('accord'),
  listen: z
    .strictObject({ host: z.string().default('127.0.0.1'), port: port.default(7443) })
    .default({ host: '127.0.0.1', port: 7443 }),
  tls: tlsFilesSchema,
  /** Every member allowed in; a certificate naming anyone else is refused. */
  members: z.array(memberName).min(1),
  /** Folder for the coordinator's SQLite database and audit log. */
  dataDir: z.string().min(1),
  heartbeat: z
    .strictObject({
      /** Milliseconds between node heartbeats (told to nodes at registration). */
      intervalMs: z.number().int().min(100).max(600_000).default(2_000),
      /** A member whose last heartbeat is older than this (ms) is offline. */
      offlineAfterMs: z.number().int().min(300).max(3_600_000).default(6_000),
    })
    .default({ intervalMs: 2_000, offlineAfterMs: 6_000 }),
  /** Private set intersection sessions: timeouts and the limits that keep PSI from being used to pull lists. */
  psi: coordinatorPsiSchema,
  /** Federated training jobs: invitation and stage timeouts, jobs per member. */
  training: coordinatorTrainingSchema,
  /** Fraud-signal sharing: OPRF key file, retention, rate limits (see signals-schema.ts). */
  signals: coordinatorSignalsSchema,
  /**
   * Members the consortium has let go: refused on every RPC and every open stream from the moment this is loaded.
   * Edit it and send the coordinator SIGHUP to reload it without a restart; a list that fails to load keeps the one in
   * force (nobody is un-revoked by a mistake).
   */
  revocation: z
    .strictObject({
      /** Member names refused whatever certificate they present. */
      deniedMembers: z.array(memberName).default([]),
      /** Certificate serials refused (hex, colons allowed), e.g. one lost certificate of a member that stays. */
      deniedSerials: z
        .array(z.string().regex(/^(0x)?[0-9a-fA-F:]{1,64}$/, 'must be a hex serial'))
        .default([]),
      /** The consortium CA's certificate revocation list (PEM or DER), re-read on every reload. */
      crlFile: z.string().min(1).optional(),
    })
    .prefault({}),
  /** How often each member's audit head (from its heartbeats) is anchored in the coordinator's log. */
  audit: auditAnchoringSchema,
});
export type CoordinatorConfig = z.infer<typeof coordinatorConfigSchema>;

export const tokenSchema = z.strictObject({
  role: z.enum(ROLES),
  /** Hex SHA-256 of the bearer token; the token itself is never stored in config. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex characters'),
  /** Who holds it, for the audit log. */
  label: z.string().min(1).max(64),
});

const restTlsFilesSchema = z.strictObject({
  /** PEM certificate the REST listener presents; its SANs must name the host clients connect to. */
  cert: z.string().min(1),
  /** PEM private key matching `cert`. */
  key: z.string().min(1),
  /**
   * PEM CA(s) for client certificates. When set, REST clients must present a certificate it issued (mutual TLS);
   * bearer tokens are still required on top.
   */
  clientCa: z.string().min(1).optional(),
});

const nodeRestSchema = z
  .strictObject({
    /** Address to listen on; anything but loopback needs `tls` or `insecurePlainHttp`. */
    host: z.string().default('127.0.0.1'),
    port: port.default(8080),
    /** Serve HTTPS with these files instead of plain HTTP. */
    tls: restTlsFilesSchema.optional(),
    /**
     * Plain HTTP on a non-loopback host, for a node behind a TLS-terminating proxy on a trusted network only: bearer
     * tokens travel in clear between the proxy and the node. Ignored when `tls` is set.
     */
    insecurePlainHttp: z.boolean().default(false),
  })
  .superRefine((rest, ctx) => {
    // Bearer tokens (admin, risk, ...) go with every request: over plain HTTP anyone on the path can replay them.
    if (rest.tls || rest.insecurePlainHttp || isLoopbackHost(rest.host)) return;
    ctx.addIssue({
      code: 'custom',
      path: ['tls'],
      message:
        `required because rest.host ${rest.host} is not a loopback address, so bearer tokens would cross the ` +
        'network in clear: set rest.tls (cert, key), bind rest.host to 127.0.0.1, or set ' +
        'rest.insecurePlainHttp to true if a TLS-terminating proxy fronts the node',
    });
  })
  .prefault({});

export const nodeConfigSchema = z.strictObject({
  kind: z.literal('node'),
  /** This bank's member name; must equal the name in `tls.cert`. */
  member: memberName,
  /** Folder for the node's SQLite database and audit log. */
  dataDir: z.string().min(1),
  coordinator: z.strictObject({
    /** host:port of the coordinator's gRPC endpoint. */
    address: z.string().regex(/^[^:\s]+:\d{1,5}$/, 'must be host:port'),
    /** Name the coordinator's certificate must carry (checked by TLS instead of the address host). */
    serverName: z.string().min(1).default('coordinator'),
  }),
  tls: tlsFilesSchema,
  rest: nodeRestSchema,
  tokens: z.array(tokenSchema).min(1),
  /** Private set intersection: which partners may intersect against what, and worker threads. */
  psi: nodePsiSchema,
  /** Federated training: which partners may train on what. */
  training: nodeTrainingSchema,
  /** Fraud-signal sharing: member key file, token cache (see signals-schema.ts). */
  signals: nodeSignalsSchema,
  /** How often the coordinator's audit head (from heartbeat answers) is anchored in the node's log. */
  audit: auditAnchoringSchema,
  store: z
    .strictObject({
      kind: z.literal('sqlite').default('sqlite'),
      /** Database file; defaults to `<dataDir>/node.db`. */
      path: z.string().optional(),
    })
    .default({ kind: 'sqlite' }),
});
export type NodeConfig = z.infer<typeof nodeConfigSchema>;
