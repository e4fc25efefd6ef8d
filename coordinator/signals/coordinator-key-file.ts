/** Reads the coordinator's OPRF key k_c from its key file (base64, written by `accord init` with mode 0600). */
import { readFileSync, statSync } from 'node:fs';
import type { Logger } from '../../platform/log/logger.js';
import { AccordError } from '../../shared/errors/index.js';
import { CoordinatorKey } from '../../shared/oprf/coordinator-key.js';

export function loadCoordinatorKey(file: string, log: Logger): CoordinatorKey {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
    if ((statSync(file).mode & 0o077) !== 0)
      log.warn('the OPRF key file is readable by other users; chmod 600 it', { file });
  } catch (err) {
    throw new AccordError('ACCORD_CONFIG_UNREADABLE', {
      file,
      reason: (err as NodeJS.ErrnoException).code ?? 'unreadable',
    });
  }
  return CoordinatorKey.fromBase64(text.trim());
}
