/**
 * Bearer-token authentication. Config holds only SHA-256 hashes of tokens; a presented token is hashed and looked
 * up. Unknown or missing token: 401. Known token of a role the route does not allow: 403.
 */
import { createHash } from 'node:crypto';
import type { Role } from '../../primitives/consortium/roles.js';
import { AccordError } from '../../primitives/errors/index.js';
import type { Caller } from './route.js';

export interface TokenEntry {
  readonly role: Role;
  readonly sha256: string;
  readonly label: string;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export class TokenAuthenticator {
  private readonly byHash: Map<string, Caller>;

  constructor(tokens: readonly TokenEntry[]) {
    this.byHash = new Map(tokens.map((t) => [t.sha256, { role: t.role, label: t.label }]));
  }

  /** Identifies the caller from an Authorization header; null when absent or unknown. */
  identify(authorization: string | undefined): Caller | null {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    if (!match) return null;
    return this.byHash.get(hashToken(match[1]!)) ?? null;
  }

  authorize(caller: Caller | null, allowed: readonly Role[] | 'public', route: string): void {
    if (allowed === 'public') return;
    if (!caller) throw new AccordError('ACCORD_AUTH_MISSING');
    if (!allowed.includes(caller.role)) {
      throw new AccordError('ACCORD_AUTH_FORBIDDEN', {
        role: caller.role,
        route,
        allowed: allowed.join(', '),
      });
    }
  }
}
