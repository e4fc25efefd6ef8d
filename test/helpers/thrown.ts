import { expect } from 'vitest';
import { AccordError } from '../../primitives/errors/index.js';

/** The AccordError `fn` throws; fails the test if it throws nothing or something else. */
export function thrown(fn: () => unknown): AccordError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AccordError);
    return err as AccordError;
  }
  throw new Error('nothing was thrown');
}

/** The AccordError `promise` rejects with; fails the test if it resolves or rejects with something else. */
export async function rejected(promise: Promise<unknown>): Promise<AccordError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(AccordError);
    return err as AccordError;
  }
  throw new Error('expected a rejection');
}
