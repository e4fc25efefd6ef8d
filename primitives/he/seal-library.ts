/**
 * node-seal (Microsoft SEAL 4.1 in WebAssembly), compiled and instantiated once per process for every suite that uses
 * it (`bfv.ts`, `histogram.ts`), and the types of the SEAL objects they hold.
 */
import * as nodeSeal from 'node-seal';

/**
 * node-seal is CommonJS whose module.exports is the loader, while its types declare an ES default export: Node puts
 * the loader at the namespace's `default`, TypeScript expects it one `default` further. Accept both.
 */
type LoadSeal = (typeof nodeSeal.default)['default'];
const exported = nodeSeal.default as unknown;
const loadSeal = (
  typeof exported === 'function' ? exported : (exported as { default: LoadSeal }).default
) as LoadSeal;

export type SealLibrary = Awaited<ReturnType<LoadSeal>>;
export type SealContext = ReturnType<SealLibrary['Context']>;
export type SealCipherText = ReturnType<SealLibrary['CipherText']>;
export type SealPlainText = ReturnType<SealLibrary['PlainText']>;
export type SealPublicKey = ReturnType<SealLibrary['PublicKey']>;
export type SealSecretKey = ReturnType<SealLibrary['SecretKey']>;
export type SealEncryptor = ReturnType<SealLibrary['Encryptor']>;
export type SealDecryptor = ReturnType<SealLibrary['Decryptor']>;
export type SealEvaluator = ReturnType<SealLibrary['Evaluator']>;

let library: Promise<SealLibrary> | undefined;

/** node-seal, compiled and instantiated once per process (a failed load is tried again on the next call). */
export function sealLibrary(): Promise<SealLibrary> {
  if (library) return library;
  const loading = loadSeal();
  loading.catch(() => {
    library = undefined;
  });
  library = loading;
  return loading;
}
