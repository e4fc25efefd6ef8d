import { afterAll, describe, expect, it } from 'vitest';
import { blind, validateAndBlind } from '../../../primitives/psi/blinding.js';
import { hashToCurveBatch } from '../../../primitives/psi/hash-to-curve.js';
import { PsiKey } from '../../../primitives/psi/psi-key.js';
import { CryptoWorkerPool } from '../../../platform/crypto-workers/pool.js';
import { uToBytes } from '../psi/reference.js';
import { rejected } from '../../helpers/thrown.js';

// Small chunks so that even a test-sized input is spread over several workers and chunks.
const pool = new CryptoWorkerPool({ size: 3, minChunk: 64 });
afterAll(() => pool.close());

const ids = Array.from({ length: 1000 }, (_, i) => `customer-${i}`);
const key = PsiKey.generate();
const peer = PsiKey.generate();

describe('CryptoWorkerPool', () => {
  it('gives byte-identical results to the single-threaded functions', async () => {
    const single = blind(key, hashToCurveBatch(ids, 'customer_id', 'job-7'));
    const pooled = await pool.hashAndBlind(key, ids, 'customer_id', 'job-7');
    expect(pooled.equals(single)).toBe(true);

    const fromPeer = blind(peer, hashToCurveBatch(ids, 'customer_id', 'job-7'));
    expect((await pool.reblind(key, fromPeer)).equals(blind(key, fromPeer))).toBe(true);
    expect(
      (await pool.validateAndReblind(key, fromPeer, ids.length)).equals(
        validateAndBlind(key, fromPeer, 1000),
      ),
    ).toBe(true);
  });

  it('handles empty input and concurrent calls', async () => {
    expect((await pool.hashAndBlind(key, [], 'text', 'job')).length).toBe(0);
    const [a, b] = await Promise.all([
      pool.hashAndBlind(key, ids.slice(0, 300), 'text', 'job-a'),
      pool.hashAndBlind(key, ids.slice(0, 300), 'text', 'job-b'),
    ]);
    expect(a.equals(blind(key, hashToCurveBatch(ids.slice(0, 300), 'text', 'job-a')))).toBe(true);
    expect(b.equals(blind(key, hashToCurveBatch(ids.slice(0, 300), 'text', 'job-b')))).toBe(true);
  });

  it('returns worker errors as the same AccordError, with the global index of the first bad point', async () => {
    const pts = hashToCurveBatch(ids, 'customer_id', 'job-7');
    const bad = Buffer.from(pts);
    uToBytes(2n).copy(bad, 32 * 900); // twist point late in the input
    uToBytes(1n).copy(bad, 32 * 700); // low-order point earlier, in another chunk: this one wins
    const err = await rejected(pool.validateAndReblind(key, bad, ids.length));
    expect(err.code).toBe('ACCORD_PSI_POINT_LOW_ORDER');
    expect(err.params).toEqual({ index: 700 });
    expect((await rejected(pool.validateAndReblind(key, pts, ids.length + 1))).code).toBe(
      'ACCORD_PSI_POINT_COUNT_MISMATCH',
    );
    expect((await rejected(pool.hashAndBlind(key, ids, 'text', ''))).code).toBe('ACCORD_PSI_DOMAIN_INVALID');
    // The pool still works after errors.
    expect((await pool.reblind(key, pts.subarray(0, 64))).equals(blind(key, pts.subarray(0, 64)))).toBe(true);
  });

  it('refuses work after close()', async () => {
    const p = new CryptoWorkerPool({ size: 1 });
    await p.reblind(key, hashToCurveBatch(['x'], 'text', 'job'));
    await p.close();
    expect((await rejected(p.reblind(key, hashToCurveBatch(['x'], 'text', 'job')))).code).toBe(
      'ACCORD_PSI_POOL_CLOSED',
    );
  });
});

describe('CryptoWorkerPool, fraud-signal member elements', () => {
  it('matches the single-threaded memberElementBatch byte for byte, in order', async () => {
    const { MemberKey } = await import('../../../primitives/oprf/member-key.js');
    const { memberElementBatch } = await import('../../../primitives/oprf/fraud-token.js');
    const memberKey = MemberKey.generate();
    const inputs = ids.slice(0, 300).map((id, i) => ({ kind: i % 2 ? 'phone' : 'email', normalisedId: id }));
    const pooled = await pool.memberElements(memberKey, inputs);
    expect(pooled.equals(Buffer.concat(memberElementBatch(inputs, memberKey)))).toBe(true);
    const other = await pool.memberElements(MemberKey.generate(), inputs);
    expect(other.equals(pooled)).toBe(false);
  });
});

describe('CryptoWorkerPool, fraud-signal tokens', () => {
  it('matches tokenBatch byte for byte and reports a bad element by its index in the whole batch', async () => {
    const { CoordinatorKey } = await import('../../../primitives/oprf/coordinator-key.js');
    const { MemberKey } = await import('../../../primitives/oprf/member-key.js');
    const { memberElementBatch, tokenBatch } = await import('../../../primitives/oprf/fraud-token.js');
    const kc = CoordinatorKey.generate();
    const elements = memberElementBatch(
      ids.slice(0, 200).map((id) => ({ kind: 'phone', normalisedId: id })),
      MemberKey.generate(),
    );
    const pooled = await pool.signalTokens(kc, Buffer.concat(elements));
    expect(pooled.equals(Buffer.concat(tokenBatch(kc, elements)))).toBe(true);
    const broken = Buffer.concat(elements);
    broken.fill(0xff, 150 * 32, 151 * 32); // not a canonical encoding
    const err = await rejected(pool.signalTokens(kc, broken));
    expect(err.code).toBe('ACCORD_OPRF_POINT_INVALID');
    expect(err.params['index']).toBe(150);
  });
});
