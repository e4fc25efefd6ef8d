import { hexToBytes } from '@noble/hashes/utils.js';
import { expect } from 'vitest';
import { AccordError, type ErrorCode } from '../../../primitives/errors/index.js';

/** Runs `fn`, expects an AccordError with `code` (and the given params), and returns it. */
export function expectAccordError(
  fn: () => unknown,
  code: ErrorCode,
  params: Record<string, string | number> = {},
): AccordError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(AccordError);
  const err = caught as AccordError;
  expect(err.code).toBe(code);
  expect(err.params).toMatchObject(params);
  // The message template must be fully rendered (every placeholder given).
  expect(err.message).not.toMatch(/\{\w+\}/);
  return err;
}

export const hex = hexToBytes;
