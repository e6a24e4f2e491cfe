// The open room's pinned messages: a "📌 N" button in the header that opens the
// list (get_pins), kept current by message_pinned and message_deleted.
import { conn } from "../connection.js";
import { clock, el, richText } from "../render.js";
import { current } from "../store/current.js";
import { roomState } from "../store/rooms.js";
import { $ } from "./dom.js";
import { notice } from "./notice.js";

const toggle = $("pins-toggle");
const panel = $("pins-panel");

// A pin or unpin (ours or anyone's) into the room's list of pinned ids.
export function setPinned(room, id, pinned) {
  const had = room.pins.includes(id);
  if (had === pinned) return;
  room.pins = pinned ? [id, ...room.pins] : room.pins.filter((p) => p !== id);
  if (room.name === current.room) {
    renderPinsToggle();
    if (!panel.hidden) showPins();
  }
}

export function renderPinsToggle() {
  const room = current.room ? roomState(current.room) : null;
  const count = room ? room.pins.length : 0;
  toggle.hidden = count === 0;
  toggle.textContent = `📌 ${count}`;
  toggle.title = `${count} pinned message${count === 1 ? "" : "s"}`;
  toggle.setAttribute("aria-label", toggle.title);
  if (count === 0) hidePins();
}

export function bindPins() {
  toggle.addEventListener("click", () => (panel.hidden ? showPins() : hidePins()));
}

// Pin the message of this item, or unpin it.
export async function togglePin(li) {
  const message = roomState(current.room).messages.get(Number(li.dataset.id));
  if (!message) return;
  try {
    await conn.request("pin_message", { id: message.id, pinned: !message.pinned });
  } catch (err) {
    notice(err.msg || "Not connected; try again.");
  }
}

async function showPins() {
  const room = current.room;
  let reply;
  try {
    reply = await conn.request("get_pins", { room });
  } catch (err) {
    notice(err.msg || "Not connected; try again.");
    return;
  }
  if (room !== current.room) return;
  $("pins-list").replaceChildren(...reply.messages.map(pinItem));
  panel.hidden = false;
  toggle.setAttribute("aria-expanded", "true");
}

function hidePins() {
  panel.hidden = true;
  toggle.setAttribute("aria-expanded", "false");
}

function pinItem(m) {
  return el(
    "li",
    { "data-id": m.id },
    el("div", { class: "meta" }, el("span", { class: "author", text: m.username }), el("time", { text: clock(m.time), dateTime: m.time })),
    el("div", { class: "body rich" }, richText(m.html)),
  );
}
