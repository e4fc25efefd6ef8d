/**
 * An in-memory LRU of member elements (H(x)^k_m), so that identifiers this bank sees again (its own customers,
 * repeat applicants) cost no further hashing and scalar multiplication. Keys are an HMAC of (identifier kind, normalised identifier) under
 * a random per-process key: a heap dump shows no identifier, and the cache key is useless outside this process.
 */
import { createHmac, randomBytes } from 'node:crypto';

export class TokenCache {
  private readonly key = randomBytes(32);
  private readonly entries = new Map<string, Uint8Array>();

  constructor(private readonly capacity: number) {}

  /** The cache key of one identifier. */
  keyOf(idKind: string, normalisedId: string): string {
    return createHmac('sha256', this.key).update(idKind).update('\0').update(normalisedId).digest('base64');
  }

  get(cacheKey: string): Uint8Array | undefined {
    const token = this.entries.get(cacheKey);
    if (token) {
      // Map keeps insertion order: re-inserting marks it most recently used.
      this.entries.delete(cacheKey);
      this.entries.set(cacheKey, token);
    }
    return token;
  }

  set(cacheKey: string, token: Uint8Array): void {
    if (this.capacity === 0) return;
    this.entries.delete(cacheKey);
    this.entries.set(cacheKey, token);
    if (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
  }

  get size(): number {
    return this.entries.size;
  }
}
