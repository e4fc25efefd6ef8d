/**
 * REST routes of consent and the do-not-contact list: bulk CSV imports (all or nothing, a bad line named by its
 * number), and one customer at a time. A change takes effect at the next campaign run. Routes that name a customer
 * audit its keyed pseudonym only.
 */
import { z } from 'zod';
import { CONSENT_STATUSES } from '../../../platform/store/campaign-types.js';
import { PURPOSE_PATTERN } from '../../../primitives/campaigns/spec.js';
import { CONSENT_TIME_FORMS, CONSENT_TIME_PATTERN } from '../../../primitives/campaigns/times.js';
import type { NodeCampaigns } from '../../campaigns/index.js';
import { route } from '../route.js';
import { customerParam } from './campaigns.js';

const consentSchema = z.object({
  customerId: z.string(),
  purpose: z.string(),
  status: z.enum(CONSENT_STATUSES),
  grantedAt: z.string().nullable(),
  withdrawnAt: z.string().nullable().describe('when a withdrawn record was withdrawn; null otherwise'),
  expiresAt: z.string().nullable().describe('null: does not expire'),
  updatedAt: z.string(),
});

/** A plain date (UTC) or a date and time with its zone; the service checks the calendar too. */
const isoTime = z.string().regex(CONSENT_TIME_PATTERN, CONSENT_TIME_FORMS);

export function consentRoutes(campaigns: Omit<NodeCampaigns, 'routes'>) {
  const { consent, pseudonyms } = campaigns;
  // Consent is written by admins only: marketing gains from contact. Marketing may add to the do-not-contact list
  // (protective) but only an admin takes a customer off it.
  const consentWriters = ['admin'] as const;
  const listAdders = ['admin', 'marketing'] as const;
  const customerTarget = ({ params }: { params: { customer: string } }) => pseudonyms.of(params.customer);
  return [
    route({
      method: 'POST',
      url: '/v1/consent',
      summary:
        'Import consent from a streamed CSV: customer_id,purpose,status,expires_at[,granted_at] (all or nothing; a grant replaces a withdrawal only if dated after it)',
      tags: ['consent'],
      roles: consentWriters,
      bodyKind: 'csv',
      response: z.object({
        rows: z.number().int(),
        kept: z
          .number()
          .int()
          .describe(
            'grants kept out: the record was withdrawn later than the grant (or the grant is undated)',
          ),
      }),
      handler: async ({ stream, caller }) => consent.importCsv(stream!, caller!),
    }),
    route({
      method: 'PUT',
      url: '/v1/customers/:customer/consent/:purpose',
      summary: 'Grant or withdraw one customer’s consent for one purpose (takes effect at the next run)',
      tags: ['consent'],
      roles: consentWriters,
      params: z.object({ customer: customerParam, purpose: z.string().regex(PURPOSE_PATTERN) }),
      body: z.strictObject({
        status: z.enum(CONSENT_STATUSES),
        expiresAt: isoTime.nullable().optional().describe('default: does not expire'),
        grantedAt: isoTime.optional().describe('default: now (for a grant)'),
      }),
      response: consentSchema,
      auditTarget: customerTarget,
      handler: async ({ params, body, caller }) =>
        consent.put(params.customer, params.purpose, body, caller!),
    }),
    route({
      method: 'GET',
      url: '/v1/customers/:customer/consent',
      summary: 'One customer’s consent per purpose, and whether they are on the do-not-contact list',
      tags: ['consent'],
      roles: ['admin', 'marketing', 'reviewer'],
      params: z.object({ customer: customerParam }),
      response: z.object({ consent: z.array(consentSchema), doNotContact: z.boolean() }),
      auditTarget: customerTarget,
      handler: async ({ params }) => consent.forCustomer(params.customer),
    }),
    route({
      method: 'POST',
      url: '/v1/do-not-contact',
      summary:
        'Add the customers of a streamed CSV (a customer_id column) to the do-not-contact list (all or nothing)',
      tags: ['consent'],
      roles: listAdders,
      bodyKind: 'csv',
      response: z.object({ rows: z.number().int(), added: z.number().int() }),
      handler: async ({ stream, caller }) => consent.importDoNotContact(stream!, caller!),
    }),
    route({
      method: 'PUT',
      url: '/v1/customers/:customer/do-not-contact',
      summary: 'Put one customer on the do-not-contact list',
      tags: ['consent'],
      roles: listAdders,
      params: z.object({ customer: customerParam }),
      response: z.object({ doNotContact: z.boolean() }),
      auditTarget: customerTarget,
      handler: async ({ params, caller }) => consent.setDoNotContact(params.customer, true, caller!),
    }),
    route({
      method: 'DELETE',
      url: '/v1/customers/:customer/do-not-contact',
      summary: 'Take one customer off the do-not-contact list',
      tags: ['consent'],
      roles: ['admin'],
      params: z.object({ customer: customerParam }),
      response: z.object({ doNotContact: z.boolean() }),
      auditTarget: customerTarget,
      handler: async ({ params, caller }) => consent.setDoNotContact(params.customer, false, caller!),
    }),
  ];
}
