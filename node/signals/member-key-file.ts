/** Reads the consortium member key k_m from the node's key file (base64, written by `accord init`, mode 0600). */
import { readFileSync, statSync } from 'node:fs';
import type { Logger } from '../../platform/log/logger.js';
import { AccordError } from '../../shared/errors/index.js';
import { MemberKey } from '../../shared/oprf/member-key.js';

export function loadMemberKey(file: string, log: Logger): MemberKey {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
    if ((statSync(file).mode & 0o077) !== 0)
      log.warn('the member key file is readable by other users; chmod 600 it', { file });
  } catch (err) {
    throw new AccordError('ACCORD_CONFIG_UNREADABLE', {
      file,
      reason: (err as NodeJS.ErrnoException).code ?? 'unreadable',
    });
  }
  return MemberKey.fromBase64(text.trim());
}
