// Moving between conversations without reloading: links marked data-nav, and the
// browser's back and forward.
import { conn } from "../connection.js";
import { current } from "../store/current.js";
import { directRoomWith, forgetRoom, groupRoomWith, peopleOf, roomState } from "../store/rooms.js";
import { clearMessages } from "../ui/messages.js";
import { closeSidebar, renderSidebar } from "../ui/sidebar.js";
import { joinRoom } from "./join.js";
import { isViewing, markRead } from "./reading.js";
import { renderAll } from "./refresh.js";
import { stopTyping } from "./typing.js";

// `group`: the other people of a group conversation with no room yet (sorted).
export function openConversation(roomName, peer = null, group = null) {
  if (current.room !== roomName) stopTyping();
  current.room = roomName;
  current.peer = peer || (roomName ? null : current.peer);
  current.group = group || (roomName || peer ? null : current.group);
  if (roomName && roomState(roomName).kind === "direct") current.peer = roomState(roomName).with;
  clearMessages();
  closeSidebar();
  renderAll();
  if (roomName) {
    const room = roomState(roomName);
    if (!room.joined && conn.isOpen) joinRoom(roomName);
    if (isViewing(room)) markRead(room);
  }
}

// Room `roomName` opened at its own address (a direct one at its peer's), as a
// link to it would.
export function goToRoom(roomName) {
  if (roomName === current.room) return;
  const room = roomState(roomName);
  const peer = room.kind === "direct" ? room.with : null;
  history.pushState(null, "", peer ? `/dm/${encodeURIComponent(peer)}/` : `/rooms/${encodeURIComponent(roomName)}/`);
  openConversation(roomName, peer);
}

// The group conversation we were writing to has its room now: open it, at its
// own address.
export function openNewGroupRoom(roomName) {
  history.replaceState(null, "", `/rooms/${encodeURIComponent(roomName)}/`);
  openConversation(roomName);
}

// A room we are no longer in: forgotten, and closed if it is open.
export function leaveRoom(name) {
  if (!forgetRoom(name)) return;
  if (current.room === name) {
    history.pushState(null, "", "/");
    openConversation(null, null);
  }
  renderSidebar();
}

function openPath(path, search = "") {
  let match = path.match(/^\/rooms\/([^/]+)\/$/);
  if (match) return openConversation(decodeURIComponent(match[1]));
  if (path === "/dm/") {
    const others = peopleOf((new URLSearchParams(search).get("to") || "").split(","));
    return openConversation(groupRoomWith(others)?.name || null, null, others.length ? others : null);
  }
  match = path.match(/^\/dm\/([^/]+)\/$/);
  if (match) {
    const peer = decodeURIComponent(match[1]);
    return openConversation(directRoomWith(peer)?.name || null, peer);
  }
  return openConversation(null, null);
}

export function bindNavigation() {
  document.addEventListener("click", (e) => {
    const link = e.target.closest("a[data-nav]");
    if (!link || e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
    e.preventDefault();
    if (link.pathname === `/dm/${encodeURIComponent(current.me)}/`) return;
    history.pushState(null, "", link.pathname + link.search);
    openPath(link.pathname, link.search);
  });
  window.addEventListener("popstate", () => openPath(location.pathname, location.search));
}
