// The connection's ups and downs. After every (re)connect: the rooms and unread
// counts, every room joined (the ones we hold messages of catch up from the last
// seq seen), unsent messages resent.
import { conn } from "../connection.js";
import { current } from "../store/current.js";
import { outbox } from "../store/outbox.js";
import { rooms, upsertRoom } from "../store/rooms.js";
import { $ } from "../ui/dom.js";
import { notice } from "../ui/notice.js";
import { renderSidebar } from "../ui/sidebar.js";
import { showConnected, showReconnecting } from "../ui/status.js";
import { renderTyping } from "../ui/typing.js";
import { joinRoom } from "./join.js";
import { renderAll } from "./refresh.js";
import { deliver } from "./sending.js";

export function connected() {
  showConnected();
  synchronise().catch((err) => notice(err.msg || "Could not load your rooms."));
}

export function disconnected() {
  showReconnecting();
  // Who is online is unknown until the server says again (presence_update).
  $("app").classList.add("presence-unknown");
  for (const room of rooms.values()) {
    room.joined = false;
    room.typers.clear();
    if (room.memberList) room.memberList.at = 0; // asked for again once back
  }
  renderTyping();
}

async function synchronise() {
  const { rooms: list } = await conn.request("list_rooms", {});
  for (const info of list) upsertRoom(info);
  renderSidebar();
  const names = new Set(list.map((r) => r.room));
  if (current.room) names.add(current.room);
  for (const name of names) await joinRoom(name);
  for (const entry of outbox.values()) deliver(entry);
  renderAll();
}
