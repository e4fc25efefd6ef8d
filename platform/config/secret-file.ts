/**
 * Reads a secret a config points at (a key file written by `accord init` with mode 0600): the trimmed text, or
 * ACCORD_CONFIG_UNREADABLE naming the file. Warns when other users can read it. The text is never logged.
 */
import { readFileSync, statSync } from 'node:fs';
import { AccordError } from '../../primitives/errors/index.js';
import type { Logger } from '../log/logger.js';

/** Logs a warning when users other than the owner may read `file` (a private key, a signal key, the data folder). */
export function warnIfReadableByOthers(file: string, what: string, log: Logger): void {
  try {
    const stat = statSync(file);
    if ((stat.mode & 0o077) !== 0) {
      const [kind, mode] = stat.isDirectory() ? ['folder', '700'] : ['file', '600'];
      log.warn(`the ${what} ${kind} is readable by other users; chmod ${mode} it`, { file });
    }
  } catch {
    // Unreadable files are reported by whoever reads them, with their coded error.
  }
}

export function readSecretFile(file: string, what: string, log: Logger): string {
  try {
    const text = readFileSync(file, 'utf8');
    warnIfReadableByOthers(file, what, log);
    return text.trim();
  } catch (err) {
    throw new AccordError('ACCORD_CONFIG_UNREADABLE', {
      file,
      reason: (err as NodeJS.ErrnoException).code ?? 'unreadable',
    });
  }
}
