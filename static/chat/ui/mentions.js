// The Mentions view: the sidebar's "Mentions" button (with every room's unread
// mentions) lists the messages that named me, across rooms, the newest first
// (list_mentions, a page at a time), the unread ones marked; a click opens one
// where it was said.
import { conn } from "../connection.js";
import { markMentions } from "../mentions.js";
import { clock, dayKey, dayLabel, el } from "../render.js";
import { current } from "../store/current.js";
import { $ } from "./dom.js";
import { conversationName, pagedPanel } from "./panel.js";

let view = null;

// onOpen(room, id, threadId): a mention picked.
export function bindMentions({ onOpen }) {
  view = pagedPanel("mentions", {
    load: async (before) => {
      const reply = await conn.request("list_mentions", before ? { before } : {});
      const items = reply.mentions;
      return { items, next: reply.hasMore && items.length ? items[items.length - 1].id : null };
    },
    item: mentionItem,
  });
  $("mentions-list").addEventListener("click", (e) => {
    const li = e.target.closest("li.mention-item");
    if (!li || !e.target.closest("button.mention-open")) return;
    view.hide();
    onOpen(li.dataset.room, Number(li.dataset.id), li.dataset.threadId ? Number(li.dataset.threadId) : null);
  });
}

// A new mention: the open list asked for again.
export function mentionsChanged() {
  if (view?.isOpen()) view.refresh();
}

// The room read up to `lastReadId` (on some device): its mentions up to there
// are no longer new.
export function mentionsRead(roomName, lastReadId) {
  if (!view?.isOpen() || lastReadId == null) return;
  for (const li of $("mentions-list").querySelectorAll("li.mention-item.unread")) {
    if (li.dataset.room === roomName && Number(li.dataset.id) <= lastReadId) markRead(li);
  }
}

function markRead(li) {
  li.classList.remove("unread");
  li.querySelector(".unread-mark")?.remove();
}

function mentionItem(m) {
  const text = el("span", { class: "mention-text", text: m.deleted ? "This message was deleted." : m.message });
  if (!m.deleted) markMentions(text, m.mentions, current.me);
  return el(
    "li",
    { class: `mention-item${m.read ? "" : " unread"}`, "data-id": m.id, "data-room": m.room, "data-thread-id": m.threadId ?? null },
    el(
      "button",
      { type: "button", class: "mention-open" },
      el(
        "span",
        { class: "meta" },
        el("span", { class: "mention-where", text: conversationName(m.room) }),
        el("span", { class: "author", text: m.username }),
        el("time", { dateTime: m.time, text: when(m.time) }),
        m.read ? "" : el("span", { class: "unread-mark", text: "New" }),
      ),
      text,
    ),
  );
}

// Today's time, or the day and time.
function when(iso) {
  return dayKey(iso) === dayKey() ? clock(iso) : `${dayLabel(iso)}, ${clock(iso)}`;
}
