/**
 * One suite per kind per process: `cipherSuite('bfv')` compiles node-seal's WebAssembly and builds the SEAL context
 * once (a few hundred milliseconds), `cipherSuite('plain')` never loads it.
 */
import type { CipherKind, CipherSuite } from './cipher.js';
import { createPlainSuite } from './plain.js';

const suites = new Map<CipherKind, Promise<CipherSuite>>();

/** The suite of `kind`, memoised (a failed start is not memoised: the next call tries again). */
export function cipherSuite(kind: CipherKind): Promise<CipherSuite> {
  let suite = suites.get(kind);
  if (!suite) {
    if (kind === 'bfv') suite = import('./bfv.js').then((bfv) => bfv.createBfvSuite());
    else if (kind === 'plain') suite = Promise.resolve(createPlainSuite());
    else return Promise.reject(new RangeError(`unknown cipher suite ${String(kind)}`));
    suites.set(kind, suite);
    suite.catch(() => suites.delete(kind));
  }
  return suite;
}
