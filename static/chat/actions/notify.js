// Desktop notifications (the browser's Notification API) while the page is
// hidden: a direct or group message from someone else, a mention of me, and any
// message in a room whose level is "all". Never my own message, nothing from a
// room set to "nothing", only mentions from a muted one, nothing in
// do-not-disturb or with desktop notifications turned off. A mention reaches us
// twice (receive_message, then `mentioned`; or the other way round): it is told
// once. One notification per room (its tag), the newest replacing the last; a
// click opens the message.
import { mentionsMe } from "../mentions.js";
import { effectiveNotify, inDoNotDisturb, isConversation, settings } from "../store/attention.js";
import { current } from "../store/current.js";
import { conversationLabel, rooms } from "../store/rooms.js";
import { plainIcon } from "../ui/favicon.js";
import { openMessage } from "./jump.js";

const BODY_MAX = 200; // characters of the message shown
const REMEMBERED = 500; // message ids kept to tell each once
const told = new Set();
const shown = new Map(); // tag -> the room's notification on screen

// Whether a notification may be shown now, whatever it is about.
function mayNotify() {
  return "Notification" in window && Notification.permission === "granted" && settings.desktopNotifications
    && !inDoNotDisturb() && document.visibilityState !== "visible";
}

// A new message, live (receive_message, private_message).
export function notifyMessage(roomName, m) {
  if (m.username === current.me || m.deleted || m.id == null || !mayNotify()) return;
  const room = rooms.get(roomName);
  if (!room) return;
  const level = effectiveNotify(room);
  if (level === "nothing") return;
  const mention = mentionsMe(m, current.me);
  // Replies kept to a thread come to the room's "all" only in a conversation.
  const inRoom = m.threadId == null || m.alsoToRoom || isConversation(room);
  if (!mention && (room.muted || level !== "all" || !inRoom)) return;
  raise({
    room: roomName,
    id: m.id,
    threadId: m.threadId ?? null,
    title: mention ? mentionTitle(m.username, mentionKind(m), roomName) : messageTitle(m.username, room),
    text: m.message,
  });
}

// A `mentioned` event: someone named me (or @room, @here), perhaps in a room
// this page has not joined.
export function notifyMention(d) {
  if (d.username === current.me || !mayNotify()) return;
  const room = rooms.get(d.room);
  if (room && effectiveNotify(room) === "nothing") return;
  raise({
    room: d.room,
    id: d.id,
    threadId: d.threadId ?? null,
    title: mentionTitle(d.username, d.kind, d.room),
    text: d.message,
  });
}

// The room's notification taken away (it was read, here or elsewhere).
export function dismissNotification(roomName) {
  shown.get(tagOf(roomName))?.close();
}

function raise({ room, id, threadId, title, text }) {
  if (told.has(id)) return;
  remember(id);
  const tag = tagOf(room);
  let notification;
  try {
    notification = new Notification(title, { body: shorten(text || ""), tag, renotify: true, icon: plainIcon() });
  } catch {
    return; // a browser that allows them only from a service worker (Chrome on Android)
  }
  shown.set(tag, notification);
  notification.onclick = () => {
    window.focus();
    notification.close();
    openMessage(room, id, threadId);
  };
  notification.onclose = () => {
    if (shown.get(tag) === notification) shown.delete(tag);
  };
}

function remember(id) {
  told.add(id);
  if (told.size > REMEMBERED) told.delete(told.values().next().value);
}

// The tag Web Push uses too (chat.jobs.push): a push and the tab's own
// notification of a room replace each other.
const tagOf = (roomName) => `room:${roomName}`;

function mentionKind(m) {
  const names = m.mentions || [];
  if (names.some((name) => name.toLowerCase() === current.me.toLowerCase())) return "user";
  return names.includes("@room") ? "room" : "here";
}

function mentionTitle(author, kind, roomName) {
  const where = placeName(roomName);
  if (kind === "room") return `${author} to @room in ${where}`;
  if (kind === "here") return `${author} to @here in ${where}`;
  return `${author} mentioned you in ${where}`;
}

function messageTitle(author, room) {
  if (room.kind === "direct") return author;
  if (room.kind === "group") return `${author} in ${conversationLabel(room)}`;
  return `${author} in #${room.name}`;
}

function placeName(roomName) {
  const room = rooms.get(roomName);
  if (room?.kind === "direct") return "a direct message";
  if (room?.kind === "group") return conversationLabel(room);
  return `#${roomName}`;
}

function shorten(text) {
  return text.length > BODY_MAX ? `${text.slice(0, BODY_MAX - 1)}…` : text;
}
