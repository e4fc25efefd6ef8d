/**
 * Coalesces concurrent small requests into batch RPCs: an item submitted while `maxInFlight` batches are already
 * on the wire waits for one of them to return and then goes out together with every other waiting item (up to
 * `maxBatch`). An idle link sends at once, so a lone query pays no extra latency; under load, one
 * QueryBatch carries many queries and the per-RPC cost (TLS frames, protobuf, audit entry) is shared.
 * Privacy is unchanged: the batch holds exactly the member elements the single calls would send.
 */
export class Coalescer<I, O> {
  private queue: Array<{ item: I; resolve: (o: O) => void; reject: (e: unknown) => void }> = [];
  private inFlight = 0;

  constructor(
    private readonly run: (items: I[]) => Promise<O[]>,
    private readonly maxBatch: number,
    private readonly maxInFlight = 4,
  ) {}

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      this.inFlight++;
      this.run(batch.map((b) => b.item))
        .then(
          (out) => {
            for (let i = 0; i < batch.length; i++) batch[i]!.resolve(out[i]!);
          },
          (err) => {
            for (const b of batch) b.reject(err);
          },
        )
        .finally(() => {
          this.inFlight--;
          this.pump();
        });
    }
  }
}
