/**
 * `accord signals quota grant|show --config <coordinator.json>`: the consortium operator's view of the per-member
 * quotas on new identifiers (coordinator/signals/quota.ts), on the coordinator's machine.
 *
 *   accord signals quota show  --config coordinator.json [--member bank-a]
 *   accord signals quota grant --config coordinator.json --member bank-a --add 2000000 --days 7 --reason "first screening"
 *
 * A grant adds `--add` new identifiers to the member's daily quota for `--days` UTC days from today: what a new member
 * needs for its first screening of its customer base. It is written to the coordinator's database (the running
 * coordinator applies it to the next request) and to the coordinator's audit chain, by the operator's OS user name,
 * before it takes effect; if it cannot be audited, it is not granted.
 */
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { auditTo } from '../../platform/audit/audit-log.js';
import { loadCoordinatorConfig } from '../../platform/config/index.js';
import { createLogger } from '../../platform/log/logger.js';
import { openSqliteCoordinatorStore } from '../../platform/store/sqlite/index.js';
import { AccordError } from '../../primitives/errors/index.js';
import { baseQuota, dayOf } from '../../coordinator/signals/quota.js';
import { DAY_MS } from '../../primitives/signals/protocol.js';

export interface QuotaCliOptions {
  readonly config: string;
  readonly member?: string | undefined;
  readonly add?: string | undefined;
  readonly days?: string | undefined;
  readonly reason?: string | undefined;
}

const MAX_GRANT_DAYS = 90;

function positiveInt(value: string | undefined, flag: string, max: number): number {
  const n = Number(value);
  if (value === undefined || !Number.isInteger(n) || n < 1 || n > max)
    throw new AccordError('ACCORD_USAGE', { problem: `${flag} must be a whole number from 1 to ${max}` });
  return n;
}

export async function quotaCommand(action: string | undefined, options: QuotaCliOptions): Promise<void> {
  const config = loadCoordinatorConfig(options.config);
  const store = openSqliteCoordinatorStore(join(config.dataDir, 'coordinator.db'));
  try {
    const members = options.member ? [options.member] : [...config.members];
    for (const m of members)
      if (!config.members.includes(m))
        throw new AccordError('ACCORD_USAGE', { problem: `${m} is not a member of this consortium` });
    const today = dayOf(Date.now());
    if (action === 'grant') {
      const member = options.member;
      if (!member) throw new AccordError('ACCORD_USAGE', { problem: 'grant needs --member' });
      const extra = positiveInt(options.add, '--add', 1_000_000_000);
      const days = positiveInt(options.days, '--days', MAX_GRANT_DAYS);
      const reason = (options.reason ?? '').trim();
      if (reason.length < 3 || reason.length > 200)
        throw new AccordError('ACCORD_USAGE', { problem: '--reason must say why, in 3 to 200 characters' });
      const grantedBy = `operator:${userInfo().username}`;
      const grant = { member, extra, fromDay: today, untilDay: today + days - 1, grantedBy, reason };
      // On record first: a grant that cannot be audited is not made.
      await auditTo(
        store.audit,
        createLogger('quota'),
      )({
        actor: grantedBy,
        action: 'signals:quota-grant',
        target: `member:${member}`,
        outcome: 'ok',
        details: { extra, fromDay: grant.fromDay, untilDay: grant.untilDay, reason },
      });
      const saved = await store.quotas.grant({ ...grant, grantedAtMs: Date.now() });
      process.stdout.write(
        `granted ${member} ${extra} more new identifiers a day for ${days} day(s), until ${new Date((saved.untilDay + 1) * DAY_MS).toISOString()} (grant ${saved.id})\n`,
      );
      return;
    }
    if (action !== 'show')
      throw new AccordError('ACCORD_USAGE', {
        problem: 'usage: accord signals quota show|grant --config <coordinator.json>',
      });
    const rows = [];
    for (const member of members) {
      const usage = await store.quotas.usage(member, today);
      const grants = (await store.quotas.grants(member)).filter(
        (g) => g.fromDay <= today && g.untilDay >= today,
      );
      const limit = baseQuota(config.signals.quotas, member) + grants.reduce((sum, g) => sum + g.extra, 0);
      const { newElements, queries, hits, alerted } = usage;
      const day = new Date(today * DAY_MS).toISOString().slice(0, 10);
      rows.push({ member, day, limit, newElements, queries, hits, enumerationAlert: alerted, grants });
    }
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
  } finally {
    await store.close();
  }
}
