// Everyone in the open room (list_members), online first, then by name: a
// presence dot, a role label and, for those who may moderate the room, a menu to
// kick or mute (ui/moderate.js). Until the list comes, who is online in the room
// (join_room's and room_users' users).
import { conn } from "../connection.js";
import { el } from "../render.js";
import { current } from "../store/current.js";
import { online, rooms, roomState } from "../store/rooms.js";
import { $ } from "./dom.js";
import { mayModerate, moderation } from "./moderate.js";
import { personLink } from "./person.js";
import { markMember } from "./presence.js";
import { takeLastSeen } from "../store/presence.js";

const GAP_MS = 2000; // at most one list_members a room this often
const STALE_MS = 60_000; // a list older than this is asked for again when shown
const ROLE_LABELS = { owner: "owner", moderator: "moderator" };

export function renderMembers() {
  const room = current.room ? roomState(current.room) : null;
  const list = room?.memberList || null;
  if (room?.joined && needsRefresh(room, list)) refreshMembers(room.name);
  const members = list ? list.members : (room?.users || []).map((username) => ({ username, role: null }));
  const shown = [...members].sort(byPresenceThenName);
  const pane = $("members");
  const focused = focusKey(pane);
  pane.replaceChildren(...shown.map((m) => memberItem(m, list)));
  refocus(pane, focused);
  const here = shown.filter((m) => isOnline(m.username)).length;
  $("members-count").textContent = list ? `${here} of ${list.total} online` : "";
  const status = $("members-status");
  if (status.dataset.room !== current.room) status.textContent = ""; // another room's news
}

// Ask for the room's members again (at most every GAP_MS; a request asked for
// while one is out goes once it is back).
export function refreshMembers(name) {
  if (!rooms.has(name)) return; // left, or removed, meanwhile
  const room = roomState(name);
  const state = room.memberFetch || (room.memberFetch = { out: false, again: false, last: 0, timer: null });
  if (state.out || state.timer) {
    state.again = state.out;
    return;
  }
  const wait = state.last + GAP_MS - Date.now();
  if (wait > 0) {
    state.timer = setTimeout(() => {
      state.timer = null;
      refreshMembers(name);
    }, wait);
    return;
  }
  state.out = true;
  state.last = Date.now();
  const seen = new Set(room.users);
  conn.request("list_members", { room: name }).then((reply) => {
    room.memberList = { ...reply, at: Date.now(), seen, names: new Set(reply.members.map((m) => m.username)) };
    takeLastSeen(reply.members);
  }, (err) => {
    // Keep what we show. Too soon: ask again when we may. The connection
    // dropped: as soon as it is back (the room is joined again). Refused (not
    // ours to list any more): not before the list would be stale anyway.
    if (err.code === "rate_limited") {
      state.last = Date.now() + (err.retryAfter || 1) * 1000 - GAP_MS;
      state.again = true;
    } else if (!err.code) {
      state.last = 0;
    }
  }).finally(() => {
    state.out = false;
    if (state.again) {
      state.again = false;
      refreshMembers(name);
    }
    if (name === current.room) renderMembers();
  });
}

// Someone may have left the room for good, or been removed: ask again.
export function membersMayHaveChanged(name) {
  if (name === current.room && rooms.get(name)?.joined) refreshMembers(name);
}

function needsRefresh(room, list) {
  const state = room.memberFetch;
  // Never asked, or asked in vain long enough ago.
  if (!list) return !state || (!state.out && !state.timer && Date.now() - state.last > STALE_MS);
  if (Date.now() - list.at > STALE_MS) return true;
  // Someone is here whom the list does not name (new to the room), unless the
  // list is cut short or they were here when it was asked for.
  const whole = list.members.length >= list.total;
  return whole && room.users.some((name) => !list.names.has(name) && !list.seen.has(name));
}

function memberItem(member, list) {
  const name = member.username;
  const here = isOnline(name);
  const li = el("li", { "data-user": name, "data-role": member.role || "" },
    personLink(name),
    el("span", { class: "sr-only", text: here ? ", online" : ", offline" }));
  li.classList.toggle("online", here);
  markMember(li, member, here);
  const label = ROLE_LABELS[member.role];
  if (label) li.append(el("span", { class: "role", text: label }));
  if (member.muted) {
    li.classList.add("muted");
    li.append(el("span", { class: "muted-mark", text: "muted" }));
  }
  if (list && mayModerate(list, current.me, member)) {
    li.append(...moderation(name, () => refreshMembers(list.room)));
  }
  return li;
}

// What has the focus in the pane, to give it back after a redraw: the open
// form's own controls move with it; a row's link or button is found again.
function focusKey(pane) {
  const active = document.activeElement;
  if (!pane.contains(active)) return null;
  if (active.closest("form")) return { node: active };
  const user = active.closest("li[data-user]")?.dataset.user;
  return user ? { user, kind: active.matches("button.moderate") ? "button.moderate" : "a" } : null;
}

function refocus(pane, key) {
  if (!key) return;
  if (key.node) {
    if (key.node.isConnected) key.node.focus();
  } else [...pane.children].find((li) => li.dataset.user === key.user)?.querySelector(key.kind)?.focus();
}

function isOnline(name) {
  // A conversation's `users` are who was online when it was joined: no
  // room_users keeps them current, presence_update does.
  const room = roomState(current.room);
  const conversation = room.kind === "direct" || room.kind === "group";
  return online.has(name) || (!conversation && room.users.includes(name));
}

function byPresenceThenName(a, b) {
  const presence = Number(isOnline(b.username)) - Number(isOnline(a.username));
  if (presence) return presence;
  const x = a.username.toLowerCase();
  const y = b.username.toLowerCase();
  return x < y ? -1 : x > y ? 1 : 0;
}
