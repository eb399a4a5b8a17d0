// The page's conversations: messages grouped by conversation, kept in localStorage per user
// together with the inbox seq they reach, so a reload or a second tab of the same user resumes
// from there (the store is also the SDK's SeqStore). Rooms stay in memory.
import { decodeContent, describeContent, pb } from "./gim-sdk.js";

const MAX_KEPT = 2000;

/** "u:<peer>", "g:<group>", "r:<room>" or "u:0" (notifications) for a message as seen by user `me`. */
export function conversationKey(message, me) {
  if (message.receiverType === pb.ReceiverType.RT_GROUP) {
    return `g:${message.receiverId}`;
  }
  if (message.receiverType === pb.ReceiverType.RT_ROOM) {
    return `r:${message.receiverId}`;
  }
  if (message.sender?.senderType === pb.SenderType.ST_SYSTEM) {
    return "u:0"; // notifications to me (friend requests and answers)
  }
  const from = message.sender?.senderId ?? 0;
  return `u:${from === me || from === 0 ? message.receiverId : from}`;
}

/** The plain record the page keeps and shows for a message. */
export function toRecord(message, me) {
  const system = message.sender?.senderType === pb.SenderType.ST_SYSTEM;
  const content = decodeContent(message);
  return {
    key: conversationKey(message, me),
    seq: message.seq,
    senderId: message.sender?.senderId ?? 0,
    senderName: message.sender?.nickname ?? "",
    mine: !system && message.sender?.senderId === me,
    system,
    text: describeContent(content),
    time: message.sendTime || Date.now(),
    clientMsgId: message.clientMsgId || "",
    status: "sent",
  };
}

export class ConversationStore {
  constructor(userId, storage = globalThis.localStorage) {
    this.userId = userId;
    this.storage = storage;
    this.storageKey = `gim:history:${userId}`;
    /** @type {Map<string, object[]>} */
    this.byKey = new Map();
    this.lastSeq = 0;
    this.unread = new Map();
    this.#load();
  }

  /** SeqStore for the SDK: the seq is saved with the messages it covers, in one write. */
  load(userId) {
    return userId === this.userId ? this.lastSeq : 0;
  }

  save(userId, seq) {
    if (userId === this.userId && seq > this.lastSeq) {
      this.lastSeq = seq;
      this.persist();
    }
  }

  messages(key) {
    return this.byKey.get(key) ?? [];
  }

  /** Adds a record; a record with the same seq, or a pending one with its clientMsgId, is replaced. Returns false for a repeat. */
  add(record) {
    const list = this.byKey.get(record.key) ?? [];
    this.byKey.set(record.key, list);
    if (record.seq > 0 && list.some((r) => r.seq === record.seq && r.status === "sent")) {
      return false;
    }
    const pending = record.clientMsgId ? list.findIndex((r) => r.clientMsgId === record.clientMsgId) : -1;
    if (pending >= 0) {
      list[pending] = record;
    } else {
      list.push(record);
    }
    if (record.seq > 0 && list.length > 1 && list.at(-2).seq > record.seq) {
      list.sort((a, b) => (a.seq || Infinity) - (b.seq || Infinity));
    }
    return true;
  }

  /** Updates the pending record with this clientMsgId; returns it. */
  update(key, clientMsgId, changes) {
    const record = this.messages(key).find((r) => r.clientMsgId === clientMsgId);
    if (record) {
      Object.assign(record, changes);
    }
    return record;
  }

  remove(key, clientMsgId) {
    const list = this.messages(key);
    const index = list.findIndex((r) => r.clientMsgId === clientMsgId);
    if (index >= 0) {
      list.splice(index, 1);
    }
  }

  lastActivity(key) {
    return this.messages(key).at(-1)?.time ?? 0;
  }

  persist() {
    const kept = [];
    for (const [key, list] of this.byKey) {
      if (!key.startsWith("r:")) {
        kept.push(...list.filter((r) => r.seq > 0 && r.status === "sent"));
      }
    }
    kept.sort((a, b) => a.seq - b.seq);
    try {
      this.storage.setItem(this.storageKey, JSON.stringify({ v: 1, lastSeq: this.lastSeq, records: kept.slice(-MAX_KEPT) }));
    } catch {
      // storage full or off: history stays in this tab only
    }
  }

  #load() {
    try {
      const saved = JSON.parse(this.storage.getItem(this.storageKey) ?? "null");
      if (saved?.v === 1) {
        this.lastSeq = Number(saved.lastSeq) || 0;
        for (const record of saved.records ?? []) {
          this.add(record);
        }
      }
    } catch {
      // a broken entry: start empty
    }
  }
}
