// A room's messages (`room.messages`: id -> message, as the server sent it).
import { current } from "./current.js";
import { holdSeq } from "./seq.js";

export const messageKey = (m) => (m.id != null ? `m${m.id}` : `c${m.clientId}`);

// `live`: it happened since we last looked (an event, or a catch-up after a
// reconnect), so it may be unread; history pages are not. True for a new live
// message from someone else: the caller marks it read or counts it unread.
export function storeMessage(room, m, live = true) {
  holdSeq(room, m.seq);
  const previous = room.messages.get(m.id);
  room.messages.set(m.id, { ...previous, ...m, state: "delivered" });
  const isNew = !previous && m.id > (room.lastMessageId || 0);
  if (!isNew || m.deleted) return false;
  room.lastMessageId = m.id;
  if (!live || m.username === current.me) return false;
  room.typers.delete(m.username);
  return true;
}

// An edit or a deletion; the message changed, if we hold it.
export function changeMessage(room, id, change, seq) {
  holdSeq(room, seq);
  const message = room.messages.get(id);
  if (message) Object.assign(message, change);
  return message;
}

// One emoji's state on a message (a reaction_updated, or our react's ack): its
// count and first reactors, into the message's `reactions`, if we hold it.
// `mine`: whether we now have it (true/false), or undefined: unchanged.
export function applyReaction(room, d, mine) {
  const message = room.messages.get(d.id);
  if (!message) return null;
  const reactions = [...(message.reactions || [])];
  const at = reactions.findIndex((r) => r.emoji === d.emoji);
  const me = mine ?? (at >= 0 && reactions[at].me);
  const next = { emoji: d.emoji, count: d.count, users: d.users, me };
  if (d.count === 0) {
    if (at >= 0) reactions.splice(at, 1);
  } else if (at >= 0) {
    reactions[at] = next;
  } else {
    reactions.push(next);
  }
  message.reactions = reactions;
  return message;
}
