/**
 * What a sender's inbox needs to know about users, cached so that a send costs no directory
 * lookup: its own profile (put in every message) and which receivers exist.
 */
import { ErrorCode } from "../../proto/codes";
import { AppError } from "../../proto/errors";
import { getUser } from "../../workers/directory";
import type { Env } from "../../workers/env";
import type { SenderProfile } from "./send";

const PROFILE_TTL_MS = 60_000;

export class Peers {
  readonly #env: Env;
  readonly #userId: number;
  #profile: (SenderProfile & { loadedAt: number }) | null = null;
  readonly #known = new Set<number>();
  /** Directory look-ups in flight, so concurrent sends to a new receiver share one. */
  readonly #checking = new Map<number, Promise<boolean>>();

  constructor(env: Env, userId: number) {
    this.#env = env;
    this.#userId = userId;
  }

  /** Throws USER_NOT_FOUND for an unknown user. Users are never deleted, so a hit is kept. */
  async requireUser(userId: number): Promise<void> {
    if (userId === this.#userId || this.#known.has(userId)) {
      return;
    }
    if (!(await this.#exists(userId))) {
      throw new AppError(ErrorCode.USER_NOT_FOUND, `user ${userId} does not exist`);
    }
  }

  /**
   * Starts the look-up requireUser will need, as a send arrives: sends are prepared one after
   * another, and a queue of sends to new receivers then waits for one directory round trip in
   * all, not one each.
   */
  lookAhead(userId: number): void {
    if (userId > 0 && userId !== this.#userId && !this.#known.has(userId)) {
      this.#exists(userId).catch(() => undefined); // requireUser reports a failure
    }
  }

  #exists(userId: number): Promise<boolean> {
    let check = this.#checking.get(userId);
    if (!check) {
      check = getUser(this.#env, userId)
        .then((user) => {
          if (user) {
            this.#known.add(userId);
          }
          return Boolean(user);
        })
        .finally(() => this.#checking.delete(userId));
      this.#checking.set(userId, check);
    }
    return check;
  }

  /** This user's profile, cached for PROFILE_TTL_MS (UpdateUser clears it at once). */
  async senderProfile(): Promise<SenderProfile> {
    const now = Date.now();
    if (!this.#profile || now - this.#profile.loadedAt > PROFILE_TTL_MS) {
      const user = await getUser(this.#env, this.#userId);
      this.#profile = { nickname: user?.nickname ?? "", avatarUrl: user?.avatarUrl ?? "", extra: user?.extra ?? "", loadedAt: now };
    }
    return this.#profile;
  }

  forgetProfile(): void {
    this.#profile = null;
  }
}
