/**
 * The admin's answer to a job invitation its policy did not accept by itself (PSI and training alike): accept,
 * optionally naming another local dataset, or decline. One pair of routes per area, built here once.
 */
import { z } from 'zod';
import type { Role } from '../../../primitives/consortium/roles.js';
import { route } from '../route.js';

const jobId = z.object({ job: z.string().uuid() });

export interface InvitationAnswers<J> {
  accept(id: string, dataset: string | undefined): Promise<J>;
  reject(id: string, role: Role): Promise<J>;
}

export function invitationRoutes<J, V>(options: {
  /** URL segment and tag: "psi" or "training". */
  readonly area: 'psi' | 'training';
  /** What the summaries call the invitation ("PSI", "training"). */
  readonly what: string;
  readonly jobs: InvitationAnswers<J>;
  readonly view: (job: J) => V;
  readonly response: z.ZodType<V>;
}) {
  const { area, what, jobs, view, response } = options;
  const auditTarget = ({ params }: { params: { job: string } }) => `${area}:${params.job}`;
  return [
    route({
      method: 'POST',
      url: `/v1/${area}/invitations/:job/accept`,
      summary: `Accept a pending ${what} invitation, optionally with another local dataset`,
      tags: [area],
      roles: ['admin'],
      params: jobId,
      body: z.strictObject({ dataset: z.string().min(1).optional() }),
      response,
      auditTarget,
      handler: async ({ params, body }) => view(await jobs.accept(params.job, body.dataset)),
    }),
    route({
      method: 'POST',
      url: `/v1/${area}/invitations/:job/reject`,
      summary: `Decline a pending ${what} invitation`,
      tags: [area],
      roles: ['admin'],
      params: jobId,
      response,
      auditTarget,
      handler: async ({ params, caller }) => view(await jobs.reject(params.job, caller!.role)),
    }),
  ];
}
