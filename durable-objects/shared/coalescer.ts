/**
 * Coalesces requests that arrive together into one synchronous write: each `add` waits for the
 * next macrotask, by which time the requests already queued for the object have joined, and all
 * of them are applied by one `apply` call (one transaction, one commit, instead of one each).
 */
export class Coalescer<T, R> {
  readonly #apply: (batch: T[]) => R[];
  readonly #waiting: { input: T; resolve: (result: R) => void; reject: (err: unknown) => void }[] = [];

  /** `apply` gets the batch in arrival order and returns one result per input, in order. */
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
    let results: R[];
    try {
      results = this.#apply(batch.map((entry) => entry.input));
    } catch (err) {
      batch.forEach((entry) => entry.reject(err));
      return;
    }
    batch.forEach((entry, i) => entry.resolve(results[i] as R));
  }
}
