// The CLI's commands. Each takes the context built by gim.mjs and resolves an exit code (or nothing for 0).
import { createInterface } from "node:readline";
import os from "node:os";
import { ErrorCode, GimClient, pb, SDK_VERSION } from "../web/gim-sdk.js";
import { profileSeqStore } from "./config.mjs";
import { messageLine, messageRecord } from "./format.mjs";
import { parseRelayAddress, tcpConnector } from "./tcp.mjs";

export class UsageError extends Error {}

function id(text, what) {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new UsageError(`${what} must be a positive number, not "${text ?? ""}"`);
  }
  return value;
}

async function webSocketClass() {
  try {
    return (await import("ws")).default;
  } catch {
    if (globalThis.WebSocket) {
      return globalThis.WebSocket;
    }
    throw new Error("no WebSocket client: run `npm install` (the ws package), or use Node 22+");
  }
}

/** A client for the saved session; `connected` also opens the connection. */
async function client(ctx, { connected = false } = {}) {
  const saved = ctx.saved;
  if (!saved?.token) {
    throw new UsageError(`not signed in${ctx.profileName === "default" ? "" : ` (profile ${ctx.profileName})`}: run \`gim signin <phone>\` first`);
  }
  const c = new GimClient({
    baseUrl: ctx.server,
    session: { userId: saved.userId, deviceId: saved.deviceId, token: saved.token },
    WebSocket: await webSocketClass(),
    connector: ctx.relay ? tcpConnector(parseRelayAddress(ctx.relay)) : undefined,
    seqStore: profileSeqStore(ctx.file, ctx.profileName),
  });
  if (connected) {
    reportConnection(ctx, c);
    await c.connect();
  }
  return c;
}

/** Connection state and long-sync progress on stderr. */
function reportConnection(ctx, c) {
  const via = ctx.relay ? `TCP relay ${ctx.relay}` : ctx.server;
  c.on("state", (s) => {
    if (s.state === "reconnecting") {
      ctx.print.info(`connection lost${s.code ? ` (${s.code})` : ""}; reconnecting in ${(s.retryInMs / 1000).toFixed(1)} s…`);
    } else if (s.state === "online") {
      ctx.print.info(`connected to ${via}, up to date (seq ${c.lastSeq})`);
    }
  });
  c.on("syncProgress", (p) => {
    if (p.hasMore || p.received >= 500) {
      ctx.print.info(`syncing: ${p.received} messages (seq ${p.lastSeq})${p.hasMore ? "…" : ""}`);
    }
  });
}

/** Resolves when the client closes for good (4500/4501) or on Ctrl+C; the exit code. */
function untilStopped(ctx, c) {
  return new Promise((resolve) => {
    c.on("closed", (e) => {
      if (e.terminal) {
        ctx.print.info(e.code === 4500 ? "another connection of this device took over; stopping" : `closed: ${e.reason}`);
        resolve(e.code === 4501 ? 3 : 4);
      }
    });
    process.once("SIGINT", () => {
      c.disconnect();
      resolve(0);
    });
  });
}

function printMessage(ctx, c, m, event = "message") {
  ctx.print.out(messageRecord(m, event), messageLine(m, c.session.userId));
}

/**
 * Sends each stdin line with `send(line)`; a send that fails is reported and the chat goes on.
 * Resolves the exit code when stdin ends: 1 if any line was not sent.
 */
async function sendLines(ctx, send) {
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  const sends = [];
  for await (const line of lines) {
    if (line.trim()) {
      sends.push(
        send(line).then(
          () => true,
          (err) => {
            ctx.print.error(`not sent (${JSON.stringify(line.slice(0, 40))}): ${err.message}`);
            return false;
          },
        ),
      );
    }
  }
  return (await Promise.all(sends)).every(Boolean) ? 0 : 1;
}

export const COMMANDS = {
  async signin(ctx) {
    const phone = ctx.args[0];
    if (!phone) {
      throw new UsageError("usage: gim signin <phone> [--code C]");
    }
    const c = new GimClient({ baseUrl: ctx.server, WebSocket: await webSocketClass() });
    const sameServer = ctx.saved?.server === ctx.server;
    const register = () =>
      c.registerDevice({
        type: { win32: 3, darwin: 4 }[process.platform] ?? 5,
        brand: "gim-cli",
        model: `${os.platform()} ${os.arch()}`,
        systemVersion: os.release(),
        sdkVersion: SDK_VERSION,
      });
    const code = ctx.values.code ?? "0000";
    let deviceId = sameServer && ctx.saved?.deviceId ? ctx.saved.deviceId : await register();
    let session;
    try {
      session = await c.signIn({ phoneNumber: phone, code, deviceId });
    } catch (err) {
      if (err?.code !== ErrorCode.DEVICE_NOT_EXIST) {
        throw err;
      }
      deviceId = await register(); // the server's state was reset since this device registered
      session = await c.signIn({ phoneNumber: phone, code, deviceId });
    }
    // The seq stays for the same user on the same server; a new account has none (the server's state was reset).
    const keepSeq = sameServer && !session.isNew && ctx.saved?.userId === session.userId ? ctx.saved.lastSeq : undefined;
    ctx.file.setProfile(ctx.profileName, { server: ctx.server, phone, userId: session.userId, deviceId, token: session.token, lastSeq: keepSeq });
    ctx.print.out(
      { event: "signedIn", userId: session.userId, deviceId, isNew: session.isNew, config: ctx.file.path },
      `signed in as user ${session.userId} (device ${deviceId})${session.isNew ? ", a new account" : ""}; credentials saved in ${ctx.file.path}`,
    );
  },

  async signout(ctx) {
    ctx.file.deleteProfile(ctx.profileName);
    ctx.print.out({ event: "signedOut" }, "signed out");
  },

  async whoami(ctx) {
    const c = await client(ctx);
    const user = await c.api.getUser(0);
    const record = { event: "user", userId: ctx.saved.userId, deviceId: ctx.saved.deviceId, server: ctx.server, nickname: user?.nickname ?? "" };
    ctx.print.out(record, `user ${record.userId}${record.nickname ? ` "${record.nickname}"` : ""}, device ${record.deviceId}, on ${ctx.server}`);
  },

  async "set-name"(ctx) {
    const nickname = ctx.args.join(" ").trim();
    if (!nickname) {
      throw new UsageError("usage: gim set-name <nickname>");
    }
    const c = await client(ctx);
    const user = (await c.api.getUser(0)) ?? {};
    await c.api.updateUser({ nickname, sex: user.sex ?? 0, avatarUrl: user.avatarUrl ?? "", extra: user.extra ?? "" });
    ctx.print.out({ event: "updated", nickname }, `you are now "${nickname}"`);
  },

  async search(ctx) {
    const c = await client(ctx);
    const res = await c.api.searchUser({ key: ctx.args.join(" "), pageSize: 20 });
    for (const u of res.users) {
      ctx.print.out({ event: "user", userId: u.userId, nickname: u.nickname }, `${u.userId}\t${u.nickname || "(no nickname)"}`);
    }
  },

  async send(ctx) {
    const group = ctx.values.group;
    const [to, ...words] = group ? [group, ...ctx.args] : ctx.args;
    const text = words.join(" ");
    if (!to || !text) {
      throw new UsageError("usage: gim send <userId> <text…>  or  gim send --group <groupId> <text…>");
    }
    const c = await client(ctx);
    const res = await c.api.sendMessage({
      receiverType: group ? pb.ReceiverType.RT_GROUP : pb.ReceiverType.RT_USER,
      receiverId: id(to, group ? "groupId" : "userId"),
      messageType: pb.MessageType.MT_TEXT,
      messageContent: pb.Text.encode({ text }).finish(),
      isPersist: true,
      clientMsgId: ctx.values.id ?? "",
    });
    ctx.print.out({ event: "sent", seq: res.seq }, `sent (seq ${res.seq})`);
  },

  async listen(ctx) {
    const c = await client(ctx);
    c.on("message", (m) => printMessage(ctx, c, m));
    c.on("roomMessage", (m) => printMessage(ctx, c, m, "roomMessage"));
    const stopped = untilStopped(ctx, c);
    reportConnection(ctx, c);
    c.connect().catch(() => undefined); // it fails only when stopped, which `stopped` reports
    return stopped;
  },

  async sync(ctx) {
    const c = await client(ctx);
    let count = 0;
    c.on("message", (m) => {
      count += 1;
      printMessage(ctx, c, m);
    });
    reportConnection(ctx, c);
    await c.connect();
    c.disconnect();
    ctx.print.info(`${count} new message${count === 1 ? "" : "s"} (up to seq ${c.lastSeq})`);
  },

  async chat(ctx) {
    const groupId = ctx.values.group ? id(ctx.values.group, "groupId") : 0;
    const peer = groupId ? 0 : id(ctx.args[0], "userId");
    const c = await client(ctx);
    const me = ctx.saved.userId;
    c.on("message", (m) => {
      const from = m.sender?.senderId;
      const inGroup = groupId && m.receiverType === pb.ReceiverType.RT_GROUP && m.receiverId === groupId;
      const withPeer = peer && m.receiverType === pb.ReceiverType.RT_USER && ((from === peer && m.receiverId === me) || (from === me && m.receiverId === peer));
      if (inGroup || withPeer) {
        printMessage(ctx, c, m);
      }
    });
    reportConnection(ctx, c);
    await c.connect();
    const code = await sendLines(ctx, (text) => c.sendText(groupId ? { groupId } : { userId: peer }, text));
    c.disconnect();
    return code;
  },

  async room(ctx) {
    const roomId = id(ctx.args[0], "roomId");
    const c = await client(ctx);
    c.on("roomMessage", (m) => printMessage(ctx, c, m, "roomMessage"));
    reportConnection(ctx, c);
    await c.connect();
    await c.joinRoom(roomId, ctx.values.replay ? { fromSeq: 1 } : {});
    ctx.print.info(`joined room ${roomId}; type to talk, Ctrl+D to leave`);
    const code = await sendLines(ctx, (text) => c.pushRoom(roomId, text));
    c.disconnect();
    return code;
  },

  async friends(ctx) {
    const c = await client(ctx);
    for (const f of await c.api.getFriends()) {
      ctx.print.out({ event: "friend", userId: f.userId, nickname: f.nickname, remarks: f.remarks }, `${f.userId}\t${f.remarks || f.nickname || "(no nickname)"}`);
    }
  },

  async requests(ctx) {
    const c = await client(ctx);
    for (const r of await c.api.getFriendRequests()) {
      ctx.print.out({ event: "friendRequest", userId: r.userId, nickname: r.nickname, description: r.description }, `${r.userId}\t${r.nickname || "(no nickname)"}\t${r.description}`);
    }
  },

  async "add-friend"(ctx) {
    const c = await client(ctx);
    const friendId = id(ctx.args[0], "userId");
    await c.api.addFriend({ friendId, description: ctx.args.slice(1).join(" ") });
    ctx.print.out({ event: "friendRequested", userId: friendId }, `friend request sent to user ${friendId}`);
  },

  async accept(ctx) {
    const c = await client(ctx);
    const userId = id(ctx.args[0], "userId");
    await c.api.agreeAddFriend({ userId });
    ctx.print.out({ event: "friendAccepted", userId }, `you and user ${userId} are friends`);
  },

  async reject(ctx) {
    const c = await client(ctx);
    const userId = id(ctx.args[0], "userId");
    await c.api.rejectAddFriend(userId);
    ctx.print.out({ event: "friendRejected", userId }, `declined user ${userId}`);
  },

  async groups(ctx) {
    const c = await client(ctx);
    for (const g of await c.api.getGroups()) {
      ctx.print.out({ event: "group", groupId: g.groupId, name: g.name, members: g.userMum }, `${g.groupId}\t${g.name}\t${g.userMum} members`);
    }
  },

  async "create-group"(ctx) {
    const [name, ...members] = ctx.args;
    if (!name) {
      throw new UsageError("usage: gim create-group <name> [userId…]");
    }
    const c = await client(ctx);
    const groupId = await c.api.createGroup({ name, memberIds: members.map((m) => id(m, "userId")) });
    ctx.print.out({ event: "groupCreated", groupId, name }, `created group ${groupId} "${name}"`);
  },
};
