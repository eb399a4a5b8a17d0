/** What callers hand a GroupChat: a group's profile, and a message to post. */

export interface GroupProfile {
  name: string;
  avatarUrl: string;
  introduction: string;
  extra: string;
}

export interface PostInput {
  /** 0 = the business server (LogicInt.SendMessage): no membership check, no sender copy. */
  senderId: number;
  deviceId: number;
  clientMsgId: string;
  /** Encoded pb.Message without seq, made by the sender's inbox. */
  body: Uint8Array;
  persist: boolean;
}
