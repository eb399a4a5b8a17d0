/** The one alarm of a Durable Object, shared by everything that needs a later wake-up. */

export class AlarmClock {
  readonly #storage: DurableObjectStorage;
  #at: number | null = null;

  constructor(storage: DurableObjectStorage) {
    this.#storage = storage;
  }

  /** Loads the stored alarm time; run once from the constructor under blockConcurrencyWhile. */
  async load(): Promise<void> {
    this.#at = await this.#storage.getAlarm();
  }

  /** Makes sure the alarm fires no later than `at` (ms since epoch); a sooner one stays. */
  arm(at: number): void {
    if (this.#at === null || at < this.#at) {
      this.#at = at;
      void this.#storage.setAlarm(at);
    }
  }

  /** Call first in alarm(): the alarm that fired is no longer set. */
  fired(): void {
    this.#at = null;
  }
}
