// The side panel's forms (find and add friends, new group, join a room, profile) and the
// composer's keys. `app` gives the page state and the actions these forms trigger.
import * as view from "./view.js";

const { $ } = view;

export function bindForms(app) {
  const { state, guarded } = app;

  async function search(event) {
    event.preventDefault();
    const key = $("search-key").value.trim();
    const res = await guarded(() => state.client.api.searchUser({ key, pageSize: 20 }));
    if (res) {
      res.users.forEach((u) => u.nickname && state.names.set(u.userId, u.nickname));
      view.renderSearchResults(res.users, state.session.userId, (id) => state.friends.has(id), addFriend);
    }
  }

  async function addFriend(userId, button) {
    button.disabled = true;
    const description = state.nickname ? `Hi, it's ${state.nickname}` : "";
    const sent = await guarded(async () => {
      await state.client.api.addFriend({ friendId: userId, description });
      return true;
    });
    if (sent) {
      button.replaceWith(Object.assign(document.createElement("span"), { className: "hint", textContent: "request sent" }));
    }
    button.disabled = false;
    void app.refreshFriends(); // asking someone who asked you first makes you friends at once
  }

  async function createGroup(event) {
    event.preventDefault();
    const name = $("group-name").value.trim();
    const memberIds = [...document.querySelectorAll("#group-members input:checked")].map((i) => Number(i.value));
    const groupId = await guarded(() => state.client.api.createGroup({ name, memberIds }));
    if (groupId) {
      $("group-form").reset();
      $("group-panel").open = false;
      await app.refreshGroups();
      app.select(`g:${groupId}`);
    }
  }

  async function joinRoom(event) {
    event.preventDefault();
    const roomId = Number($("room-id").value);
    if (!Number.isSafeInteger(roomId) || roomId <= 0) {
      view.showError("A room number is a whole number above 0.");
      return;
    }
    const joined = await guarded(async () => {
      await state.client.joinRoom(roomId, { fromSeq: 1 });
      return true;
    });
    if (joined) {
      state.roomId = roomId;
      $("room-form").reset();
      $("room-panel").open = false;
      app.select(`r:${roomId}`);
    }
  }

  async function saveProfile(event) {
    event.preventDefault();
    const nickname = $("nickname").value.trim();
    const user = (await guarded(() => state.client.api.getUser(0))) ?? {};
    const saved = await guarded(async () => {
      await state.client.api.updateUser({ nickname, sex: user.sex ?? 0, avatarUrl: user.avatarUrl ?? "", extra: user.extra ?? "" });
      return true;
    });
    if (saved) {
      $("profile-panel").open = false;
      await app.showMe();
    }
  }

  /** Enter sends, Shift+Enter is a new line (and Enter while an IME composes is left alone). */
  function composerKeys(event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      $("composer").requestSubmit();
    }
  }

  $("search-form").addEventListener("submit", search);
  $("group-form").addEventListener("submit", createGroup);
  $("room-form").addEventListener("submit", joinRoom);
  $("profile-form").addEventListener("submit", saveProfile);
  $("composer-input").addEventListener("keydown", composerKeys);
}
