/**
 * Regenerates the audit-entry known-answer vectors in this folder (entry-hash.json) from primitives/audit/chain.ts.
 * Run once:
 *   node --import tsx test/vectors/audit/generate.ts
 * Each vector is a sealed entry with a fixed `at`, the canonical JSON text its hash covers, and the hash
 * (hex SHA-256 of prevHash followed by that text), chained one after the other from the genesis hash. The vectors
 * pin the encoding: if they ever need to change, every existing audit log stops verifying, and the anchors the
 * consortium holds with it. Before writing, the hash is recomputed here directly with node:crypto over the text, so
 * a vector never just restates `entryHash`.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import {
  type AuditDraft,
  type AuditEntry,
  canonicalJson,
  GENESIS_HASH,
  sealEntry,
} from '../../../primitives/audit/chain.js';

/** Drafts whose details go beyond the flat record type (nested, arrays, null) still pin the canonical encoding. */
const wide = (draft: Omit<AuditDraft, 'details'> & { details: unknown }): AuditDraft => draft as AuditDraft;

const cases: { draft: AuditDraft; at: string }[] = [
  {
    draft: { actor: 'bank-a', action: 'process:start', target: '', outcome: 'ok', details: {} },
    at: '2024-01-02T03:04:05.678Z',
  },
  {
    draft: {
      actor: 'role:admin',
      action: 'rest:POST /v1/datasets/:name',
      target: 'Zoë Müller — 顧客 🏦',
      outcome: 'ok',
      details: { rows: 569, replace: false, ratio: 0.25, note: 'quote " backslash \\ newline \n tab \t' },
    },
    at: '2024-01-02T03:04:06.000Z',
  },
  {
    draft: wide({
      actor: 'bank-b',
      action: 'audit:anchor',
      target: 'member:bank-b',
      outcome: 'refused',
      details: {
        zeta: { b: [1, true, null, 'x'], a: { y: 1e21, x: -5, w: 0.1 } },
        '10': 'ten',
        '2': 'two',
        Z: 'upper sorts before lower',
        é: 'non-ASCII key',
        big: 2 ** 53,
        negZero: -0,
      },
    }),
    at: '2024-02-29T23:59:59.999Z',
  },
  {
    draft: {
      actor: 'unidentified',
      action: 'rpc:Register',
      target: 'membership',
      outcome: 'denied',
      details: { code: 'ACCORD_MEMBER_UNKNOWN', retried: true, attempts: 0 },
    },
    at: '2024-03-01T00:00:00.000Z',
  },
  {
    draft: {
      actor: 'coordinator',
      action: 'job:psi',
      target: 'job-2024-0001',
      outcome: 'failed',
      details: { code: 'ACCORD_PSI_INTERRUPTED', ms: 1234.5 },
    },
    at: '2024-03-01T00:00:01.000Z',
  },
];

let previous: AuditEntry | null = null;
const vectors = cases.map(({ draft, at }) => {
  const entry = sealEntry(draft, previous, new Date(at));
  const { hash, ...unsealed } = entry;
  const canonical = canonicalJson(unsealed);
  const direct = createHash('sha256').update(`${entry.prevHash}${canonical}`, 'utf8').digest('hex');
  if (direct !== hash || entry.at !== at)
    throw new Error(`entry ${entry.seq} does not reproduce; vectors not written`);
  previous = entry;
  return { draft, at, seq: entry.seq, prevHash: entry.prevHash, canonical, hash };
});
if (vectors[0]?.prevHash !== GENESIS_HASH) throw new Error('the first entry must link to the genesis hash');

writeFileSync(
  new URL('./entry-hash.json', import.meta.url),
  `${JSON.stringify(
    {
      description:
        'Accord audit entries: canonical = JSON of {seq, at, actor, action, target, outcome, details, prevHash} with ' +
        'keys sorted (UTF-16 order) at every level and no spaces; hash = hex SHA-256 of the UTF-8 bytes of prevHash ' +
        'followed by canonical. Entries chain in order from the genesis hash (64 zeros).',
      vectors,
    },
    null,
    2,
  )}\n`,
);
