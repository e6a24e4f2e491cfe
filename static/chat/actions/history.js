// Older messages, a page at a time: the newest page on opening a room, older ones
// as the list is scrolled up, and as many as it takes to fill the screen.
import { conn } from "../connection.js";
import { current } from "../store/current.js";
import { storeMessage } from "../store/messages.js";
import { roomState } from "../store/rooms.js";
import { roomFloor } from "../store/threads.js";
import { listScrolls, renderMessages } from "../ui/messages.js";
import { notice } from "../ui/notice.js";

const PAGE_SIZE = 50;

// The open room's list, rebuilt, and its history fetched if the list needs more.
export function showMessages() {
  renderMessages();
  const room = current.room ? roomState(current.room) : null;
  if (room && !room.loaded && room.joined) loadHistory(room);
  else if (room) fillScreen(room);
}

// A page of history: the newest one, or the one older than message id `before`.
async function loadHistory(room, before = null) {
  if (room.loadingHistory) return;
  room.loadingHistory = true;
  try {
    const data = { room: room.name, limit: PAGE_SIZE };
    if (before !== null) data.before = before;
    const page = await conn.request("get_history", data);
    for (const m of page.messages) storeMessage(room, m, false);
    if (before === null) room.loaded = true;
    room.hasMore = page.hasMore;
    if (room.name === current.room) showMessages();
  } catch (err) {
    if (err.code) notice(err.msg);
  } finally {
    room.loadingHistory = false;
  }
}

export async function loadOlder(room) {
  if (room.hasMore && room.loaded) await loadHistory(room, roomFloor(room)); // not a thread's old messages
}

// Load older pages until the list can scroll (so scrolling up can load more).
function fillScreen(room) {
  if (room.hasMore && !listScrolls()) loadOlder(room);
}
