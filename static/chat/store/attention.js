// What should get my attention: my notification settings (the page's
// #chat-settings, then settings_changed), each room's level (list_rooms,
// room_notify), and the counts the sidebar, the title and the favicon show.
import { rooms } from "./rooms.js";

// The keys of settings_changed (docs/PROTOCOL.md); until the server says
// otherwise, desktop notifications are on.
export const settings = {
  desktopNotifications: true,
  emailNotifications: true,
  emailDelay: null,
  dndUntil: null,
  readReceipts: true,
};

// The page's settings (a json_script with id "chat-settings"), if it has them.
export function loadSettings() {
  const node = document.getElementById("chat-settings");
  if (!node) return;
  try {
    updateSettings(JSON.parse(node.textContent));
  } catch {
    // Not JSON: the defaults stand.
  }
}

export function updateSettings(given) {
  if (!given || typeof given !== "object") return;
  for (const key of Object.keys(settings)) if (given[key] !== undefined) settings[key] = given[key];
}

export function inDoNotDisturb(now = Date.now()) {
  return Boolean(settings.dndUntil) && new Date(settings.dndUntil).getTime() > now;
}

export const isConversation = (room) => room.kind === "direct" || room.kind === "group";

// The level that applies: "default" is every message in a direct or group
// conversation, and mentions only in a public or private room.
export function effectiveNotify(room) {
  if (room.notify && room.notify !== "default") return room.notify;
  return isConversation(room) ? "all" : "mentions";
}

// What a room adds to the title's count: its unread messages (its mentions
// among them, or in threads, hence the larger of the two), or only its
// mentions when muted.
export function attentionOf(room) {
  return room.muted ? room.mentions : Math.max(room.unread, room.mentions);
}

export function attentionTotal() {
  let total = 0;
  for (const room of rooms.values()) total += attentionOf(room);
  return total;
}

export function mentionsTotal() {
  let total = 0;
  for (const room of rooms.values()) total += room.mentions;
  return total;
}
