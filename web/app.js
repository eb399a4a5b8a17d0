// The chat page: sign-in, conversations, friends, groups, rooms. Each tab is its own device (its
// device id lives in sessionStorage); messages and the inbox seq are kept per user in localStorage.
import { GimClient, ErrorCode, newClientMsgId, pb, SDK_VERSION } from "./gim-sdk.js";
import { humanError } from "./errors.js";
import { ConversationStore, toRecord } from "./store.js";
import { bindForms } from "./forms.js";
import * as view from "./view.js";

const { $ } = view;
const SESSION_KEY = "gim.session";
const DEVICE_KEY = "gim.deviceId";
const PHONE_KEY = "gim.phone";

const state = {
  /** @type {GimClient | null} */ client: null,
  /** @type {ConversationStore | null} */ store: null,
  session: null,
  nickname: "",
  friends: new Map(),
  groups: new Map(),
  names: new Map(),
  roomId: 0,
  selected: "",
  progress: null,
  renderQueued: false,
};

// ---- sign-in and sessions ----

function showSignIn(note) {
  $("app").hidden = true;
  $("me").hidden = true;
  $("signin").hidden = false;
  $("phone").value ||= localStorage.getItem(PHONE_KEY) ?? "";
  view.renderStatus({ state: "idle" });
  $("status").textContent = "Not signed in";
  if (note) {
    view.showError(note);
  }
  ($("phone").value ? $("code") : $("phone")).focus();
}

async function deviceId(client) {
  const stored = Number(sessionStorage.getItem(DEVICE_KEY));
  if (stored > 0) {
    return stored;
  }
  const ua = navigator.userAgent;
  const brand = /Firefox\//.test(ua) ? "Firefox" : /Edg\//.test(ua) ? "Edge" : /Chrom/.test(ua) ? "Chromium" : /Safari\//.test(ua) ? "Safari" : "browser";
  const id = await client.registerDevice({ type: 5, brand, model: "gim web", systemVersion: navigator.platform || "web", sdkVersion: SDK_VERSION });
  sessionStorage.setItem(DEVICE_KEY, String(id));
  return id;
}

async function signIn(event) {
  event.preventDefault();
  const phoneNumber = $("phone").value.trim();
  const code = $("code").value.trim();
  if (!/^\+?[0-9]{3,20}$/.test(phoneNumber)) {
    view.showError("Enter a phone number of 3 to 20 digits.");
    $("phone").focus();
    return;
  }
  if (!code) {
    view.showError("Enter the verification code. On a local server it is 0000.");
    $("code").focus();
    return;
  }
  const button = $("signin-submit");
  button.disabled = true;
  view.hideError();
  try {
    const client = new GimClient({ baseUrl: location.origin });
    let session;
    try {
      session = await client.signIn({ phoneNumber, code, deviceId: await deviceId(client) });
    } catch (err) {
      if (err?.code !== ErrorCode.DEVICE_NOT_EXIST) {
        throw err;
      }
      sessionStorage.removeItem(DEVICE_KEY); // the server's state was reset: register again
      session = await client.signIn({ phoneNumber, code, deviceId: await deviceId(client) });
    }
    if (session.isNew) {
      localStorage.removeItem(`gim:history:${session.userId}`); // a new account has no history (the server's state was reset)
    }
    const saved = { userId: session.userId, deviceId: session.deviceId, token: session.token, phone: phoneNumber };
    sessionStorage.setItem(SESSION_KEY, JSON.stringify(saved));
    localStorage.setItem(PHONE_KEY, phoneNumber);
    $("code").value = "";
    start(saved);
  } catch (err) {
    view.showError(humanError(err));
  } finally {
    button.disabled = false;
  }
}

function signOut() {
  state.client?.disconnect();
  state.store?.persist();
  state.client = null;
  sessionStorage.removeItem(SESSION_KEY);
  showSignIn();
}

/** Starts the signed-in page for a session: connection, lists, history. */
function start(session) {
  state.session = session;
  state.store = new ConversationStore(session.userId);
  state.friends.clear();
  state.groups.clear();
  state.roomId = 0;
  state.selected = sessionStorage.getItem("gim.selected") ?? "";
  const client = new GimClient({ baseUrl: location.origin, session, seqStore: state.store });
  state.client = client;
  $("signin").hidden = true;
  $("app").hidden = false;
  $("me").hidden = false;
  $("profile-ids").textContent = `User ${session.userId}, this tab is device ${session.deviceId}.`;
  void showMe();

  client.on("state", (s) => {
    if (s.state !== "syncing") {
      state.progress = null;
    }
    view.renderStatus(s, state.progress);
  });
  client.on("syncProgress", (p) => {
    state.progress = p;
    view.renderStatus({ state: client.state }, p);
  });
  client.on("message", (m) => onMessage(m));
  client.on("roomMessage", (m) => onMessage(m));
  client.on("notification", (n) => onNotification(n));
  client.on("closed", (e) => onClosed(e));
  client.connect().catch(() => undefined); // the "closed" event explains a terminal failure
  void refreshAll();
  render();
}

function onClosed(event) {
  if (!event.terminal) {
    return;
  }
  if (event.code === 4500) {
    view.showError("This tab's device is now connected somewhere else (another tab with the same device).", [
      { label: "Use this tab as a new device", onClick: () => newDevice() },
    ]);
  } else {
    sessionStorage.removeItem(SESSION_KEY);
    showSignIn("Your sign-in is no longer valid. Please sign in again.");
  }
}

function newDevice() {
  view.hideError();
  sessionStorage.removeItem(DEVICE_KEY);
  sessionStorage.removeItem(SESSION_KEY);
  state.client?.disconnect();
  showSignIn("Sign in again to use this tab as a new device.");
}

// ---- directory: me, friends, groups, requests ----

async function showMe() {
  try {
    const user = await state.client.api.getUser(0);
    state.nickname = user?.nickname ?? "";
  } catch (err) {
    view.showError(humanError(err));
  }
  const name = state.nickname || `User ${state.session.userId}`;
  $("me-name").textContent = `${name} · device ${state.session.deviceId}`;
  $("nickname").value = state.nickname;
  if (!state.nickname) {
    $("profile-panel").open = true;
  }
}

async function refreshAll() {
  await Promise.all([refreshFriends(), refreshGroups(), refreshRequests()]);
}

/** Runs `task`; a failure shows its error and resolves undefined. */
async function guarded(task) {
  try {
    return await task();
  } catch (err) {
    view.showError(humanError(err));
    return undefined;
  }
}

async function refreshFriends() {
  const friends = await guarded(() => state.client.api.getFriends());
  if (!friends) {
    return;
  }
  state.friends = new Map(friends.map((f) => [f.userId, f]));
  for (const f of friends) {
    state.names.set(f.userId, f.remarks || f.nickname || `User ${f.userId}`);
  }
  view.renderGroupMembers(friends.map((f) => ({ userId: f.userId, name: nameOf(f.userId) })));
  render();
}

async function refreshGroups() {
  const groups = await guarded(() => state.client.api.getGroups());
  if (groups) {
    state.groups = new Map(groups.map((g) => [g.groupId, g]));
    render();
  }
}

async function refreshRequests() {
  const requests = await guarded(() => state.client.api.getFriendRequests());
  if (requests) {
    view.renderRequests(requests, (id) => answerRequest(id, true), (id) => answerRequest(id, false));
  }
}

async function answerRequest(userId, accept) {
  const api = state.client.api;
  const done = await guarded(() => (accept ? api.agreeAddFriend({ userId }) : api.rejectAddFriend(userId)));
  if (done) {
    await Promise.all([refreshRequests(), refreshFriends()]);
    if (accept) {
      select(`u:${userId}`);
    }
  }
}

function nameOf(userId) {
  if (userId === state.session?.userId) {
    return "You";
  }
  return state.names.get(userId) || `User ${userId}`;
}

// ---- messages ----

function onMessage(message) {
  const record = toRecord(message, state.session.userId);
  if (message.sender?.nickname && !record.mine) {
    state.names.set(record.senderId, message.sender.nickname);
  }
  if (!state.store.add(record)) {
    return;
  }
  if (record.key !== state.selected && !record.mine) {
    state.store.unread.set(record.key, (state.store.unread.get(record.key) ?? 0) + 1);
  }
  render();
}

function onNotification({ code }) {
  if (code === pb.PushCode.PC_ADD_FRIEND) {
    void refreshRequests();
  } else if (code === pb.PushCode.PC_AGREE_ADD_FRIEND || code === pb.PushCode.PC_DELETE_FRIEND) {
    void refreshFriends();
  } else if (code >= pb.PushCode.PC_UPDATE_GROUP && code <= pb.PushCode.PC_TRANSFER_GROUP_OWNER) {
    void refreshGroups();
  }
}

async function send(event) {
  event.preventDefault();
  const input = $("composer-input");
  const text = input.value.trim();
  const key = state.selected;
  if (!text || !key) {
    return;
  }
  input.value = "";
  const [kind, idText] = key.split(":");
  const id = Number(idText);
  if (kind === "r") {
    await guarded(() => state.client.pushRoom(id, text));
    return;
  }
  const record = { key, seq: 0, senderId: state.session.userId, senderName: "", mine: true, system: false, text, time: Date.now(), clientMsgId: newClientMsgId(), status: "sending" };
  state.store.add(record);
  render();
  await deliver(record, kind === "g" ? { groupId: id } : { userId: id });
}

/** Sends a pending record; a failure leaves it "not sent" with a Retry button. */
async function deliver(record, target) {
  try {
    const { seq } = await state.client.sendText(target, record.text, record.clientMsgId);
    if (record.status === "sending") {
      state.store.update(record.key, record.clientMsgId, { status: "sent", seq });
    }
  } catch (err) {
    state.store.update(record.key, record.clientMsgId, { status: "failed" });
    view.showError(humanError(err));
  }
  render();
}

function retry(record) {
  const [kind, id] = record.key.split(":");
  record.status = "sending";
  render();
  void deliver(record, kind === "g" ? { groupId: Number(id) } : { userId: Number(id) });
}

// ---- rendering ----

function titleOf(key) {
  const [kind, idText] = key.split(":");
  const id = Number(idText);
  if (kind === "g") {
    return state.groups.get(id)?.name ? `${state.groups.get(id).name} (group)` : `Group ${id}`;
  }
  if (kind === "r") {
    return `Room ${id}`;
  }
  return id === 0 ? "Notifications" : nameOf(id);
}

function conversationList() {
  const keys = new Set([...state.friends.keys()].map((id) => `u:${id}`));
  state.groups.forEach((_, id) => keys.add(`g:${id}`));
  state.store.byKey.forEach((list, key) => list.length && keys.add(key));
  if (state.roomId) {
    keys.add(`r:${state.roomId}`);
  }
  return [...keys]
    .map((key) => {
      const last = state.store.messages(key).at(-1);
      return { key, title: titleOf(key), preview: last ? `${last.mine ? "You: " : ""}${last.text}` : "", unread: state.store.unread.get(key) ?? 0, at: last?.time ?? 0 };
    })
    .sort((a, b) => b.at - a.at || a.title.localeCompare(b.title));
}

/** Coalesces renders to one per frame: a long sync emits many messages at once. */
function render() {
  if (!state.renderQueued) {
    state.renderQueued = true;
    requestAnimationFrame(() => {
      state.renderQueued = false;
      renderNow();
    });
  }
}

function renderNow() {
  if (!state.store) {
    return;
  }
  view.renderConversations(conversationList(), state.selected, select);
  const key = state.selected;
  $("composer").hidden = !key || key === "u:0"; // notifications are read-only
  $("conversation-title").textContent = key ? titleOf(key) : "Pick a chat";
  $("conversation-info").textContent = !key
    ? "Choose a chat on the left, or add a friend to start one."
    : key.startsWith("r:")
      ? "Live room: recent messages and what is said while you are here."
      : "";
  const list = $("messages");
  const stick = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  view.renderMessages(key, state.store.messages(key), nameOf, retry);
  if (stick) {
    list.scrollTop = list.scrollHeight;
  }
}

function select(key) {
  state.selected = key;
  sessionStorage.setItem("gim.selected", key);
  state.store.unread.delete(key);
  renderNow();
  $("messages").scrollTop = $("messages").scrollHeight;
  $("composer-input").focus();
}

$("signin-form").addEventListener("submit", signIn);
$("sign-out").addEventListener("click", signOut);
$("error-close").addEventListener("click", view.hideError);
$("composer").addEventListener("submit", send);
bindForms({ state, guarded, refreshFriends, refreshGroups, select, showMe });
addEventListener("pagehide", () => state.store?.persist());

const saved = JSON.parse(sessionStorage.getItem(SESSION_KEY) ?? "null");
if (saved?.token) {
  start(saved);
} else {
  showSignIn();
}
