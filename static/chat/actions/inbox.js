// Messages in: into the store, then read or counted unread, and shown.
import { current } from "../store/current.js";
import { storeMessage } from "../store/messages.js";
import { outbox } from "../store/outbox.js";
import { roomState } from "../store/rooms.js";
import { adoptEcho, placeMessage } from "../ui/messages.js";
import { renderSidebar } from "../ui/sidebar.js";
import { renderTyping } from "../ui/typing.js";
import { isViewing, markReadSoon } from "./reading.js";
import { replyShown, replyTaken } from "./replies.js";

// `live`: see storeMessage.
export function takeMessage(room, m, live = true) {
  if (m.threadId != null) replyTaken(room, m, live);
  if (m.threadId != null && !m.alsoToRoom) return;
  if (!storeMessage(room, m, live)) return;
  if (isViewing(room)) markReadSoon(room);
  else room.unread += 1;
}

export function receive(roomName, m) {
  const room = roomState(roomName);
  const pending = m.clientId && m.username === current.me ? outbox.get(m.clientId) : null;
  if (pending) {
    clearTimeout(pending.timer);
    outbox.delete(m.clientId);
  }
  takeMessage(room, m);
  if (m.threadId != null) replyShown(room, m, pending);
  if (room.name === current.room && (m.threadId == null || m.alsoToRoom)) {
    adoptEcho(m.clientId, m.id);
    placeMessage(room.messages.get(m.id), Boolean(pending));
    renderTyping();
  }
  renderSidebar();
}
