/**
 * Keyed pseudonyms of customers for the audit log: HMAC-SHA-256 under a node-local secret (primitives/audit/mask.ts),
 * so an auditor sees that two entries concern the same customer without the log holding the id, and nobody without
 * the key can test a guessed id against it. The key is created once and kept in the node's settings; it must never
 * leave the node.
 */
import { randomBytes } from 'node:crypto';
import type { SettingsStore } from '../../platform/store/types.js';
import { maskIdentifier } from '../../primitives/audit/mask.js';

export const CUSTOMER_KEY_SETTING = 'customers.pseudonymKey';

export class CustomerPseudonyms {
  private key: Uint8Array | null = null;

  constructor(private readonly settings: SettingsStore) {}

  /** Loads (or creates, on first start) the key. */
  async init(): Promise<void> {
    const stored = await this.settings.putIfAbsent(CUSTOMER_KEY_SETTING, randomBytes(32).toString('base64'));
    this.key = Buffer.from(stored, 'base64');
  }

  /** The pseudonym of a customer id (as stored: trimmed). */
  of(customerId: string): string {
    if (!this.key) throw new Error('CustomerPseudonyms.init() was not called');
    return maskIdentifier(this.key, 'customer', customerId.trim());
  }

  /** An audit target naming the customer by pseudonym. */
  target(customerId: string): string {
    return this.of(customerId);
  }
}
