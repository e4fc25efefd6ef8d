/**
 * Erasure on request: `DELETE /v1/customers/:customer` deletes the customer's scores, campaign decisions, consent
 * and contact history and answers what went, per kind (node/campaigns/erasure.ts). Both the route's own audit entry
 * and the erasure's name the customer by keyed pseudonym only; audit entries record route patterns, not URLs.
 */
import { z } from 'zod';
import type { NodeCampaigns } from '../../campaigns/index.js';
import { route } from '../route.js';
import { customerParam } from './campaigns.js';

export function customerRoutes(campaigns: Omit<NodeCampaigns, 'routes'>) {
  return [
    route({
      method: 'DELETE',
      url: '/v1/customers/:customer',
      summary:
        'Erase a customer: scores, campaign decisions, consent and contact history (the do-not-contact mark stays)',
      tags: ['consent'],
      roles: ['admin'],
      params: z.object({ customer: customerParam }),
      response: z.object({
        scores: z.number().int(),
        decisions: z.number().int(),
        consent: z.number().int(),
        contacts: z.number().int(),
        doNotContactKept: z
          .boolean()
          .describe('the customer stays on the do-not-contact list, so no later import contacts them again'),
      }),
      auditTarget: ({ params }) => campaigns.pseudonyms.of(params.customer),
      handler: async ({ params, caller }) => campaigns.erase(params.customer, caller!),
    }),
  ];
}
