/**
 * The one registry of coded errors. Each component keeps its codes in its own `*-codes.ts` file (so that work on
 * different components does not collide); this file joins them and is the only place that does.
 *
 * Only `AccordError`s cross the wire (REST body, gRPC status + `accord-code` trailer); anything else is logged
 * locally and replaced by `ACCORD_INTERNAL`.
 */
import { campaignErrors } from './campaign-codes.js';
import { coreErrors } from './core-codes.js';
import { heErrors } from './he-codes.js';
import { identityErrors } from './identity-codes.js';
import { psiErrors } from './psi-codes.js';
import { psiSessionErrors } from './psi-session-codes.js';
import { scoringErrors } from './scoring-codes.js';
import { signalErrors } from './signal-codes.js';
import { trainingErrors } from './training-codes.js';
import { verticalErrors } from './vertical-codes.js';
import type { ErrorSpec } from './define.js';

export const registry = {
  ...coreErrors,
  ...campaignErrors,
  ...heErrors,
  ...identityErrors,
  ...psiErrors,
  ...psiSessionErrors,
  ...scoringErrors,
  ...signalErrors,
  ...trainingErrors,
  ...verticalErrors,
} as const;

export type ErrorCode = keyof typeof registry;

export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(registry, code);
}

export function specOf(code: ErrorCode): ErrorSpec {
  return registry[code];
}
