/**
 * Consent per customer and purpose (granted or withdrawn, when granted, when withdrawn, when it expires) and the
 * do-not-contact list: bulk CSV imports (all or nothing: the first bad line is reported with its line number and
 * nothing is kept), and changes one customer at a time. A change takes effect at the next run (runs read consent
 * when they decide), and a run's list is re-checked against consent and do-not-contact when it is read (export.ts).
 *
 * A withdrawal is never undone by a grant not shown to be later (platform/store/sqlite/consent.ts): an import's
 * grant over a withdrawn record applies only if its granted_at is after the withdrawal, else it is kept out and
 * counted (`kept`); a single grant dated before the withdrawal is refused. Consent is written by admins only (the
 * REST routes; marketing gains from contact); marketing reads it and may add to the do-not-contact list.
 * Audit entries count rows; they never name a customer except by its keyed pseudonym.
 */
import type { Readable } from 'node:stream';
import type { Audit } from '../../platform/audit/audit-log.js';
import {
  CONSENT_STATUSES,
  type ConsentRecord,
  type ConsentStatus,
  type ConsentStore,
  type DoNotContactStore,
} from '../../platform/store/campaign-types.js';
import { PURPOSE_PATTERN } from '../../primitives/campaigns/spec.js';
import { CONSENT_TIME_FORMS, parseConsentTime } from '../../primitives/campaigns/times.js';
import { AccordError } from '../../primitives/errors/index.js';
import { normaliseId } from '../../primitives/identity/normalise.js';
import type { Caller } from '../rest/route.js';
import { actorOf } from './campaign-service.js';
import { csvRecords } from './csv-records.js';
import type { CustomerPseudonyms } from './customer-pseudonyms.js';

const BATCH = 2_000;

/**
 * Streams parsed CSV records into a staged import `BATCH` at a time and commits it; aborts it (nothing kept) if a
 * record or the store fails. Returns the rows read and what the commit answered.
 */
async function importStaged<R, T, C>(
  handle: { append(rows: readonly T[]): Promise<void>; commit(): Promise<C>; abort(): Promise<void> },
  records: AsyncIterable<R>,
  toRow: (record: R) => T,
): Promise<{ rows: number; committed: C }> {
  let rows = 0;
  try {
    let pending: T[] = [];
    for await (const record of records) {
      pending.push(toRow(record));
      if (pending.length >= BATCH) {
        await handle.append(pending);
        rows += pending.length;
        pending = [];
      }
    }
    await handle.append(pending);
    rows += pending.length;
    return { rows, committed: await handle.commit() };
  } catch (err) {
    await handle.abort();
    throw err;
  }
}

/** A customer id as stored: trimmed, at most 128 characters, no control characters (throws ACCORD_ID_INVALID). */
export function customerKey(raw: string): string {
  return normaliseId('customer_id', raw);
}

/**
 * A consent time (primitives/campaigns/times.ts: a plain date, read as UTC, or a date and time with its zone) as
 * ISO-8601 UTC, or null for an empty value; throws a plain Error naming the problem (never echoing the value).
 */
function isoTime(value: string | null | undefined): string | null {
  if (value === null || value === undefined || value === '') return null;
  const ms = parseConsentTime(value);
  if (ms === null) throw new Error(`expected ${CONSENT_TIME_FORMS}`);
  return new Date(ms).toISOString();
}

export interface ConsentChange {
  readonly status: ConsentStatus;
  readonly expiresAt?: string | null | undefined;
  readonly grantedAt?: string | null | undefined;
}

export class ConsentService {
  constructor(
    private readonly deps: {
      readonly consent: ConsentStore;
      readonly doNotContact: DoNotContactStore;
      readonly audit: Audit;
      readonly pseudonyms: CustomerPseudonyms;
      /** The clock (ms); tests move it. */
      readonly now?: () => number;
    },
  ) {
    this.now = deps.now ?? Date.now;
  }

  private readonly now: () => number;

  /**
   * Imports `customer_id,purpose,status,expires_at[,granted_at]` rows, all or nothing; returns the rows read and how
   * many grants were kept out by a later withdrawal (see the module comment).
   */
  async importCsv(body: Readable, caller: Caller): Promise<{ rows: number; kept: number }> {
    const now = new Date(this.now()).toISOString();
    const { rows, committed } = await importStaged(
      await this.deps.consent.beginImport(),
      csvRecords(body, ['customer_id', 'purpose', 'status', 'expires_at'], ['granted_at']),
      ({ line, values }) => consentRow(line, values, now),
    );
    const { kept } = committed;
    await this.deps.audit({
      actor: actorOf(caller),
      action: 'consent:import',
      target: 'consent',
      outcome: 'ok',
      details: { rows, kept },
    });
    return { rows, kept };
  }

  /** Sets one customer's consent for one purpose (a withdrawal keeps when it was granted). */
  async put(
    rawCustomer: string,
    purpose: string,
    change: ConsentChange,
    caller: Caller,
  ): Promise<ConsentRecord> {
    const customerId = customerKey(rawCustomer);
    const invalid = (field: string, problem: string) =>
      new AccordError('ACCORD_REQUEST_INVALID', { problems: `${field}: ${problem}` });
    if (!PURPOSE_PATTERN.test(purpose))
      throw invalid('purpose', 'expected a lowercase name (letters, digits, _ . -), at most 64 characters');
    let expiresAt: string | null;
    let grantedAt: string | null;
    try {
      expiresAt = isoTime(change.expiresAt);
    } catch (err) {
      throw invalid('expiresAt', (err as Error).message);
    }
    try {
      grantedAt = isoTime(change.grantedAt);
    } catch (err) {
      throw invalid('grantedAt', (err as Error).message);
    }
    const now = new Date(this.now()).toISOString();
    // A withdrawal keeps the granted time it does not give (the store's upsert).
    if (change.status === 'granted') grantedAt ??= now;
    const record: ConsentRecord = {
      customerId,
      purpose,
      status: change.status,
      grantedAt,
      expiresAt,
      updatedAt: now,
    };
    if (!(await this.deps.consent.put(record))) {
      const current = (await this.deps.consent.forCustomer(customerId)).find((c) => c.purpose === purpose);
      throw new AccordError('ACCORD_CONSENT_WITHDRAWN_LATER', {
        purpose,
        withdrawnAt: current?.withdrawnAt ?? '?',
        grantedAt: grantedAt ?? '?',
      });
    }
    await this.deps.audit({
      actor: actorOf(caller),
      action: `consent:${change.status === 'granted' ? 'grant' : 'withdraw'}`,
      target: this.deps.pseudonyms.target(customerId),
      outcome: 'ok',
      details: { purpose },
    });
    return (await this.deps.consent.forCustomer(customerId)).find((c) => c.purpose === purpose) ?? record;
  }

  async forCustomer(rawCustomer: string): Promise<{ consent: ConsentRecord[]; doNotContact: boolean }> {
    const customerId = customerKey(rawCustomer);
    return {
      consent: await this.deps.consent.forCustomer(customerId),
      doNotContact: await this.deps.doNotContact.has(customerId),
    };
  }

  /** Imports a `customer_id` column onto the do-not-contact list, all or nothing; returns how many were new. */
  async importDoNotContact(body: Readable, caller: Caller): Promise<{ rows: number; added: number }> {
    const { rows, committed: added } = await importStaged(
      await this.deps.doNotContact.beginImport(),
      csvRecords(body, ['customer_id']),
      ({ line, values }) => idOnLine(line, values.customer_id ?? ''),
    );
    await this.deps.audit({
      actor: actorOf(caller),
      action: 'do-not-contact:import',
      target: 'do-not-contact',
      outcome: 'ok',
      details: { rows, added },
    });
    return { rows, added };
  }

  /** Puts one customer on the list (or takes them off); returns whether they are listed now. */
  async setDoNotContact(
    rawCustomer: string,
    listed: boolean,
    caller: Caller,
  ): Promise<{ doNotContact: boolean }> {
    const customerId = customerKey(rawCustomer);
    if (listed) await this.deps.doNotContact.add([customerId]);
    else await this.deps.doNotContact.remove(customerId);
    await this.deps.audit({
      actor: actorOf(caller),
      action: listed ? 'do-not-contact:add' : 'do-not-contact:remove',
      target: this.deps.pseudonyms.target(customerId),
      outcome: 'ok',
      details: {},
    });
    return { doNotContact: listed };
  }
}

function rowError(line: number, column: string, problem: string): AccordError {
  return new AccordError('ACCORD_CONSENT_ROW_INVALID', { line, column, problem });
}

function idOnLine(line: number, raw: string): string {
  try {
    return customerKey(raw);
  } catch (err) {
    throw rowError(line, 'customer_id', String((err as AccordError).params?.reason ?? 'invalid customer id'));
  }
}

function consentRow(line: number, values: Readonly<Record<string, string>>, now: string): ConsentRecord {
  const customerId = idOnLine(line, values.customer_id ?? '');
  const purpose = values.purpose ?? '';
  if (!PURPOSE_PATTERN.test(purpose))
    throw rowError(
      line,
      'purpose',
      'expected a lowercase name (letters, digits, _ . -), at most 64 characters',
    );
  const status = values.status ?? '';
  if (!(CONSENT_STATUSES as readonly string[]).includes(status))
    throw rowError(line, 'status', `expected ${CONSENT_STATUSES.join(' or ')}`);
  const time = (column: string) => {
    try {
      return isoTime(values[column]);
    } catch (err) {
      throw rowError(line, column, (err as Error).message);
    }
  };
  const expiresAt = time('expires_at');
  // Undated: the store dates a grant at the import's time, but never lets it replace a withdrawal.
  const grantedAt = time('granted_at');
  return { customerId, purpose, status: status as ConsentStatus, grantedAt, expiresAt, updatedAt: now };
}
