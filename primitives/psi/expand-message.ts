/**
 * hash_to_field for GF(2^255 - 19) with expand_message_xmd and SHA-512, RFC 9380 sections 5.2 and 5.3.1, for the
 * one case Accord needs: count = 1, m = 1, L = 48 (k = 128), so len_in_bytes = 48 and ell = 1.
 *
 * Written out instead of calling noble's generic `hash_to_field` because node:crypto's one-shot SHA-512 is ~4x
 * faster than the JS one, and scratch buffers are reused across a batch. Tests compare it with noble's.
 */
import crypto from 'node:crypto';
import { P } from './field25519.js';

const L = 48;
const B_IN_BYTES = 64;
const S_IN_BYTES = 128;

/** DST_prime = DST || I2OSP(len(DST), 1); RFC 9380 section 5.3.1 limits DST to 255 bytes. */
function dstPrime(dst: Uint8Array): Buffer {
  if (dst.length === 0 || dst.length > 255) throw new RangeError('DST must be 1 to 255 bytes');
  return Buffer.concat([dst, Buffer.of(dst.length)]);
}

/** A reusable hasher of many messages under one DST. */
export class FieldHasher {
  private readonly tail: Buffer; // I2OSP(L, 2) || I2OSP(0, 1) || DST_prime
  private readonly second: Buffer; // b_0 || I2OSP(1, 1) || DST_prime
  private scratch: Buffer;

  constructor(dst: Uint8Array) {
    const dp = dstPrime(dst);
    this.tail = Buffer.concat([Buffer.of(0, L, 0), dp]);
    this.second = Buffer.concat([Buffer.alloc(B_IN_BYTES + 1), dp]);
    this.second[B_IN_BYTES] = 1;
    this.scratch = Buffer.alloc(S_IN_BYTES + 256 + this.tail.length);
  }

  /** hash_to_field(msg, 1)[0] for a UTF-8 string message. */
  hashString(msg: string): bigint {
    const n = Buffer.byteLength(msg, 'utf8');
    this.ensure(n);
    this.scratch.write(msg, S_IN_BYTES, n, 'utf8');
    return this.finish(n);
  }

  hashBytes(msg: Uint8Array): bigint {
    this.ensure(msg.length);
    this.scratch.set(msg, S_IN_BYTES);
    return this.finish(msg.length);
  }

  private ensure(msgLen: number): void {
    if (this.scratch.length < S_IN_BYTES + msgLen + this.tail.length) {
      // Z_pad (the first 128 bytes) stays zero because the new buffer is zero-filled.
      this.scratch = Buffer.alloc(S_IN_BYTES + msgLen * 2 + this.tail.length);
    }
  }

  private finish(msgLen: number): bigint {
    const end = S_IN_BYTES + msgLen;
    this.tail.copy(this.scratch, end);
    // msg_prime = Z_pad || msg || l_i_b_str || I2OSP(0, 1) || DST_prime; b_0 = H(msg_prime)
    const b0 = crypto.hash('sha512', this.scratch.subarray(0, end + this.tail.length), 'buffer');
    b0.copy(this.second, 0);
    // b_1 = H(b_0 || I2OSP(1, 1) || DST_prime); ell = 1, so uniform_bytes = b_1[0..L)
    const b1 = crypto.hash('sha512', this.second, 'buffer');
    return BigInt('0x' + b1.toString('hex', 0, L)) % P;
  }
}
