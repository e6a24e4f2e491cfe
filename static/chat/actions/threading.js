// Threads, what the user does: open one in the pane (get_thread, then read up to
// its latest reply), page back through it, reply in it, follow it, open one from
// the Threads view (its room first).
import { conn } from "../connection.js";
import { current } from "../store/current.js";
import { pendingMessage, queueMessage } from "../store/outbox.js";
import { rooms, roomState } from "../store/rooms.js";
import { holdForThread, openThread, repliesOf, threads } from "../store/threads.js";
import { placeMessage } from "../ui/messages.js";
import { notice } from "../ui/notice.js";
import { renderThread, showThreadPane, threadScrolls } from "../ui/thread.js";
import { goToRoom } from "./navigation.js";
import { closeThread, followed, markThreadRead, stopThreadTyping, threadsDown } from "./replies.js";
import { deliver } from "./sending.js";

const PAGE_SIZE = 50;

// Open the thread of message `id` (a root, or a reply: its root's) of the open
// room; `from`: the control that opened it, focused again on closing.
export async function openThreadOf(id, from = null) {
  const room = current.room ? roomState(current.room) : null;
  if (!room) return;
  const rootId = room.messages.get(id)?.threadId ?? id;
  if (openThread.id !== rootId || openThread.room !== room.name) {
    stopThreadTyping();
    threadsDown();
    Object.assign(openThread, {
      id: rootId, room: room.name, root: null, hasMore: false, loading: false,
      lastReadId: threads.get(rootId)?.lastReadId ?? Infinity, following: threads.has(rootId),
    });
  }
  showThreadPane(from);
  await loadThread();
}

// A thread of any room (the Threads view): its room opened, then the thread.
export function openThreadIn(roomName, id) {
  goToRoom(roomName);
  return openThreadOf(id);
}

// A page of the open thread: its newest replies, or those before reply `before`.
async function loadThread(before = null) {
  const { id, room: name } = openThread;
  if (id == null || openThread.loading) return;
  openThread.loading = true;
  let reply;
  try {
    const data = { id, limit: PAGE_SIZE };
    if (before != null) data.before = before;
    reply = await conn.request("get_thread", data);
  } catch (err) {
    if (err.code) notice(err.msg);
    if (err.code === "not_found" && openThread.id === id) closeThread();
    return;
  } finally {
    openThread.loading = false;
  }
  if (openThread.id !== id || openThread.room !== name) return;
  const room = roomState(reply.room || name);
  openThread.root = holdForThread(room, reply.root);
  for (const m of reply.messages) holdForThread(room, m);
  if (before == null) {
    openThread.following = reply.following;
    openThread.lastReadId = reply.lastReadId || 0;
  }
  openThread.hasMore = reply.hasMore;
  renderThread({ toEnd: before == null });
  if (before == null) markThreadRead();
  if (openThread.hasMore && !threadScrolls()) loadOlderReplies();
}

export function loadOlderReplies() {
  const room = rooms.get(openThread.room);
  const replies = room ? repliesOf(room, openThread.id).filter((m) => m.id != null) : [];
  if (replies.length && openThread.hasMore) loadThread(replies[0].id);
}

export async function toggleFollow() {
  const { id } = openThread;
  if (id == null) return;
  try {
    const ack = await conn.request("follow_thread", { id, follow: !openThread.following });
    // Following from the pane: what it shows is read.
    followed({ ...ack, unread: ack.following ? 0 : undefined });
  } catch (err) {
    notice(err.msg || "Not connected; try again.");
  }
}

// A reply written in the pane's composer.
export function sendReply(body, alsoToRoom) {
  const entry = queueMessage(body);
  entry.room = openThread.room; // send_message works in a direct conversation too
  entry.threadId = openThread.id;
  entry.alsoToRoom = alsoToRoom;
  stopThreadTyping();
  renderThread({ toEnd: true });
  if (alsoToRoom && openThread.room === current.room) placeMessage(pendingMessage(entry), true);
  deliver(entry);
}
