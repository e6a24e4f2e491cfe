// Mentions and notification settings as the server tells them: a room's
// mention badge bumped by `mentioned` and set by room_read, a room's level and
// mute (room_notify), my settings (settings_changed).
import { updateSettings } from "../store/attention.js";
import { rooms, upsertRoom } from "../store/rooms.js";
import { openThread } from "../store/threads.js";
import { mentionsChanged, mentionsRead } from "../ui/mentions.js";
import { renderNotifyPrompt } from "../ui/notify-prompt.js";
import { renderSidebar } from "../ui/sidebar.js";
import { dismissNotification, notifyMention } from "./notify.js";
import { isViewing } from "./reading.js";

const REMEMBERED = 500;
const counted = new Set(); // message ids whose mention the badges count

export function mentioned(d) {
  const room = rooms.get(d.room);
  if (room && !counted.has(d.id) && !readAsItCame(room, d)) {
    counted.add(d.id);
    if (counted.size > REMEMBERED) counted.delete(counted.values().next().value);
    room.mentions += 1;
    renderSidebar();
  }
  notifyMention(d);
  mentionsChanged();
}

// A room_read (from any of my devices): its mentions as the server counts them.
export function mentionsReadIn(d) {
  const room = rooms.get(d.room);
  if (room && d.mentions != null) room.mentions = d.mentions;
  if (!d.unread) dismissNotification(d.room);
  mentionsRead(d.room, d.lastReadId);
}

export function roomNotifyChanged(d) {
  if (!rooms.has(d.room)) return;
  upsertRoom({ room: d.room, notify: d.notify, muted: d.muted });
  renderSidebar();
}

export function settingsChanged(d) {
  updateSettings(d);
  renderNotifyPrompt();
}

// Whether I see the mention as it comes (its room open in front of me, and its
// thread if it is a reply): my read marker passes it at once, and room_read
// says so.
function readAsItCame(room, d) {
  return isViewing(room) && (d.threadId == null || openThread.id === d.threadId);
}
