/**
 * Runs async steps one at a time per key (a member, a party), in the order they were submitted; steps of different
 * keys run side by side. A step starts after the previous step of its key settled, whether that one succeeded or
 * failed, so one failure never blocks a key. Used where a decision reads state and then changes it across awaits
 * (quota charges, PSI admissions, audit anchors): run one at a time, simultaneous requests cannot all pass a check
 * that only one may. Keys leave the map once their last step settled, so memory follows the keys in use.
 */
export class PerKeyQueue {
  private readonly tails = new Map<string, Promise<void>>();

  run<T>(key: string, step: () => Promise<T> | T): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const run = previous.then(step);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, settled);
    void settled.then(() => {
      if (this.tails.get(key) === settled) this.tails.delete(key);
    });
    return run;
  }
}
