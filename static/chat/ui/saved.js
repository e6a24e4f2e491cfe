// Saved messages: "Save" on a message keeps it for later (save_message); the
// sidebar's "Saved messages" lists them (list_saved), across rooms. message_saved
// keeps every device of ours in step.
import { conn } from "../connection.js";
import { clock, el, richText } from "../render.js";
import { current } from "../store/current.js";
import { conversationLabel, rooms, roomState } from "../store/rooms.js";
import { $ } from "./dom.js";
import { updateMessage } from "./messages.js";
import { notice } from "./notice.js";
import { closeSidebar } from "./sidebar.js";

const toggle = $("saved-toggle");
const panel = $("saved-panel");
const list = $("saved-list");
const more = $("saved-more");
let next = null; // list_saved's cursor for the page after what is shown

export function bindSaved() {
  toggle.addEventListener("click", () => (panel.hidden ? showSaved() : hideSaved()));
  more.addEventListener("click", () => loadPage(next));
  $("saved-close").addEventListener("click", hideSaved);
}

// A message_saved (ours, from any device): the message's flag, and the list.
export function savedChanged(d) {
  const message = rooms.get(d.room)?.messages.get(d.id);
  if (message) {
    message.saved = d.saved;
    if (d.room === current.room) updateMessage(message);
  }
  if (!panel.hidden) showSaved();
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

function showSaved() {
  closeSidebar(); // on a phone the list is under it
  list.replaceChildren();
  panel.hidden = false;
  toggle.setAttribute("aria-expanded", "true");
  loadPage(null);
}

function hideSaved() {
  panel.hidden = true;
  toggle.setAttribute("aria-expanded", "false");
}

async function loadPage(before) {
  let reply;
  try {
    reply = await conn.request("list_saved", before ? { before } : {});
  } catch (err) {
    notice(err.msg || "Not connected; try again.");
    return;
  }
  list.append(...reply.messages.map(savedItem));
  next = reply.next;
  more.hidden = next == null;
  $("saved-empty").hidden = list.children.length > 0;
}

function savedItem(m) {
  const peer = rooms.get(m.room)?.with;
  const direct = m.room.startsWith("dm:");
  const group = rooms.get(m.room)?.kind === "group" ? rooms.get(m.room) : null;
  const link = group
    ? el("a", { href: `/rooms/${encodeURIComponent(m.room)}/`, text: conversationLabel(group) })
    : !direct
    ? el("a", { href: `/rooms/${encodeURIComponent(m.room)}/`, text: `#${m.room}` })
    : peer
      ? el("a", { href: `/dm/${encodeURIComponent(peer)}/`, text: `@${peer}` })
      : el("span", { class: "muted", text: "a direct message" });
  return el(
    "li",
    { "data-id": m.id, "data-room": m.room },
    el("div", { class: "meta" }, el("span", { class: "author", text: m.username }), link, el("time", { text: clock(m.time), dateTime: m.time })),
    el("div", { class: "body rich" }, richText(m.html)),
  );
}
