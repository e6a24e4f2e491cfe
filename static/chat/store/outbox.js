// Messages sent but not yet acknowledged, by clientId. Each is resent after a
// reconnect with the same clientId, so it is never stored twice.
import { current } from "./current.js";
import { roomState, sameGroup } from "./rooms.js";

export const outbox = new Map(); // clientId -> entry

function newClientId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16)); // randomUUID needs https
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// A message written in the open conversation, queued to be sent.
export function queueMessage(body) {
  const room = current.room ? roomState(current.room) : null;
  const entry = {
    clientId: newClientId(),
    // A new DM or group (no room yet, or a DM's): private_message.
    room: room && room.kind !== "direct" ? current.room : null,
    peer: current.peer,
    group: current.room ? null : current.group,
    body,
    state: "sending",
    time: new Date().toISOString(),
  };
  outbox.set(entry.clientId, entry);
  return entry;
}

// A reply's fields of its send_message (set by actions/threading.js sendReply).
export const replyFields = (entry) =>
  entry.threadId ? { threadId: entry.threadId, alsoToRoom: Boolean(entry.alsoToRoom) } : {};

// The entry as a message, shown while it is on its way.
export const pendingMessage = (entry) => ({
  id: null, clientId: entry.clientId, username: current.me, message: entry.body,
  time: entry.time, state: entry.state,
  ...replyFields(entry),
});

// Whether the entry was written in the open conversation.
export function pendingHere(entry) {
  if (entry.group) return !current.room && sameGroup(entry.group, current.group);
  return current.room ? entry.room === current.room || (!entry.room && roomState(current.room).with === entry.peer)
    : !entry.room && entry.peer === current.peer;
}
