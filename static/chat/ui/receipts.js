// Read receipts. In a direct or group conversation: "Seen by ana" under the
// latest message each other member has read (not one of their own), kept current
// by read_receipt; "Seen by everyone" where all of a group's others are. In a
// room: a message's "Seen by…" action asks the server (get_read_receipts) and
// shows who, under the message.
import { conn } from "../connection.js";
import { el, extraActions } from "../render.js";
import { current } from "../store/current.js";
import { othersIn, rooms, roomState } from "../store/rooms.js";
import { $ } from "./dom.js";
import { notice } from "./notice.js";

const isConversation = (room) => room.kind === "direct" || room.kind === "group";

// join_room's `receipts`: how far each other member has read the conversation.
export function takeReceipts(room, receipts) {
  if (!receipts) return;
  room.receipts = new Map(Object.entries(receipts));
}

export function receiptArrived(d) {
  if (d.username === current.me || !rooms.has(d.room)) return; // ours, from another device
  const room = roomState(d.room);
  room.receipts = room.receipts || new Map();
  room.receipts.set(d.username, Math.max(room.receipts.get(d.username) || 0, d.messageId));
  if (d.room === current.room) renderReceipts();
}

// The "Seen by" lines of the open conversation, redrawn from the store.
export function renderReceipts() {
  const list = $("messages");
  for (const line of list.querySelectorAll(".seen-by")) line.remove();
  const room = current.room ? rooms.get(current.room) : null;
  if (!room || !isConversation(room) || !room.receipts) return;
  const items = [...list.querySelectorAll("li.message[data-id]")].reverse(); // newest first
  const readersAt = new Map(); // <li> -> the names that read up to it
  for (const [name, lastReadId] of room.receipts) {
    if (name === current.me) continue;
    const li = items.find((item) => Number(item.dataset.id) <= lastReadId && item.dataset.author !== name);
    if (li) readersAt.set(li, [...(readersAt.get(li) || []), name]);
  }
  const others = room.kind === "group" ? othersIn(room) : [];
  for (const [li, names] of readersAt) {
    names.sort();
    const everyone = others.length > 1 && others.every((name) => names.includes(name));
    const text = `Seen by ${everyone ? "everyone" : names.join(", ")}`;
    li.append(el("div", { class: "seen-by", "data-readers": names.join(","), text }));
  }
}

// --- Rooms: on demand -----------------------------------------------------------------

// A message the room itself shows, in a public or private room, has "Seen by…".
extraActions.push((message) => {
  const room = rooms.get(message.room);
  const inRoom = message.threadId == null || message.alsoToRoom;
  if (!room || isConversation(room) || !inRoom) return [];
  return [el("button", { type: "button", class: "seen-by-button", text: "Seen by…", title: "Who has read this" })];
});

export function bindReceipts() {
  for (const list of [$("messages"), $("thread-messages")]) {
    list.addEventListener("click", (e) => {
      const button = e.target.closest("button.seen-by-button");
      const li = button?.closest("li.message");
      if (li) toggleReaders(li, button);
    });
  }
}

async function toggleReaders(li, button) {
  const shown = li.querySelector(".readers");
  if (shown) {
    shown.remove();
    button.setAttribute("aria-expanded", "false");
    return;
  }
  const id = Number(li.dataset.id);
  // The thread pane may show another room's thread than the open room.
  const room = [...rooms.values()].find((r) => r.messages.has(id))?.name || current.room;
  let reply;
  try {
    reply = await conn.request("get_read_receipts", { room, messageId: id });
  } catch (err) {
    notice(err.msg || "Not connected; try again.");
    return;
  }
  const more = reply.total - reply.readBy.length;
  const panel = el(
    "div",
    { class: "readers", id: `readers-${li.dataset.id}`, role: "status" },
    el("span", { class: "muted", text: reply.total ? `Seen by ${reply.total}` : "Nobody has seen it yet" }),
    el("ul", {}, ...reply.readBy.map((name) => el("li", { text: name }))),
    more > 0 ? el("span", { class: "muted", text: `and ${more} more` }) : "",
  );
  li.querySelector(".body").after(panel);
  button.setAttribute("aria-controls", panel.id);
  button.setAttribute("aria-expanded", "true");
}
