/** PerKeyQueue (primitives/concurrency/per-key-queue.ts): one step at a time per key, in order, failures not blocking. */
import { describe, expect, it } from 'vitest';
import { PerKeyQueue } from '../../../primitives/concurrency/per-key-queue.js';

const tick = () => new Promise((r) => setTimeout(r, 1));

describe('PerKeyQueue', () => {
  it('runs the steps of one key one at a time, in order, and of different keys side by side', async () => {
    const queue = new PerKeyQueue();
    const log: string[] = [];
    let running = 0;
    let most = 0;
    const step = (key: string, i: number) => async () => {
      running++;
      most = Math.max(most, running);
      log.push(`${key}${i}+`);
      await tick();
      log.push(`${key}${i}-`);
      running--;
      return i;
    };
    const results = await Promise.all([
      queue.run('a', step('a', 1)),
      queue.run('a', step('a', 2)),
      queue.run('b', step('b', 1)),
    ]);
    expect(results).toEqual([1, 2, 1]);
    expect(log.filter((e) => e.startsWith('a'))).toEqual(['a1+', 'a1-', 'a2+', 'a2-']);
    expect(most).toBe(2); // a and b overlapped; a's steps never did
  });

  it('starts the next step after a failure, and the failure reaches only its caller', async () => {
    const queue = new PerKeyQueue();
    const failed = queue.run('a', () => Promise.reject(new Error('no')));
    const next = queue.run('a', () => 'ran');
    await expect(failed).rejects.toThrow('no');
    expect(await next).toBe('ran');
  });
});
