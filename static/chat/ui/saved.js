// Saved messages: "Save" on a message keeps it for later (save_message); the
// sidebar's "Saved messages" lists them (list_saved), across rooms. message_saved
// keeps every device of ours in step.
import { conn } from "../connection.js";
import { clock, el, richText } from "../render.js";
import { current } from "../store/current.js";
import { rooms, roomState } from "../store/rooms.js";
import { updateMessage } from "./messages.js";
import { notice } from "./notice.js";
import { conversationLink, pagedPanel } from "./panel.js";

let view = null;

export function bindSaved() {
  view = pagedPanel("saved", {
    load: async (before) => {
      const reply = await conn.request("list_saved", before ? { before } : {});
      return { items: reply.messages, next: reply.next };
    },
    item: savedItem,
  });
}

// A message_saved (ours, from any device): the message's flag, and the list.
export function savedChanged(d) {
  const message = rooms.get(d.room)?.messages.get(d.id);
  if (message) {
    message.saved = d.saved;
    if (d.room === current.room) updateMessage(message);
  }
  if (view?.isOpen()) view.refresh();
}

export async function toggleSave(li) {
  const message = roomState(current.room).messages.get(Number(li.dataset.id));
  if (!message) return;
  try {
    await conn.request("save_message", { id: message.id, saved: !message.saved });
  } catch (err) {
    notice(err.msg || "Not connected; try again.");
  }
}

function savedItem(m) {
  return el(
    "li",
    { "data-id": m.id, "data-room": m.room },
    el("div", { class: "meta" }, el("span", { class: "author", text: m.username }), conversationLink(m.room), el("time", { text: clock(m.time), dateTime: m.time })),
    el("div", { class: "body rich" }, richText(m.html)),
  );
}
