/**
 * GroupChat: one per group. Owns the members and roles, the group's one order of messages and
 * notices (its log), and the durable fan-out of that log to every member inbox (invariant 2).
 * Membership changes are entries of the same log, so who receives what follows the log order.
 */
import { DurableObject } from "cloudflare:workers";
import { ErrorCode } from "../../proto/codes";
import { AppError, toResult, type Result } from "../../proto/errors";
import { pb } from "../../proto/gen/pb.js";
import { getUsers } from "../../workers/directory";
import type { Env } from "../../workers/env";
import { userInbox } from "../../workers/stubs";
import { AlarmClock } from "../shared/alarm";
import { EventOutbox, eventsConfig } from "../shared/event-outbox";
import { migrate } from "../shared/migrate";
import { GroupFanout } from "./fanout";
import type { GroupProfile, PostInput } from "./inputs";
import { writeMirror } from "./mirror";
import { memberOf, notices } from "./notices";
import { GroupPruning } from "./pruning";
import { pushTransient } from "./transient";
import { checkMemberUpdate, checkRemoval, maxGroupMembers, requireAdmin, requireGroup, requireMember, requireOwner, requireRoomFor } from "./rules";
import { GROUP_MIGRATIONS } from "./schema";
import { createStatements, type InfoRow, type MemberRow, type Statements } from "./statements";

const CURSOR_SAVE_DELAY_MS = 200;
const RETRY_MIN_MS = 1_000;
const RETRY_MAX_MS = 60_000;

export class GroupChat extends DurableObject<Env> {
  readonly #stmts: Statements;
  readonly #fanout: GroupFanout;
  readonly #groupId: number;
  readonly #maxMembers: number;
  readonly #pruning: GroupPruning;
  readonly #alarm: AlarmClock;
  readonly #events: EventOutbox;
  #saveTimer: ReturnType<typeof setTimeout> | null = null;
  #retryDelay = RETRY_MIN_MS;
  /** Active members (not the removed ones still draining), kept in step with the table. */
  #members = new Map<number, MemberRow>();
  #info: InfoRow | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#groupId = Number(ctx.id.name?.replace(/^group:/, ""));
    this.#maxMembers = maxGroupMembers(env);
    this.#pruning = new GroupPruning(env);
    migrate(ctx.storage.sql, GROUP_MIGRATIONS);
    this.#stmts = createStatements(ctx.storage.sql);
    this.#fanout = new GroupFanout(this.#stmts, (userId, items) => userInbox(this.env, userId).deliver(items), {
      concurrency: Number(env.GROUP_FANOUT_CONCURRENCY ?? 64),
      batchRows: 200,
    });
    this.#reload();
    this.#alarm = new AlarmClock(ctx.storage);
    void ctx.blockConcurrencyWhile(() => this.#alarm.load());
    this.#events = new EventOutbox(ctx.storage.sql, eventsConfig(env), `g${this.#groupId}`, (at) => this.#alarm.arm(at));
  }

  /** Creates the group (idempotent): the creator is owner and admin, the others members. */
  async create(ownerId: number, profile: GroupProfile, memberIds: number[]): Promise<Result<void>> {
    return toResult(async () => {
      if (this.#info) {
        return;
      }
      const ids = [...new Set(memberIds)].filter((id) => id !== ownerId);
      this.#requireRoom(1 + ids.length);
      const users = await getUsers(this.env, [ownerId, ...ids]);
      const now = Date.now();
      this.#change(() => {
        this.#stmts.insertInfo({ group_id: this.#groupId, name: profile.name, avatar_url: profile.avatarUrl, introduction: profile.introduction, extra: profile.extra, owner_id: ownerId, created_at: now, updated_at: now });
        const gseq = this.#appendNotices(notices.added(this.#groupId, ownerId, users.get(ownerId)?.nickname ?? "", ids.map((id) => memberOf(users.get(id), id)), now), now);
        this.#addMember(ownerId, pb.MemberType.GMT_ADMIN, now, gseq - 1);
        ids.forEach((id) => this.#addMember(id, pb.MemberType.GMT_MEMBER, now, gseq - 1));
        this.#stmts.markMirrorDirty([0, ownerId, ...ids]);
        this.#events.add("group.created", { group_id: this.#groupId, owner_id: ownerId, member_ids: [ownerId, ...ids] });
      });
      await this.#afterChange();
    });
  }

  /** Orders and persists a group message, applies the sender's copy, starts the fan-out; resolves the sender's seq. */
  async post(input: PostInput): Promise<Result<number>> {
    return toResult(async () => {
      requireGroup(this.#info);
      if (input.senderId !== 0) {
        requireMember(this.#members, input.senderId);
      }
      if (!input.persist) {
        await pushTransient(this.env, [...this.#members.keys()], input.body, input.senderId, input.deviceId);
        return 0;
      }
      const now = Date.now();
      const earlier = input.clientMsgId ? this.#stmts.sentGseq(input.senderId, input.clientMsgId) : undefined;
      const gseq =
        earlier ??
        this.#write(() => {
          const next = this.#fanout.nextGseq();
          this.#stmts.appendLog(next, this.#msgId(next), input.body, input.senderId, input.deviceId, now);
          if (input.clientMsgId) {
            this.#stmts.insertSent(input.senderId, input.clientMsgId, next);
          }
          return next;
        });
      this.#armAlarm(RETRY_MIN_MS * 5);
      if (input.senderId === 0) {
        void this.#kick();
        return 0;
      }
      const seq = (await this.#fanout.deliverTo(input.senderId, this.#msgId(gseq))) ?? (await userInbox(this.env, input.senderId).seqOf(this.#msgId(gseq)));
      void this.#kick();
      if (seq === undefined) {
        throw new AppError(ErrorCode.INTERNAL, "the sender's copy is missing");
      }
      return seq;
    });
  }

  async update(callerId: number, profile: GroupProfile): Promise<Result<void>> {
    return toResult(async () => {
      requireGroup(this.#info);
      requireAdmin(this.#members, callerId, "update the group");
      const optName = await this.#nickname(callerId);
      const now = Date.now();
      this.#change(() => {
        this.#stmts.updateInfo(profile.name, profile.avatarUrl, profile.introduction, profile.extra, now);
        this.#appendNotice(notices.update(this.#groupId, callerId, optName, profile, now), now);
        this.#stmts.markMirrorDirty([0]);
        this.#events.add("group.updated", { group_id: this.#groupId, by: callerId });
      });
      await this.#afterChange();
    });
  }

  /** Adds members; resolves the ids that were already members (gim's AddGroupMembers answer). */
  async addMembers(callerId: number, userIds: number[]): Promise<Result<number[]>> {
    return toResult(async () => {
      requireGroup(this.#info);
      const active = this.#members;
      requireAdmin(active, callerId, "add members");
      const unique = [...new Set(userIds)];
      const already = unique.filter((id) => active.has(id));
      const fresh = unique.filter((id) => !active.has(id));
      if (fresh.length === 0) {
        return already;
      }
      this.#requireRoom(active.size + fresh.length);
      const users = await getUsers(this.env, [callerId, ...fresh]);
      const missing = fresh.find((id) => !users.has(id));
      if (missing !== undefined) {
        throw new AppError(ErrorCode.USER_NOT_FOUND, `user ${missing} does not exist`);
      }
      // A removed member still receiving what it was owed gets it before it is added again.
      await Promise.all(fresh.map((id) => this.#fanout.deliverTo(id)));
      // Other calls ran during those waits: check again, with no wait until the change is made.
      requireGroup(this.#info);
      requireAdmin(this.#members, callerId, "add members");
      const added = fresh.filter((id) => !this.#members.has(id));
      if (added.length > 0) {
        this.#requireRoom(this.#members.size + added.length);
        const now = Date.now();
        this.#change(() => {
          const gseq = this.#appendNotices(notices.added(this.#groupId, callerId, users.get(callerId)?.nickname ?? "", added.map((id) => memberOf(users.get(id), id)), now), now);
          added.forEach((id) => this.#addMember(id, pb.MemberType.GMT_MEMBER, now, gseq - 1));
          this.#stmts.markMirrorDirty([0, ...added]);
          this.#events.add("group.members_added", { group_id: this.#groupId, by: callerId, user_ids: added });
        });
        await this.#afterChange();
      }
      const addedHere = new Set(added);
      return unique.filter((id) => !addedHere.has(id));
    });
  }

  async updateMember(callerId: number, userId: number, memberType: number, remarks: string, extra: string): Promise<Result<void>> {
    return toResult(async () => {
      const info = requireGroup(this.#info);
      checkMemberUpdate(info, this.#members, callerId, userId, memberType);
      this.#change(() => {
        this.#stmts.updateMember(userId, memberType, remarks, extra);
        this.#stmts.markMirrorDirty([userId]);
        this.#events.add("group.member_updated", { group_id: this.#groupId, by: callerId, user_id: userId, member_type: pb.MemberType[memberType] });
      });
      await this.#afterChange();
    });
  }

  /** Removes a member (or the caller itself: leaving); the removed member gets the notice too. */
  async removeMember(callerId: number, userId: number): Promise<Result<void>> {
    return toResult(async () => {
      checkRemoval(requireGroup(this.#info), this.#members, callerId, userId);
      const optName = await this.#nickname(callerId);
      checkRemoval(requireGroup(this.#info), this.#members, callerId, userId); // again: others ran meanwhile
      const now = Date.now();
      this.#change(() => {
        const gseq = this.#appendNotice(notices.removed(this.#groupId, callerId, optName, userId, now), now);
        this.#endMembership(userId, gseq);
        this.#stmts.markMirrorDirty([0, userId]);
        this.#events.add("group.member_removed", { group_id: this.#groupId, by: callerId, user_id: userId });
      });
      await this.#afterChange();
    });
  }

  async transferOwner(callerId: number, userId: number): Promise<Result<void>> {
    return toResult(async () => {
      const transferable = (): MemberRow => {
        requireOwner(requireGroup(this.#info), callerId, "transfer ownership");
        const member = this.#members.get(userId);
        if (!member) {
          throw new AppError(ErrorCode.USER_NOT_FOUND, `user ${userId} is not a member of this group`);
        }
        return member;
      };
      transferable();
      const optName = await this.#nickname(callerId);
      const target = transferable(); // again: others ran meanwhile
      const now = Date.now();
      this.#change(() => {
        this.#stmts.setOwner(userId, now);
        this.#stmts.updateMember(userId, pb.MemberType.GMT_ADMIN, target.remarks, target.extra);
        this.#appendNotice(notices.transferred(this.#groupId, callerId, optName, userId, now), now);
        this.#stmts.markMirrorDirty([0, userId]);
        this.#events.add("group.owner_transferred", { group_id: this.#groupId, by: callerId, owner_id: userId });
      });
      await this.#afterChange();
    });
  }

  /** Dissolves the group (owner only): every member gets the notice, then nothing more. */
  async dissolve(callerId: number): Promise<Result<void>> {
    return toResult(async () => {
      requireOwner(requireGroup(this.#info), callerId, "dissolve the group");
      const optName = await this.#nickname(callerId);
      requireOwner(requireGroup(this.#info), callerId, "dissolve the group"); // again: others ran meanwhile
      const now = Date.now();
      const members = [...this.#members.keys()];
      this.#change(() => {
        const gseq = this.#appendNotice(notices.dissolved(this.#groupId, callerId, optName, now), now);
        members.forEach((id) => this.#endMembership(id, gseq));
        this.#stmts.dissolve(now);
        this.#stmts.markMirrorDirty([0, ...members]);
        this.#events.add("group.dissolved", { group_id: this.#groupId, by: callerId });
      });
      await this.#afterChange();
    });
  }

  /** The group's profile and member count (gim's Group). */
  async info(): Promise<Result<pb.IGroup>> {
    return toResult(() => {
      const info = requireGroup(this.#info);
      return {
        groupId: info.group_id,
        name: info.name,
        avatarUrl: info.avatar_url,
        introduction: info.introduction,
        extra: info.extra,
        userMum: this.#members.size,
        createTime: Math.floor(info.created_at / 1000),
        updateTime: Math.floor(info.updated_at / 1000),
        ownerId: info.owner_id,
      };
    });
  }

  /** Members and roles, for members only (gim's 10011 otherwise). */
  async members(callerId: number): Promise<Result<Pick<MemberRow, "user_id" | "member_type" | "remarks" | "extra">[]>> {
    return toResult(() => {
      requireGroup(this.#info);
      const active = this.#members;
      requireMember(active, callerId);
      return [...active.values()].map(({ user_id, member_type, remarks, extra }) => ({ user_id, member_type, remarks, extra }));
    });
  }

  override async alarm(): Promise<void> {
    this.#alarm.fired();
    this.#saveCursors();
    await this.#kick();
    await this.#flushMirror();
    await this.#events.flush();
    const retry = this.#fanout.pending() || this.#stmts.mirrorDirty().length > 0;
    this.#retryDelay = retry ? Math.min(this.#retryDelay * 2, RETRY_MAX_MS) : RETRY_MIN_MS;
    if (retry) {
      this.#armAlarm(this.#retryDelay);
    }
  }

  // ---- private helpers ----

  #msgId(gseq: number): string {
    return `g${this.#groupId}:${gseq}`;
  }

  #requireRoom(total: number): void {
    requireRoomFor(total, this.#maxMembers);
  }

  /** A user's nickname for a notice ("" when the business does not know it). */
  async #nickname(userId: number): Promise<string> {
    return (await getUsers(this.env, [userId])).get(userId)?.nickname ?? "";
  }

  /** Runs `fn` in one SQLite transaction; a failure reloads the in-memory head. */
  #write<T>(fn: () => T): T {
    try {
      return this.ctx.storage.transactionSync(fn);
    } catch (err) {
      this.#fanout.resetHead();
      throw err;
    }
  }

  /** A write that changes the profile or the members: the cached copies are reloaded. */
  #change(fn: () => void): void {
    try {
      this.#write(fn);
    } finally {
      this.#reload();
    }
  }

  #appendNotice(body: Uint8Array, now: number): number {
    const gseq = this.#fanout.nextGseq();
    this.#stmts.appendLog(gseq, this.#msgId(gseq), body, 0, 0, now);
    return gseq;
  }

  /** Appends notices in order; returns the first one's gseq. */
  #appendNotices(bodies: Uint8Array[], now: number): number {
    return bodies.map((body) => this.#appendNotice(body, now))[0] as number;
  }

  #addMember(userId: number, memberType: number, now: number, cursor: number): void {
    this.#stmts.insertMember(userId, memberType, now, cursor);
    this.#fanout.track(userId, cursor, null);
  }

  #endMembership(userId: number, untilGseq: number): void {
    this.#stmts.endMembership(userId, untilGseq);
    this.#fanout.end(userId, untilGseq);
  }

  /** After a membership or profile change: deliver the notice and update the D1 directory. */
  async #afterChange(): Promise<void> {
    this.#events.kick();
    this.#armAlarm(RETRY_MIN_MS * 5);
    void this.#kick();
    await this.#flushMirror();
  }

  async #kick(): Promise<void> {
    await this.#fanout.kickAll();
    if (this.#fanout.failed) {
      this.#armAlarm(this.#retryDelay);
    }
    this.#scheduleCursorSave();
  }

  #scheduleCursorSave(): void {
    if (this.#saveTimer === null && this.#fanout.unsaved > 0) {
      this.#saveTimer = setTimeout(() => {
        this.#saveTimer = null;
        this.#saveCursors();
      }, CURSOR_SAVE_DELAY_MS);
    }
  }

  #saveCursors(): void {
    this.#write(() => this.#pruning.prune(this.#stmts, this.#fanout.saveCursors().lowestCursor));
  }

  async #flushMirror(): Promise<void> {
    const dirty = this.#stmts.mirrorDirty();
    const info = this.#info;
    if (dirty.length === 0 || !info) {
      return;
    }
    try {
      await writeMirror(this.env.DB, info, this.#members, dirty);
      this.#stmts.clearMirrorDirty(dirty);
    } catch (err) {
      console.warn(`GroupChat:${this.#groupId} directory update failed, will retry`, err);
      this.#armAlarm(this.#retryDelay);
    }
  }

  #armAlarm(inMs: number): void {
    this.#alarm.arm(Date.now() + inMs);
  }

  #reload(): void {
    this.#info = this.#stmts.info();
    this.#members = new Map(this.#stmts.allMembers().filter((m) => m.until_gseq === null).map((m) => [m.user_id, m]));
  }
}
