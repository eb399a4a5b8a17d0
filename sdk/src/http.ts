/**
 * HttpApi: gim's LogicExt and BusinessExt over the Connect unary form, with binary protobuf
 * bodies (`application/proto`), so requests and answers are the generated `pb` types.
 */
import { pb } from "../../proto/gen/pb.js";
import { ClientErrorCode, ErrorCode, GimError } from "./errors";

/** Who calls: sent as gim's metadata headers `user_id`, `device_id`, `token`. */
export interface Session {
  userId: number;
  deviceId: number;
  token: string;
}

/** The static side of a generated message class, as far as HttpApi needs it. */
interface Codec<I, T> {
  encode(message: I): { finish(): Uint8Array };
  decode(bytes: Uint8Array): T;
}

export interface HttpApiOptions {
  /** `http://127.0.0.1:8787` or the deployed origin; no trailing slash needed. */
  baseUrl: string;
  /** The credentials of calls that need them (all but RegisterDevice and SignIn). */
  session?: () => Session | null;
  /** Per-call timeout; 15 s by default. */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

const DEFAULT_TIMEOUT_MS = 15_000;

export class HttpApi {
  readonly #baseUrl: string;
  readonly #session: () => Session | null;
  readonly #timeoutMs: number;
  readonly #fetch: typeof fetch;

  constructor(options: HttpApiOptions) {
    this.#baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.#session = options.session ?? (() => null);
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
  }

  /**
   * Calls `POST /<service>/<method>` with a binary body and decodes the answer.
   * @throws GimError with the server's gimCode, or UNAVAILABLE / DEADLINE_EXCEEDED
   */
  async call<I, T>(path: string, req: Codec<I, unknown>, res: Codec<never, T>, body: I, auth = true): Promise<T> {
    const headers: Record<string, string> = { "content-type": "application/proto" };
    if (auth) {
      const session = this.#session();
      if (!session) {
        throw new GimError(ErrorCode.UNAUTHORIZED, "not signed in");
      }
      Object.assign(headers, { user_id: String(session.userId), device_id: String(session.deviceId), token: session.token });
    }
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.#timeoutMs);
    let response: Response;
    let bytes: Uint8Array;
    try {
      response = await this.#fetch(`${this.#baseUrl}/${path}`, {
        method: "POST",
        headers,
        body: req.encode(body).finish() as Uint8Array<ArrayBuffer>,
        signal: controller.signal,
      });
      bytes = new Uint8Array(await response.arrayBuffer());
    } catch (err) {
      const timedOut = controller.signal.aborted;
      throw new GimError(
        timedOut ? ClientErrorCode.DEADLINE_EXCEEDED : ClientErrorCode.UNAVAILABLE,
        timedOut ? `${path}: no answer within ${this.#timeoutMs} ms` : `${path}: server unreachable`,
        { cause: err },
      );
    } finally {
      clearTimeout(timer);
    }
    if (!response.ok) {
      throw errorFromBody(path, response.status, bytes);
    }
    return res.decode(bytes);
  }

  // ---- pb.LogicExt: devices, messages, rooms ----

  registerDevice(req: pb.IRegisterDeviceReq): Promise<pb.RegisterDeviceResp> {
    return this.call("pb.LogicExt/RegisterDevice", pb.RegisterDeviceReq, pb.RegisterDeviceResp, req, false);
  }
  sendMessage(req: pb.ISendMessageReq): Promise<pb.SendMessageResp> {
    return this.call("pb.LogicExt/SendMessage", pb.SendMessageReq, pb.SendMessageResp, req);
  }
  pushRoom(req: pb.IPushRoomReq): Promise<pb.Empty> {
    return this.call("pb.LogicExt/PushRoom", pb.PushRoomReq, pb.Empty, req);
  }
  getRoomInfo(roomId: number): Promise<pb.GetRoomInfoResp> {
    return this.call("pb.LogicExt/GetRoomInfo", pb.GetRoomInfoReq, pb.GetRoomInfoResp, { roomId });
  }

  // ---- pb.LogicExt: friends ----

  addFriend(req: pb.IAddFriendReq): Promise<pb.Empty> {
    return this.call("pb.LogicExt/AddFriend", pb.AddFriendReq, pb.Empty, req);
  }
  agreeAddFriend(req: pb.IAgreeAddFriendReq): Promise<pb.Empty> {
    return this.call("pb.LogicExt/AgreeAddFriend", pb.AgreeAddFriendReq, pb.Empty, req);
  }
  rejectAddFriend(userId: number): Promise<pb.Empty> {
    return this.call("pb.LogicExt/RejectAddFriend", pb.RejectAddFriendReq, pb.Empty, { userId });
  }
  setFriend(req: pb.ISetFriendReq): Promise<pb.SetFriendResp> {
    return this.call("pb.LogicExt/SetFriend", pb.SetFriendReq, pb.SetFriendResp, req);
  }
  async getFriends(): Promise<pb.IFriend[]> {
    return (await this.call("pb.LogicExt/GetFriends", pb.Empty, pb.GetFriendsResp, {})).friends;
  }
  async getFriendRequests(): Promise<pb.IFriendRequest[]> {
    return (await this.call("pb.LogicExt/GetFriendRequests", pb.Empty, pb.GetFriendRequestsResp, {})).requests;
  }
  deleteFriend(friendId: number): Promise<pb.Empty> {
    return this.call("pb.LogicExt/DeleteFriend", pb.DeleteFriendReq, pb.Empty, { friendId });
  }

  // ---- pb.LogicExt: groups ----

  async createGroup(req: pb.ICreateGroupReq): Promise<number> {
    return (await this.call("pb.LogicExt/CreateGroup", pb.CreateGroupReq, pb.CreateGroupResp, req)).groupId;
  }
  updateGroup(req: pb.IUpdateGroupReq): Promise<pb.Empty> {
    return this.call("pb.LogicExt/UpdateGroup", pb.UpdateGroupReq, pb.Empty, req);
  }
  async getGroup(groupId: number): Promise<pb.IGroup | null> {
    return (await this.call("pb.LogicExt/GetGroup", pb.GetGroupReq, pb.GetGroupResp, { groupId })).group ?? null;
  }
  async getGroups(): Promise<pb.IGroup[]> {
    return (await this.call("pb.LogicExt/GetGroups", pb.Empty, pb.GetGroupsResp, {})).groups;
  }
  async addGroupMembers(groupId: number, userIds: number[]): Promise<number[]> {
    return (await this.call("pb.LogicExt/AddGroupMembers", pb.AddGroupMembersReq, pb.AddGroupMembersResp, { groupId, userIds })).userIds;
  }
  updateGroupMember(req: pb.IUpdateGroupMemberReq): Promise<pb.Empty> {
    return this.call("pb.LogicExt/UpdateGroupMember", pb.UpdateGroupMemberReq, pb.Empty, req);
  }
  deleteGroupMember(groupId: number, userId: number): Promise<pb.Empty> {
    return this.call("pb.LogicExt/DeleteGroupMember", pb.DeleteGroupMemberReq, pb.Empty, { groupId, userId });
  }
  async getGroupMembers(groupId: number): Promise<pb.IGroupMember[]> {
    return (await this.call("pb.LogicExt/GetGroupMembers", pb.GetGroupMembersReq, pb.GetGroupMembersResp, { groupId })).members;
  }
  leaveGroup(groupId: number): Promise<pb.Empty> {
    return this.call("pb.LogicExt/LeaveGroup", pb.LeaveGroupReq, pb.Empty, { groupId });
  }
  dissolveGroup(groupId: number): Promise<pb.Empty> {
    return this.call("pb.LogicExt/DissolveGroup", pb.DissolveGroupReq, pb.Empty, { groupId });
  }
  transferGroupOwner(groupId: number, userId: number): Promise<pb.Empty> {
    return this.call("pb.LogicExt/TransferGroupOwner", pb.TransferGroupOwnerReq, pb.Empty, { groupId, userId });
  }

  // ---- pb.BusinessExt: sign-in and users ----

  signIn(req: pb.ISignInReq): Promise<pb.SignInResp> {
    return this.call("pb.BusinessExt/SignIn", pb.SignInReq, pb.SignInResp, req, false);
  }
  /** A user's profile; 0 = the caller. */
  async getUser(userId = 0): Promise<pb.IUser | null> {
    return (await this.call("pb.BusinessExt/GetUser", pb.GetUserReq, pb.GetUserResp, { userId })).user ?? null;
  }
  updateUser(req: pb.IUpdateUserReq): Promise<pb.Empty> {
    return this.call("pb.BusinessExt/UpdateUser", pb.UpdateUserReq, pb.Empty, req);
  }
  searchUser(req: pb.ISearchUserReq): Promise<pb.SearchUserResp> {
    return this.call("pb.BusinessExt/SearchUser", pb.SearchUserReq, pb.SearchUserResp, req);
  }
}

/** The Connect error body `{code, message, gimCode}` as a GimError. */
function errorFromBody(path: string, status: number, bytes: Uint8Array): GimError {
  let body: { code?: unknown; message?: unknown; gimCode?: unknown } = {};
  try {
    body = JSON.parse(new TextDecoder().decode(bytes)) as typeof body;
  } catch {
    // not a Connect error body (a proxy's error page): keep the status
  }
  const fallback = status === 502 || status === 503 || status === 504 ? ClientErrorCode.UNAVAILABLE : ErrorCode.INTERNAL;
  const code = typeof body.gimCode === "number" ? body.gimCode : fallback;
  const message = typeof body.message === "string" && body.message ? body.message : `${path} answered HTTP ${status}`;
  return new GimError(code, message, { status, connectCode: typeof body.code === "string" ? body.code : undefined });
}
