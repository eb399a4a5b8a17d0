// DOM helpers and the renderers of the chat page. No state here: app.js passes what to show.

export const $ = (id) => document.getElementById(id);

/** Creates an element: el("button", { type: "button", onclick }, "text", child…). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) {
      continue;
    }
    if (name.startsWith("on")) {
      node.addEventListener(name.slice(2), value);
    } else if (name === "dataset") {
      Object.assign(node.dataset, value);
    } else {
      node.setAttribute(name, value === true ? "" : String(value));
    }
  }
  node.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

const STATE_TEXT = {
  idle: "Not connected",
  connecting: "Connecting…",
  syncing: "Catching up…",
  online: "Online",
  reconnecting: "Offline, reconnecting…",
  closed: "Disconnected",
};

/** The connection pill: state, reconnect countdown, sync progress. */
export function renderStatus({ state, retryInMs }, progress) {
  const node = $("status");
  let text = STATE_TEXT[state] ?? state;
  if (state === "reconnecting" && retryInMs !== undefined) {
    text = `Offline, reconnecting in ${Math.max(1, Math.round(retryInMs / 1000))} s…`;
  } else if (state === "syncing" && progress?.received) {
    text = `Catching up: ${progress.received} messages…`;
  }
  node.textContent = text;
  node.dataset.state = state;
}

/** Shows the error banner with optional action buttons ([{label, onClick}]). */
export function showError(text, actions = []) {
  $("error-text").textContent = text;
  $("error-actions").replaceChildren(...actions.map((a) => el("button", { type: "button", class: "secondary", onclick: a.onClick }, a.label)));
  $("error").hidden = false;
}

export function hideError() {
  $("error").hidden = true;
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const dayFormat = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });

/** A valid Date for a message time, or null (a time from the network is never trusted to be one). */
function dateOf(ms) {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? null : date;
}

function when(ms) {
  const date = dateOf(ms);
  return date ? (Date.now() - ms < 20 * 3600_000 ? timeFormat : dayFormat).format(date) : "";
}

/** One message of the open conversation. `name(id)` gives a display name. */
export function messageItem(record, name, onRetry) {
  if (record.system) {
    return el("li", { class: "msg system", dataset: { seq: record.seq } }, record.text);
  }
  const who = record.mine ? "You" : record.senderName || name(record.senderId);
  const status = record.status === "sending" ? " · sending…" : record.status === "failed" ? " · not sent" : "";
  return el(
    "li",
    { class: `msg${record.mine ? " mine" : ""}${record.status === "failed" ? " failed" : ""}`, dataset: { seq: record.seq, status: record.status } },
    el("span", { class: "meta" }, `${who} · `, el("time", { datetime: dateOf(record.time)?.toISOString() ?? "" }, when(record.time)), status),
    el("span", { class: "text" }, record.text),
    record.status === "failed" ? el("button", { type: "button", class: "link", onclick: () => onRetry(record) }, "Retry") : null,
  );
}

const shown = { key: "", items: [] };

/**
 * Shows the records of conversation `key` in the message log, changing only what changed: new
 * messages are appended and a pending one is replaced when it is confirmed, so screen readers
 * announce just those (role="log"). Switching conversations redraws the list.
 */
export function renderMessages(key, records, name, onRetry) {
  const list = $("messages");
  const make = (record) => ({ record, status: record.status, node: messageItem(record, name, onRetry) });
  let same = key === shown.key && shown.items.length <= records.length;
  for (let i = 0; same && i < shown.items.length; i++) {
    const item = shown.items[i];
    const record = records[i];
    if (item.record === record && item.status === record.status) {
      continue;
    }
    if (item.record.clientMsgId && item.record.clientMsgId === record.clientMsgId) {
      const fresh = make(record);
      item.node.replaceWith(fresh.node);
      shown.items[i] = fresh;
    } else {
      same = false;
    }
  }
  if (!same) {
    shown.key = key;
    shown.items = records.map(make);
    list.replaceChildren(...shown.items.map((item) => item.node));
    return;
  }
  const added = records.slice(shown.items.length).map(make);
  shown.items.push(...added);
  list.append(...added.map((item) => item.node));
}

/** The conversation list: [{key, title, preview, unread}]. */
export function renderConversations(items, selected, onSelect) {
  $("conversations").replaceChildren(
    ...items.map((c) =>
      el(
        "li",
        {},
        el(
          "button",
          {
            type: "button",
            "aria-current": c.key === selected ? "true" : "false",
            "aria-label": `${c.title}${c.unread ? `, ${c.unread} unread` : ""}`,
            dataset: { key: c.key },
            onclick: () => onSelect(c.key),
          },
          el("span", { class: "title" }, c.title),
          c.unread ? el("span", { class: "badge", "aria-hidden": "true" }, String(c.unread)) : el("span"),
          el("span", { class: "preview" }, c.preview || " "),
        ),
      ),
    ),
  );
  $("no-conversations").hidden = items.length > 0;
}

/** Pending friend requests with Accept and Decline buttons. */
export function renderRequests(requests, onAccept, onReject) {
  $("requests-section").hidden = requests.length === 0;
  $("requests").replaceChildren(
    ...requests.map((r) => {
      const who = r.nickname ? `${r.nickname} (user ${r.userId})` : `User ${r.userId}`;
      return el(
        "li",
        {},
        el("span", {}, who, r.description ? el("span", { class: "hint" }, ` "${r.description}"`) : null),
        el(
          "span",
          { class: "row" },
          el("button", { type: "button", "aria-label": `Accept ${who}`, onclick: () => onAccept(r.userId) }, "Accept"),
          el("button", { type: "button", class: "secondary", "aria-label": `Decline ${who}`, onclick: () => onReject(r.userId) }, "Decline"),
        ),
      );
    }),
  );
}

/** Search results with an "Add" button for people who are not friends yet. */
export function renderSearchResults(users, me, isFriend, onAdd) {
  const list = $("search-results");
  if (users.length === 0) {
    list.replaceChildren(el("li", {}, "Nobody found."));
    return;
  }
  list.replaceChildren(
    ...users.map((u) => {
      const who = u.nickname ? `${u.nickname} (user ${u.userId})` : `User ${u.userId}`;
      const action =
        u.userId === me
          ? el("span", { class: "hint" }, "you")
          : isFriend(u.userId)
            ? el("span", { class: "hint" }, "friend")
            : el("button", { type: "button", "aria-label": `Add ${who} as a friend`, onclick: (e) => onAdd(u.userId, e.currentTarget) }, "Add");
      return el("li", {}, el("span", {}, who), action);
    }),
  );
}

/** Checkboxes of friends for a new group. */
export function renderGroupMembers(friends) {
  const box = $("group-members");
  if (friends.length === 0) {
    box.replaceChildren(el("p", { class: "hint" }, "Add friends first; they can be members."));
    return;
  }
  box.replaceChildren(
    ...friends.map((f) =>
      el("label", { class: "check" }, el("input", { type: "checkbox", name: "member", value: f.userId }), ` ${f.name}`),
    ),
  );
}
