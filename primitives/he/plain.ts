/**
 * The plaintext stand-in for the BFV suite: the same operations, the same plain modulus t and the same slot layout,
 * with no encryption at all. A "ciphertext" is the wire header (`wire.ts`, suite 'plain', with this parameter id)
 * followed by `slots` residues modulo t as u64 little endian; keys are random bytes that protect nothing. It
 * exists only so that a benchmark can run the vertical protocol with encryption switched off and measure what
 * encryption costs; never use it with real data (the node refuses it unless its configuration allows it).
 *
 * The suites refuse each other's objects: a BFV ciphertext given to this suite's `decrypt` (or the reverse) throws
 * ACCORD_HE_CIPHERTEXT_INVALID.
 */
import { randomBytes } from 'node:crypto';
import { AccordError } from '../errors/index.js';
import { type CipherSuite, type PublicKeyHandle, type SecretKeyHandle, UNKNOWN_SENDER } from './cipher.js';
import { checkChunks, checkMasks, checkSignedValues } from './checks.js';
import { PLAIN_MODULUS, parameterIdOf, SLOTS, WIRE_FORMAT_VERSION } from './parameters.js';
import { checkWireHeader, hasWireMagic, newWireObject, WIRE_HEADER_BYTES, type WireObject } from './wire.js';

const LEVEL = 0;
/** Bytes of the random "public key" body. */
const KEY_BYTES = 32;

export class PlainSuite implements CipherSuite {
  readonly kind = 'plain' as const;
  readonly slots = SLOTS;
  readonly plainModulus = PLAIN_MODULUS;
  readonly parameterId = parameterIdOf([
    ['suite', 'accord-he'],
    ['wire', WIRE_FORMAT_VERSION],
    ['scheme', 'plain'],
    ['slots', SLOTS],
    ['plainModulus', PLAIN_MODULUS.toString()],
  ]);

  readonly #liveKeys = new WeakSet<PublicKeyHandle | SecretKeyHandle>();
  readonly #ciphertextBytes = WIRE_HEADER_BYTES + 8 * SLOTS;

  encrypt(publicKey: PublicKeyHandle, values: BigInt64Array): Uint8Array[] {
    this.#checkKey(publicKey);
    checkSignedValues(values, this.plainModulus, 'a value to encrypt');
    const out: Uint8Array[] = [];
    for (let at = 0; at < values.length; at += SLOTS) {
      const slots = new BigUint64Array(SLOTS);
      const chunk = values.subarray(at, at + SLOTS);
      for (let i = 0; i < chunk.length; i++) slots[i] = this.#reduce(chunk[i]!);
      out.push(this.#write(slots));
    }
    return out;
  }

  addPlain(cts: readonly Uint8Array[], values: BigInt64Array): Uint8Array[] {
    checkSignedValues(values, this.plainModulus, 'a value to add');
    checkChunks(values, cts.length, SLOTS, 'values');
    return cts.map((bytes, k) => {
      const slots = this.#read(bytes, k);
      const chunk = values.subarray(k * SLOTS, (k + 1) * SLOTS);
      for (let i = 0; i < chunk.length; i++)
        slots[i] = (slots[i]! + this.#reduce(chunk[i]!)) % this.plainModulus;
      return this.#write(slots);
    });
  }

  add(a: readonly Uint8Array[], b: readonly Uint8Array[]): Uint8Array[] {
    if (!Array.isArray(a) || !Array.isArray(b)) throw new TypeError('add takes two arrays of ciphertexts');
    if (a.length !== b.length)
      this.#refuse(`the operands have ${a.length} and ${b.length} ciphertexts; they must have as many`);
    return a.map((bytes, k) => {
      const slots = this.#read(bytes, k);
      const other = this.#read(b[k]!, k);
      for (let i = 0; i < SLOTS; i++) slots[i] = (slots[i]! + other[i]!) % this.plainModulus;
      return this.#write(slots);
    });
  }

  maskedInnerProducts(
    publicKey: PublicKeyHandle,
    cts: readonly Uint8Array[],
    columns: readonly BigInt64Array[],
    masks: readonly BigUint64Array[],
  ): Uint8Array[] {
    this.#checkKey(publicKey);
    if (columns.length !== masks.length)
      throw new RangeError(`${columns.length} columns but ${masks.length} masks`);
    columns.forEach((column, j) => {
      checkSignedValues(column, this.plainModulus, `column ${j}`);
      checkChunks(column, cts.length, SLOTS, `column ${j}`);
    });
    checkMasks(masks, this.plainModulus, SLOTS);
    const inputs = cts.map((bytes, k) => this.#read(bytes, k));
    return columns.map((column, j) => {
      const sums = Array.from(masks[j]!, (m) => m);
      inputs.forEach((slots, k) => {
        const chunk = column.subarray(k * SLOTS, (k + 1) * SLOTS);
        for (let i = 0; i < chunk.length; i++) sums[i] = sums[i]! + chunk[i]! * slots[i]!;
      });
      return this.#write(BigUint64Array.from(sums, (s) => this.#reduce(s)));
    });
  }

  maskedVector(
    publicKey: PublicKeyHandle,
    cts: readonly Uint8Array[],
    masks: readonly BigUint64Array[],
  ): Uint8Array[] {
    this.#checkKey(publicKey);
    if (masks.length !== cts.length)
      throw new RangeError(`${cts.length} ciphertexts but ${masks.length} masks`);
    checkMasks(masks, this.plainModulus, SLOTS);
    return cts.map((bytes, k) => {
      const slots = this.#read(bytes, k);
      const mask = masks[k]!;
      for (let i = 0; i < SLOTS; i++) slots[i] = (slots[i]! + mask[i]!) % this.plainModulus;
      return this.#write(slots);
    });
  }

  generateKeys(): { publicKey: Uint8Array; secretKey: SecretKeyHandle } {
    const publicKey = newWireObject(
      { kind: 'plain', object: 'publicKey', level: LEVEL, parameterId: this.parameterId },
      KEY_BYTES,
    );
    publicKey.set(randomBytes(KEY_BYTES), WIRE_HEADER_BYTES);
    return { publicKey, secretKey: this.#handle('secret') };
  }

  /** Any bytes load (the key protects nothing), except a key that names another suite or parameter set. */
  loadPublicKey(bytes: Uint8Array): PublicKeyHandle {
    if (!(bytes instanceof Uint8Array))
      throw new AccordError('ACCORD_HE_KEY_INVALID', { reason: 'it is not a byte array' });
    if (hasWireMagic(bytes))
      checkWireHeader(bytes, this.#expect('publicKey'), (reason) => {
        throw new AccordError('ACCORD_HE_KEY_INVALID', { reason });
      });
    return this.#handle('public');
  }

  decrypt(secretKey: SecretKeyHandle, ct: Uint8Array): BigUint64Array {
    this.#checkKey(secretKey);
    return this.#read(ct);
  }

  #handle(role: 'public'): PublicKeyHandle;
  #handle(role: 'secret'): SecretKeyHandle;
  #handle(role: 'public' | 'secret'): PublicKeyHandle | SecretKeyHandle {
    const handle: PublicKeyHandle | SecretKeyHandle = Object.freeze({
      role,
      kind: 'plain' as const,
      parameterId: this.parameterId,
      delete: () => {
        this.#liveKeys.delete(handle);
      },
    }) as PublicKeyHandle | SecretKeyHandle;
    this.#liveKeys.add(handle);
    return handle;
  }

  #checkKey(handle: PublicKeyHandle | SecretKeyHandle): void {
    if (!this.#liveKeys.has(handle))
      throw new AccordError('ACCORD_HE_KEY_INVALID', {
        reason: 'it is not a live key of the plain suite (deleted, or of another suite)',
      });
  }

  #expect(object: WireObject) {
    return { kind: 'plain' as const, object, parameterId: this.parameterId, levels: [LEVEL] };
  }

  #reduce(v: bigint): bigint {
    const r = v % this.plainModulus;
    return r < 0n ? r + this.plainModulus : r;
  }

  #refuse(reason: string): never {
    throw new AccordError('ACCORD_HE_CIPHERTEXT_INVALID', { from: UNKNOWN_SENDER, reason });
  }

  #read(bytes: Uint8Array, index?: number): BigUint64Array {
    const refuse = (reason: string): never =>
      this.#refuse(index === undefined ? reason : `ciphertext ${index}: ${reason}`);
    checkWireHeader(bytes, this.#expect('ciphertext'), refuse);
    if (bytes.length !== this.#ciphertextBytes)
      refuse(`it has ${bytes.length} bytes, expected ${this.#ciphertextBytes}`);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const slots = new BigUint64Array(SLOTS);
    for (let i = 0; i < SLOTS; i++) {
      const v = view.getBigUint64(WIRE_HEADER_BYTES + 8 * i, true);
      if (v >= this.plainModulus) refuse('a slot is not below t');
      slots[i] = v;
    }
    return slots;
  }

  #write(slots: BigUint64Array): Uint8Array {
    const out = newWireObject(
      { kind: 'plain', object: 'ciphertext', level: LEVEL, parameterId: this.parameterId },
      8 * SLOTS,
    );
    const view = new DataView(out.buffer);
    for (let i = 0; i < SLOTS; i++) view.setBigUint64(WIRE_HEADER_BYTES + 8 * i, slots[i]!, true);
    return out;
  }
}

/** The plain suite; `cipherSuite('plain')` memoises one. */
export function createPlainSuite(): PlainSuite {
  return new PlainSuite();
}
