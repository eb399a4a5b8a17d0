/** The connect() calls waiting for the connection to be online, settled all at once. */
import type { GimError } from "./errors";

export class Waiters {
  readonly #pending: { resolve(): void; reject(err: GimError): void }[] = [];

  /**
   * A promise settled by the next resolveAll or rejectAll. Marked as handled: a disconnect() can
   * reject it while connect() still awaits the seq store, before the caller holds it.
   */
  add(): Promise<void> {
    const done = new Promise<void>((resolve, reject) => this.#pending.push({ resolve, reject }));
    done.catch(() => undefined);
    return done;
  }

  resolveAll(): void {
    for (const waiter of this.#pending.splice(0)) {
      waiter.resolve();
    }
  }

  rejectAll(err: GimError): void {
    for (const waiter of this.#pending.splice(0)) {
      waiter.reject(err);
    }
  }
}
