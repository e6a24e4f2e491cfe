// Threads as the server tells us about them: replies in (live or from a resync),
// the root summaries, following and read markers, typing in the pane; and the
// pane closed, or marked read. Nothing here navigates or sends a message
// (actions/threading.js does), so the message paths can call it.
import { conn } from "../connection.js";
import { current } from "../store/current.js";
import { rooms, roomState } from "../store/rooms.js";
import { holdSeq } from "../store/seq.js";
import { applySummary, countReply, openThread, repliesOf, setThread, storeReply, threads } from "../store/threads.js";
import { updateMessage } from "../ui/messages.js";
import { adoptThreadEcho, hideThreadPane, renderThread, renderThreadTyping, threadPaneOpen } from "../ui/thread.js";
import { renderThreads } from "../ui/threads.js";

const TYPING_IDLE_MS = 1500; // then isTyping:false, as in the room's composer
const TYPING_STALE_MS = 5000; // drop someone's indicator whose "stopped" was lost

// --- Replies in --------------------------------------------------------------------

// A reply into the store (takeMessage): filed in its room; counted unread in its
// thread if it is new to us and we follow it.
export function replyTaken(room, m, live) {
  if (!m.alsoToRoom) storeReply(room, m);
  if (openThread.id === m.threadId) clearTimeout(openThread.typers.get(m.username));
  openThread.typers.delete(m.username);
  if (!live || m.deleted) return;
  countReply(m.threadId, m.id, m.username);
  if (openThread.id === m.threadId && m.username !== current.me) markThreadReadSoon();
}

// A live reply (receive): shown in the pane if it is open on its thread.
export function replyShown(room, m, pending) {
  if (openThread.id === m.threadId && openThread.room === room.name) {
    adoptThreadEcho(m.clientId, m.id);
    renderThread({ toEnd: Boolean(pending) });
  }
  renderThreads();
}

// --- Events ------------------------------------------------------------------------

export function threadUpdated(d) {
  const room = roomState(d.room);
  holdSeq(room, d.seq);
  const root = applySummary(room, d);
  if (root && d.room === current.room) updateMessage(root);
  // The newest reply, if its receive_message has not come (yet): counted once.
  if (d.lastReplyId && d.repliers?.length) countReply(d.id, d.lastReplyId, d.repliers[0]);
  if (openThread.id === d.id) renderThread();
  renderThreads();
}

export function followed(d) {
  const root = rooms.get(d.room)?.messages.get(d.id) || (openThread.id === d.id ? openThread.root : null);
  setThread({ ...d, root: threads.get(d.id)?.root || root }, root);
  if (openThread.id === d.id) {
    openThread.following = d.following;
    renderThread();
  }
  renderThreads();
}

export function threadRead(d) {
  if (!threads.has(d.id)) return;
  setThread({ ...d, following: true }, rooms.get(d.room)?.messages.get(d.id));
  renderThreads();
}

export function threadTyping(d) {
  if (openThread.id !== d.threadId || d.username === current.me) return;
  clearTimeout(openThread.typers.get(d.username));
  if (d.isTyping) {
    openThread.typers.set(d.username, setTimeout(() => {
      openThread.typers.delete(d.username);
      renderThreadTyping();
    }, TYPING_STALE_MS));
  } else {
    openThread.typers.delete(d.username);
  }
  renderThreadTyping();
}

// The connection dropped: nobody is known to be typing.
export function threadsDown() {
  for (const timer of openThread.typers.values()) clearTimeout(timer);
  openThread.typers.clear();
  renderThreadTyping();
}

// The followed threads from the server (after every connect, and on showing
// them): their unread counts are the truth.
export async function refreshThreads() {
  let reply;
  try {
    reply = await conn.request("list_threads", {});
  } catch {
    return;
  }
  threads.clear();
  for (const t of reply.threads) setThread({ ...t, id: t.id ?? t.root.id });
  renderThreads();
  if (openThread.id != null && threadPaneOpen()) {
    openThread.following = threads.has(openThread.id);
    renderThread();
  }
}

// --- The pane ----------------------------------------------------------------------

// The open thread read up to its latest reply.
export async function markThreadRead() {
  const { id, room: name } = openThread;
  const room = rooms.get(name);
  if (id == null || !room || !conn.isOpen) return;
  const latest = repliesOf(room, id).filter((m) => m.id != null).pop()?.id;
  const thread = threads.get(id);
  if (thread) {
    thread.unread = 0;
    renderThreads();
  }
  if (!latest || (thread && thread.lastReadId >= latest)) return;
  try {
    const ack = await conn.request("mark_thread_read", { id, messageId: latest });
    if (threads.has(id)) setThread({ ...ack, following: true }, room.messages.get(id));
    renderThreads();
  } catch {
    // Read on the next opening instead.
  }
}

let markTimer = null;
function markThreadReadSoon() {
  clearTimeout(markTimer);
  markTimer = setTimeout(markThreadRead, 300);
}

export function closeThread({ refocus = true } = {}) {
  stopThreadTyping();
  openThread.id = null;
  openThread.room = null;
  threadsDown();
  hideThreadPane({ refocus });
}

// After the open conversation changed: the pane closed if its room is no longer
// the open one.
export function followRoom() {
  if (openThread.id != null && openThread.room !== current.room) closeThread({ refocus: false });
  else renderThread();
}

// --- Typing in the pane ------------------------------------------------------------

let typingIn = null; // {room, threadId} we said we are typing in
let typingTimer = null;

// `text`: the pane composer's text, after a key.
export function startThreadTyping(text) {
  const { id, room } = openThread;
  if (id == null || !text.trim() || !rooms.get(room)?.joined) return;
  if (typingIn?.threadId !== id) {
    stopThreadTyping();
    typingIn = { room, threadId: id };
    conn.emit("typing", { room, isTyping: true, threadId: id });
  }
  clearTimeout(typingTimer);
  typingTimer = setTimeout(stopThreadTyping, TYPING_IDLE_MS);
}

export function stopThreadTyping() {
  clearTimeout(typingTimer);
  if (typingIn && conn.isOpen) conn.emit("typing", { ...typingIn, isTyping: false });
  typingIn = null;
}
