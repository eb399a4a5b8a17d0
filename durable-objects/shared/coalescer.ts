/**
 * Coalesces requests that arrive together into one synchronous write: each `add` waits for the
 * next macrotask, by which time the requests already queued for the object have joined, and all
 * of them are applied by one `apply` call (one transaction, one commit, instead of one each).
 * Under load the macrotask comes later and batches grow, so commits per second stay bounded.
 */
export class Coalescer<T, R> {
  readonly #apply: (batch: T[]) => R[];
  readonly #waiting: { input: T; resolve: (result: R) => void; reject: (err: unknown) => void }[] = [];

  /**
   * `apply` gets the batch in arrival order and returns one result per input, in order. When it
   * throws for a batch of several, each input is applied alone, so a bad input fails only its
   * own caller.
   */
  constructor(apply: (batch: T[]) => R[]) {
    this.#apply = apply;
  }

  add(input: T): Promise<R> {
    return new Promise((resolve, reject) => {
      this.#waiting.push({ input, resolve, reject });
      if (this.#waiting.length === 1) {
        setTimeout(() => this.#flush(), 0);
      }
    });
  }

  #flush(): void {
    const batch = this.#waiting.splice(0);
    try {
      const results = this.#apply(batch.map((entry) => entry.input));
      batch.forEach((entry, i) => entry.resolve(results[i] as R));
      return;
    } catch (err) {
      if (batch.length === 1) {
        batch[0]?.reject(err);
        return;
      }
    }
    for (const entry of batch) {
      try {
        entry.resolve(this.#apply([entry.input])[0] as R);
      } catch (err) {
        entry.reject(err);
      }
    }
  }
}
