import type { Logger } from '../../platform/log/logger.js';

/** A logger that drops everything (tests that assert on behaviour, not on log lines). */
export const silentLog: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silentLog };
