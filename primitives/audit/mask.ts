/**
 * Masking for logs: audit entries may need to say *which* identifier a query was about (so an auditor can see the same
 * one queried 500 times) without holding it. A keyed hash (HMAC-SHA-256 under a node-local secret, truncated) gives
 * a stable pseudonym that nobody without the key can reverse or test guesses against.
 */
import { createHmac } from 'node:crypto';

export function maskIdentifier(maskKey: Uint8Array, kind: string, value: string): string {
  const tag = createHmac('sha256', maskKey).update(kind).update('\0').update(value).digest('base64url');
  return `${kind}#${tag.slice(0, 16)}`;
}
