// Threads: the ones we follow (list_threads and its events) with their unread
// counts, and the one open in the pane. Replies live in their room's `messages`
// like any message (store/messages.js); views pick them out by `threadId`.
import { current } from "./current.js";
import { holdSeq } from "./seq.js";

// root id -> {room, id, root, following, unread, lastReadId, counted}; `counted`:
// the highest reply id counted in `unread`, so a reply is counted once however
// it reaches us (its receive_message, its thread_updated).
export const threads = new Map();

// The thread in the pane: {room, id, root, hasMore, loading, lastReadId (as it
// was on opening: the "New" divider), following, typers: name -> timer}.
export const openThread = { id: null, room: null, root: null, hasMore: false, loading: false, lastReadId: 0, following: false, typers: new Map() };

const isReply = (m) => m.threadId != null;

// Messages of a room held only because the pane showed them (an old root, an
// old reply sent to the room too): room name -> ids. The room's list shows them
// once its own history reaches them.
const held = new Map();

// Whether the room's list shows `m`: top-level messages and replies sent to the
// room too, within the history the list has loaded.
export function shownInRoom(room, m) {
  if (isReply(m) && !m.alsoToRoom) return false;
  if (m.id == null || !held.get(room.name)?.has(m.id)) return true;
  return m.id >= roomFloor(room);
}

// The oldest message of the room's own history that we hold (get_history's
// `before` for the next older page); 0 once it is all loaded.
export function roomFloor(room) {
  if (room.loaded && !room.hasMore) return 0;
  const ids = held.get(room.name);
  let floor = Infinity;
  for (const m of room.messages.values()) {
    if ((!isReply(m) || m.alsoToRoom) && !ids?.has(m.id) && m.id < floor) floor = m.id;
  }
  return floor;
}

// A thread's messages from get_thread (the root, replies): into the room's map,
// merged with what we hold; new ones held for the thread only.
export function holdForThread(room, m) {
  const previous = room.messages.get(m.id);
  if (!previous) {
    if (!held.has(room.name)) held.set(room.name, new Set());
    held.get(room.name).add(m.id);
  }
  room.messages.set(m.id, { ...previous, ...m, state: "delivered" });
  return room.messages.get(m.id);
}

// A reply shown only in its thread, from a live event or a resync.
export function storeReply(room, m) {
  holdSeq(room, m.seq);
  const previous = room.messages.get(m.id);
  room.messages.set(m.id, { ...previous, ...m, state: "delivered" });
  return !previous;
}

// The thread's replies we hold, oldest first.
export function repliesOf(room, rootId) {
  return [...room.messages.values()].filter((m) => m.threadId === rootId).sort((a, b) => a.id - b.id);
}

// The root as we know it best: the room's copy, or the one the server gave with
// the thread.
export function rootOf(room, rootId) {
  return room?.messages.get(rootId) || (openThread.id === rootId ? openThread.root : null) || threads.get(rootId)?.root || null;
}

// A followed thread's state as the server says it (list_threads, thread_followed,
// thread_read): its unread count is the truth, up to the last reply we know of.
// (The server's events also carry `lastReplyId`, where the spec does not say so.)
export function setThread({ room, id, root, following = true, unread, lastReadId, lastReplyId }, known = null) {
  if (!following) {
    threads.delete(id);
    return null;
  }
  const thread = threads.get(id) || { room, id, root: null, counted: 0 };
  thread.room = room;
  thread.following = true;
  if (root) thread.root = root;
  if (unread != null) thread.unread = unread;
  if (lastReadId != null) thread.lastReadId = lastReadId;
  const lastReply = Math.max(thread.root?.lastReplyId || 0, known?.lastReplyId || 0, lastReplyId || 0, lastReadId || 0);
  thread.counted = Math.max(thread.counted, lastReply);
  threads.set(id, thread);
  return thread;
}

// A root's summary changed (thread_updated): on our copies of it.
export function applySummary(room, d) {
  const summary = { replyCount: d.replyCount, lastReplyAt: d.lastReplyAt, lastReplyId: d.lastReplyId, repliers: d.repliers };
  const root = room.messages.get(d.id);
  if (root) Object.assign(root, summary);
  if (openThread.id === d.id && openThread.root) Object.assign(openThread.root, summary);
  const thread = threads.get(d.id);
  if (thread?.root) Object.assign(thread.root, summary);
  return root;
}

// A new reply (`id`, by `author`) seen live: one more unread in its thread if we
// follow it, it is not ours and the pane is not showing it. True if counted.
export function countReply(rootId, id, author) {
  const thread = threads.get(rootId);
  if (!thread || !id || author === current.me || id <= thread.counted) return false;
  thread.counted = id;
  if (openThread.id === rootId && document.visibilityState === "visible") return false;
  thread.unread = (thread.unread || 0) + 1;
  return true;
}

export function totalThreadUnread() {
  let total = 0;
  for (const thread of threads.values()) total += thread.unread || 0;
  return total;
}

// Followed threads, the latest reply first.
export function followedThreads() {
  const at = (t) => t.root?.lastReplyAt || t.root?.time || "";
  return [...threads.values()].sort((a, b) => (at(b) > at(a) ? 1 : at(b) < at(a) ? -1 : 0));
}
