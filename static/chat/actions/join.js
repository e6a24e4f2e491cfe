// Joining a room: its members and topic, and every change we missed since the
// last seq we hold (or, for the open room seen for the first time, its newest
// messages).
import { conn } from "../connection.js";
import { current } from "../store/current.js";
import { roomState, upsertRoom } from "../store/rooms.js";
import { coverSeq } from "../store/seq.js";
import { notice } from "../ui/notice.js";
import { takeReceipts } from "../ui/receipts.js";
import { renderSidebar } from "../ui/sidebar.js";
import { takeMessage } from "./inbox.js";
import { isViewing, markRead } from "./reading.js";
import { renderAll } from "./refresh.js";

export async function joinRoom(name) {
  const room = roomState(name);
  const data = { room: name };
  const fresh = !room.loaded && name === current.room;
  if (!fresh && room.seq != null) data.after = room.seq;
  let ack;
  try {
    ack = await conn.request("join_room", data);
  } catch (err) {
    if (err.code === "rate_limited") {
      await new Promise((r) => setTimeout(r, err.retryAfter * 1000 + 50));
      return joinRoom(name);
    }
    if (err.code) notice(`#${name}: ${err.msg}`);
    return;
  }
  upsertRoom({ room: ack.room, kind: ack.kind, topic: ack.topic });
  room.joined = true;
  room.users = ack.users;
  room.pins = ack.pins || [];
  takeReceipts(room, ack.receipts);
  for (const m of ack.history) takeMessage(room, m, !fresh);
  if (fresh) {
    room.loaded = true;
    room.hasMore = ack.hasMore;
  }
  coverSeq(room, ack.seq);
  if (!fresh && ack.hasMore) return joinRoom(name); // more missed changes
  if (isViewing(room)) markRead(room);
  if (name === current.room) renderAll();
  else renderSidebar();
}
