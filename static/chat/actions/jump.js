// Opening a message where it was said (from the Mentions view, a desktop
// notification, a Web Push one or its link): its room, scrolled to it (older
// pages loaded until it is there) and marked for a moment; a thread's reply, in
// its thread.
import { conn } from "../connection.js";
import { current } from "../store/current.js";
import { roomState } from "../store/rooms.js";
import { shownInRoom } from "../store/threads.js";
import { $ } from "../ui/dom.js";
import { spotlight } from "../ui/messages.js";
import { notice } from "../ui/notice.js";
import { loadOlder } from "./history.js";
import { goToRoom } from "./navigation.js";
import { openThreadIn } from "./threading.js";

const GIVE_UP_MS = 15_000; // a message this many pages back is not worth the wait
const POLL_MS = 100;

// `threadId`: the root of the thread message `id` is a reply in, if it is one.
export async function openMessage(roomName, id, threadId = null) {
  if (threadId != null && threadId !== id) {
    await openThreadIn(roomName, threadId);
    spotlight(id, $("thread-messages"));
    return;
  }
  goToRoom(roomName);
  const found = await reach(roomState(roomName), id);
  if (current.room !== roomName) return; // the user went elsewhere meanwhile
  if (!found || !spotlight(id)) notice("That message is no longer in the conversation.");
}

// A message known only by its room and id (a push's link): get_thread says
// whether it is a thread's reply, and whose.
export async function openLinkedMessage(roomName, id) {
  let threadId = null;
  try {
    const reply = await conn.request("get_thread", { id, limit: 1 });
    if (reply.root.id !== id) threadId = reply.root.id;
  } catch {
    // Not a thread we can read (or not connected): looked for in the room.
  }
  return openMessage(roomName, id, threadId);
}

// Whether the room's list holds message `id`, once its history is loaded far
// enough back (while the room stays open).
async function reach(room, id) {
  const deadline = Date.now() + GIVE_UP_MS;
  while (current.room === room.name && Date.now() < deadline) {
    const message = room.messages.get(id);
    if (message && shownInRoom(room, message)) return true;
    if (room.loaded && !room.hasMore) return false;
    if (room.loaded && !room.loadingHistory) await loadOlder(room);
    else await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  return false;
}
