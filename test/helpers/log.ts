import type { Logger } from '../../platform/log/logger.js';

/** A logger that drops everything (tests that assert on behaviour, not on log lines). */
export const silentLog: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silentLog };

/** A logger that keeps the messages of its warnings (tests of what an operator is warned about). */
export function recordingLog(): { log: Logger; warnings: string[] } {
  const warnings: string[] = [];
  const log: Logger = {
    debug() {},
    info() {},
    warn: (msg) => void warnings.push(msg),
    error() {},
    child: () => log,
  };
  return { log, warnings };
}
