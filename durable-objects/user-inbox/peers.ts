/**
 * What a sender's inbox needs to know about users, kept in its SQLite so that a send costs no
 * directory look-up, also after the object restarts: its own profile (put in every message) and
 * which receivers exist; and, in memory, which groups exist.
 */
import { ErrorCode } from "../../proto/codes";
import { AppError } from "../../proto/errors";
import { businessConfig } from "../../workers/business/business-client";
import { getUser, requireGroup } from "../../workers/directory";
import type { Env } from "../../workers/env";
import type { SenderProfile } from "./send";
import type { Statements } from "./statements";

/**
 * Age after which the own profile is read again: the business server's cache time when there
 * is one (its profiles change without telling gim), but not more often than every 10 s, else a
 * minute (the built-in UpdateUser tells the inbox at once; this is only a safety net).
 */
const BUILT_IN_PROFILE_REFRESH_MS = 60_000;
const MIN_PROFILE_REFRESH_MS = 10_000;

type StoredProfile = SenderProfile & { loadedAt: number };

export class Peers {
  readonly #env: Env;
  readonly #userId: number;
  readonly #stmts: Statements;
  #profile: StoredProfile | null = null;
  /** A read of the own profile in flight, shared by the sends that wait for it. */
  #profileLoad: Promise<StoredProfile> | null = null;
  /** Bumped when the profile changes, so a read started before the change is not kept. */
  #profileVersion = 0;
  /** Receivers known to exist, from the table or the directory (the table is the truth). */
  readonly #known = new Set<number>();
  /** Receivers the directory confirmed that the table does not have yet. */
  readonly #unwritten = new Set<number>();
  /** Directory look-ups in flight, so concurrent sends to a new receiver share one. */
  readonly #checking = new Map<number, Promise<boolean>>();
  /** Groups found in the directory by this object (a dissolved one's object still answers). */
  readonly #knownGroups = new Set<number>();

  constructor(env: Env, userId: number, stmts: Statements) {
    this.#env = env;
    this.#userId = userId;
    this.#stmts = stmts;
  }

  /** Throws USER_NOT_FOUND for an unknown user. */
  async requireUser(userId: number): Promise<void> {
    if (this.#isKnown(userId)) {
      return;
    }
    if (!(await this.#exists(userId))) {
      throw new AppError(ErrorCode.USER_NOT_FOUND, `user ${userId} does not exist`);
    }
  }

  /** Throws GROUP_NOT_EXIST for an id that is no group, before its object is addressed (and created). */
  async requireGroup(groupId: number): Promise<void> {
    if (!this.#knownGroups.has(groupId)) {
      await requireGroup(this.#env, groupId);
      this.#knownGroups.add(groupId);
    }
  }

  /**
   * Starts the look-up requireUser will need, as a send arrives: sends are prepared one after
   * another, and a queue of sends to new receivers then waits for one directory round trip in
   * all, not one each.
   */
  lookAhead(userId: number): void {
    if (userId > 0 && !this.#isKnown(userId)) {
      this.#exists(userId).catch(() => undefined); // requireUser reports a failure
    }
  }

  /**
   * This user's profile for the next message. A stored one is used at once; when it is older
   * than the refresh time it is read again for the sends after this one, so no send waits for
   * the directory and sends go on while the business server is down. Only the first send (and
   * the first after a change) waits for the read.
   */
  async senderProfile(): Promise<SenderProfile> {
    this.#profile ??= this.#storedProfile();
    if (!this.#profile) {
      return this.#loadProfile();
    }
    if (Date.now() - this.#profile.loadedAt > this.#profileRefreshMs()) {
      this.#loadProfile().catch((err: unknown) => console.warn(`UserInbox:${this.#userId} profile not refreshed`, err));
    }
    return this.#profile;
  }

  /**
   * Writes the receivers found since the last call; run inside a transaction the inbox writes
   * anyway (the send to them), so a burst of first messages to new contacts costs no commit
   * each. One not written before the object stops is looked up again later. (The profile, read
   * at most once per refresh time, is written when it is read.)
   */
  writeFoundReceivers(): void {
    for (const userId of this.#unwritten) {
      this.#stmts.addKnownUser(userId);
    }
    this.#unwritten.clear();
  }

  /** The user changed the profile: the next send reads it again. */
  forgetProfile(): void {
    this.#profileVersion += 1;
    this.#profile = null;
    this.#profileLoad = null;
    this.#stmts.deleteOwnProfile();
  }

  #isKnown(userId: number): boolean {
    if (userId === this.#userId || this.#known.has(userId)) {
      return true;
    }
    if (this.#stmts.isKnownUser(userId)) {
      this.#known.add(userId);
      return true;
    }
    return false;
  }

  #exists(userId: number): Promise<boolean> {
    let check = this.#checking.get(userId);
    if (!check) {
      check = getUser(this.#env, userId)
        .then((user) => {
          if (user && !this.#known.has(userId)) {
            this.#known.add(userId);
            this.#unwritten.add(userId);
          }
          return Boolean(user);
        })
        .finally(() => this.#checking.delete(userId));
      this.#checking.set(userId, check);
    }
    return check;
  }

  #profileRefreshMs(): number {
    const business = businessConfig(this.#env);
    return business ? Math.max(Number.isFinite(business.cacheMs) ? business.cacheMs : 0, MIN_PROFILE_REFRESH_MS) : BUILT_IN_PROFILE_REFRESH_MS;
  }

  #storedProfile(): StoredProfile | null {
    const row = this.#stmts.ownProfile();
    return row ? { nickname: row.nickname, avatarUrl: row.avatar_url, extra: row.extra, loadedAt: row.loaded_at } : null;
  }

  #loadProfile(): Promise<StoredProfile> {
    if (!this.#profileLoad) {
      const version = this.#profileVersion;
      const loadedAt = Date.now();
      const load = getUser(this.#env, this.#userId)
        .then((user) => {
          const profile = { nickname: user?.nickname ?? "", avatarUrl: user?.avatarUrl ?? "", extra: user?.extra ?? "", loadedAt };
          if (version === this.#profileVersion) {
            this.#profile = profile;
            this.#stmts.putOwnProfile(profile.nickname, profile.avatarUrl, profile.extra, loadedAt);
          }
          return profile;
        })
        .finally(() => {
          if (this.#profileLoad === load) {
            this.#profileLoad = null;
          }
        });
      this.#profileLoad = load;
    }
    return this.#profileLoad;
  }
}
