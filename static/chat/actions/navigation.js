// Moving between conversations without reloading: links marked data-nav, and the
// browser's back and forward.
import { conn } from "../connection.js";
import { current } from "../store/current.js";
import { directRoomWith, roomState } from "../store/rooms.js";
import { clearMessages } from "../ui/messages.js";
import { closeSidebar } from "../ui/sidebar.js";
import { joinRoom } from "./join.js";
import { isViewing, markRead } from "./reading.js";
import { renderAll } from "./refresh.js";
import { stopTyping } from "./typing.js";

export function openConversation(roomName, peer = null) {
  if (current.room !== roomName) stopTyping();
  current.room = roomName;
  current.peer = peer || (roomName ? null : current.peer);
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

function openPath(path) {
  let match = path.match(/^\/rooms\/([^/]+)\/$/);
  if (match) return openConversation(decodeURIComponent(match[1]));
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
    history.pushState(null, "", link.pathname);
    openPath(link.pathname);
  });
  window.addEventListener("popstate", () => openPath(location.pathname));
}
