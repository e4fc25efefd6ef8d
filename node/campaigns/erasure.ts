/**
 * Erasure of a customer on request: their scores (and a vertical model's fallback partials), campaign decisions,
 * consent records and contact history are deleted, and the answer counts what went, per kind. The do-not-contact
 * list keeps the customer if listed (an objection must outlive erasure, or the next import would contact them
 * again); the answer says so. The customer's rows in imported datasets are the bank's source data and are changed
 * by re-importing them. The audit entry names the customer only by keyed pseudonym (customer-pseudonyms.ts).
 *
 * Erasure waits for no run: while a campaign run is writing decisions it is refused (ACCORD_CUSTOMER_ERASURE_BLOCKED)
 * so that the run cannot write the customer back after the erasure.
 *
 * The deletions are one store transaction (platform/store/sqlite/customer-erasure.ts): a failure or a crash part-way
 * leaves everything of the customer, never a half-erased customer; the audit entry is written after the commit.
 */
import type { Audit } from '../../platform/audit/audit-log.js';
import type {
  CampaignRunStore,
  CustomerErasureStore,
  DoNotContactStore,
} from '../../platform/store/campaign-types.js';
import { AccordError } from '../../primitives/errors/index.js';
import type { Caller } from '../rest/route.js';
import { actorOf } from './campaign-service.js';
import { customerKey } from './consent-service.js';
import type { CustomerPseudonyms } from './customer-pseudonyms.js';

export interface ErasureResult {
  readonly scores: number;
  readonly decisions: number;
  readonly consent: number;
  readonly contacts: number;
  /** Whether the customer stays on the do-not-contact list. */
  readonly doNotContactKept: boolean;
}

export interface ErasureDeps {
  readonly erasure: CustomerErasureStore;
  readonly runs: CampaignRunStore;
  readonly doNotContact: DoNotContactStore;
  readonly audit: Audit;
  readonly pseudonyms: CustomerPseudonyms;
  /** The run writing now, if any. */
  readonly activeRun: () => string | null;
}

export async function eraseCustomer(
  deps: ErasureDeps,
  rawCustomer: string,
  caller: Caller,
): Promise<ErasureResult> {
  const customerId = customerKey(rawCustomer);
  const active = deps.activeRun() ?? (await deps.runs.running())?.id ?? null;
  if (active) throw new AccordError('ACCORD_CUSTOMER_ERASURE_BLOCKED', { run: active });
  const { scores, decisions, consent, contacts } = await deps.erasure.eraseCustomer(customerId);
  const result: ErasureResult = {
    scores,
    decisions,
    consent,
    contacts,
    doNotContactKept: await deps.doNotContact.has(customerId),
  };
  await deps.audit({
    actor: actorOf(caller),
    action: 'customer:erase',
    target: deps.pseudonyms.target(customerId),
    outcome: 'ok',
    details: { scores, decisions, consent, contacts, doNotContactKept: result.doNotContactKept },
  });
  return result;
}
