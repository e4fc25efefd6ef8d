// Anchor 1: OpenMined psi.js (ECDH-PSI over P-256, compiled to WASM), measured in-process.
//
// psi.js lives in bench/anchor/node_modules, outside the project's default install (its dependency
// protoc-gen-js runs a post-install download that fails offline). Install it with
// `bash bench/anchor/install.sh`.

import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';

// Minimal local typings for the part of psi.js we use (the package's own .d.ts pulls in
// generated protobuf types and a `psi_` module that TypeScript cannot resolve from here).
interface PsiMessage {
  serializeBinary(): Uint8Array;
}
interface PsiMessageClass {
  deserializeBinary(bytes: Uint8Array): PsiMessage;
}
interface PsiServer {
  createSetupMessage(
    fpr: number,
    numClientInputs: number,
    inputs: readonly string[],
    dataStructure?: unknown,
  ): PsiMessage;
  processRequest(clientRequest: PsiMessage): PsiMessage;
  delete(): void;
}
interface PsiClient {
  createRequest(clientInputs: readonly string[]): PsiMessage;
  getIntersection(serverSetup: PsiMessage, serverResponse: PsiMessage): number[];
  getIntersectionSize(serverSetup: PsiMessage, serverResponse: PsiMessage): number;
  delete(): void;
}
interface PsiLibrary {
  readonly serverSetup: PsiMessageClass;
  readonly request: PsiMessageClass;
  readonly response: PsiMessageClass;
  readonly package: { readonly version: string };
  readonly dataStructure: { readonly Raw: unknown; readonly GCS: unknown; readonly BloomFilter: unknown };
  readonly server: { createWithNewKey(revealIntersection?: boolean): PsiServer };
  readonly client: { createWithNewKey(revealIntersection?: boolean): PsiClient };
}

export type PsiJsDataStructure = 'Raw' | 'GCS';

export interface PsiJsMeasurement {
  n: number;
  seconds: number;
  elementsPerSecond: number;
}

const INSTALL_HINT =
  'run `bash bench/anchor/install.sh` (installs @openmined/psi.js into bench/anchor/node_modules)';

let libraryPromise: Promise<PsiLibrary> | undefined;

/** Loads (once) the psi.js WASM module from bench/anchor/node_modules. */
export function loadPsiJs(): Promise<PsiLibrary> {
  libraryPromise ??= (async () => {
    const requireFromAnchor = createRequire(new URL('../anchor/package.json', import.meta.url));
    let factory: unknown;
    try {
      factory = requireFromAnchor('@openmined/psi.js');
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'MODULE_NOT_FOUND') {
        throw new Error(`@openmined/psi.js is not installed: ${INSTALL_HINT}`, { cause: err });
      }
      throw err;
    }
    const init = (factory as { default?: unknown }).default ?? factory;
    if (typeof init !== 'function') {
      throw new Error(`@openmined/psi.js did not export an initialiser function; ${INSTALL_HINT}`);
    }
    const psi = (await (init as () => Promise<PsiLibrary>)()) as PsiLibrary;
    // Warm-up: one tiny run so the first measurement does not pay for WASM compilation/tier-up.
    runProtocol(psi, 64, psi.dataStructure.Raw);
    return psi;
  })();
  // Do not cache a failed load (e.g. the user installs and retries in the same process).
  libraryPromise.catch(() => {
    libraryPromise = undefined;
  });
  return libraryPromise;
}

/** Identifiers shaped like account references; server holds ids [0, n), client holds ids [n - overlap, 2n - overlap). */
function makeSets(n: number): { serverInputs: string[]; clientInputs: string[]; overlap: number } {
  const overlap = Math.floor(n / 2);
  const id = (i: number): string => `ACC-${i.toString().padStart(12, '0')}`;
  const serverInputs = Array.from({ length: n }, (_, i) => id(i));
  const clientInputs = Array.from({ length: n }, (_, i) => id(i + n - overlap));
  return { serverInputs, clientInputs, overlap };
}

/**
 * One full two-party run, including the protobuf serialisation a real exchange would do.
 * Returns the client-side indices of the intersection.
 */
function runProtocol(
  psi: PsiLibrary,
  n: number,
  dataStructure: unknown,
  sets = makeSets(n),
): { intersection: number[]; overlap: number } {
  const { serverInputs, clientInputs, overlap } = sets;
  const server = psi.server.createWithNewKey(true);
  const client = psi.client.createWithNewKey(true);
  try {
    // Server: setup message (its own encrypted set). fpr only matters for GCS/Bloom filters.
    const setupBytes = server
      .createSetupMessage(1e-9, clientInputs.length, serverInputs, dataStructure)
      .serializeBinary();
    // Client: blinded request.
    const requestBytes = client.createRequest(clientInputs).serializeBinary();
    // Server: re-blinds the client's elements.
    const responseBytes = server
      .processRequest(psi.request.deserializeBinary(requestBytes))
      .serializeBinary();
    // Client: unblinds and intersects.
    const intersection = client.getIntersection(
      psi.serverSetup.deserializeBinary(setupBytes),
      psi.response.deserializeBinary(responseBytes),
    );
    return { intersection, overlap };
  } finally {
    server.delete();
    client.delete();
  }
}

/**
 * Runs the full psi.js protocol (server setup + client request + server response + client
 * intersection) on n × n string identifiers with 50 % overlap and times it (set generation and
 * WASM loading excluded). Throws if the intersection is wrong.
 *
 * elementsPerSecond = 2n / seconds (both parties' elements, as for Accord's own PSI figure).
 * dataStructure defaults to 'Raw' (exact intersection, no false positives); 'GCS' is psi.js's
 * default, smaller on the wire but probabilistic.
 */
export async function measurePsiJs(
  n: number,
  opts: { dataStructure?: PsiJsDataStructure } = {},
): Promise<PsiJsMeasurement> {
  if (!Number.isInteger(n) || n < 2) throw new Error(`measurePsiJs: n must be an integer >= 2, got ${n}`);
  const psi = await loadPsiJs();
  const dataStructure = psi.dataStructure[opts.dataStructure ?? 'Raw'];
  const sets = makeSets(n);

  const t0 = performance.now();
  const { intersection, overlap } = runProtocol(psi, n, dataStructure, sets);
  const seconds = (performance.now() - t0) / 1000;

  // Client element i is shared iff i < overlap (see makeSets).
  const distinct = new Set(intersection);
  const allShared = intersection.every((i) => Number.isInteger(i) && i >= 0 && i < overlap);
  if (intersection.length !== overlap || distinct.size !== overlap || !allShared) {
    throw new Error(
      `psi.js returned a wrong intersection for n=${n}: ${intersection.length} indices ` +
        `(${distinct.size} distinct, all shared: ${allShared}), expected ${overlap}`,
    );
  }
  return { n, seconds, elementsPerSecond: (2 * n) / seconds };
}

/** Version of the installed psi.js (for reports). */
export async function psiJsVersion(): Promise<string> {
  return (await loadPsiJs()).package.version;
}
