// Read markers: a room is read when its newest message is seen, i.e. shown in
// the open conversation while the page is visible.
import { conn } from "../connection.js";
import { current } from "../store/current.js";
import { roomState } from "../store/rooms.js";
import { renderSidebar } from "../ui/sidebar.js";

export const isViewing = (room) => room.name === current.room && document.visibilityState === "visible";

let markTimer = null;
export function markReadSoon(room) {
  clearTimeout(markTimer);
  markTimer = setTimeout(() => markRead(room), 300);
}

export async function markRead(room) {
  const latest = room.lastMessageId;
  room.unread = 0;
  renderSidebar();
  if (!latest || (room.lastReadId && room.lastReadId >= latest) || !conn.isOpen) return;
  try {
    const ack = await conn.request("mark_read", { room: room.name, messageId: latest });
    room.lastReadId = Math.max(room.lastReadId || 0, latest);
    room.unread = ack.unread;
    if (ack.mentions != null) room.mentions = ack.mentions;
    renderSidebar();
  } catch {
    // Marked on the next visit instead.
  }
}

export function bindReading() {
  document.addEventListener("visibilitychange", () => {
    if (current.room && document.visibilityState === "visible") markRead(roomState(current.room));
  });
}
