import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type InitResult, initConsortium } from '../../cli/commands/init.js';

/** A consortium's files (CA, certificates, configs, tokens) in a temp folder, without starting anything. */
export function tempConsortium(
  members: string[] = ['bank-a', 'bank-b'],
  options: { restTls?: boolean } = {},
): InitResult & { cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'accord-test-'));
  const result = initConsortium({
    dir,
    members,
    consortium: 'test',
    coordinatorPort: 0,
    firstRestPort: 0,
    force: true,
    ...options,
  });
  return { ...result, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
