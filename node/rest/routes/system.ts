import { z } from 'zod';
import { ROLES } from '../../../primitives/consortium/roles.js';
import type { CoordinatorLink } from '../../coordinator-link.js';
import { route } from '../route.js';

const memberSchema = z.object({
  name: z.string(),
  status: z.enum(['online', 'offline', 'never_seen']),
  lastSeen: z.string().nullable().describe('ISO time of the last registration or heartbeat'),
  capabilities: z.array(z.string()),
});

export function systemRoutes(deps: { member: string; version: string; link: CoordinatorLink }) {
  return [
    route({
      method: 'GET',
      url: '/v1/health',
      summary: 'Liveness and the coordinator link',
      tags: ['system'],
      roles: 'public',
      response: z.object({
        status: z.literal('ok'),
        member: z.string(),
        version: z.string(),
        coordinator: z.object({
          connected: z.boolean(),
          lastHeartbeat: z.string().nullable(),
          lastErrorCode: z.string().nullable(),
        }),
      }),
      handler: async () => {
        const link = deps.link.status();
        return {
          status: 'ok' as const,
          member: deps.member,
          version: deps.version,
          coordinator: {
            connected: link.connected,
            lastHeartbeat: link.lastHeartbeatMs ? new Date(link.lastHeartbeatMs).toISOString() : null,
            lastErrorCode: link.lastErrorCode,
          },
        };
      },
    }),
    route({
      method: 'GET',
      url: '/v1/members',
      summary: 'Consortium members and their liveness, as the coordinator sees them',
      tags: ['system'],
      roles: ROLES,
      response: z.object({ members: z.array(memberSchema) }),
      handler: async () => ({
        members: (await deps.link.listMembers()).map((m) => ({
          name: m.name,
          status: m.status,
          lastSeen: m.lastSeenMs ? new Date(m.lastSeenMs).toISOString() : null,
          capabilities: [...m.capabilities],
        })),
      }),
    }),
  ];
}
