// The Threads view: the sidebar's "Threads" button (with the unread replies of
// every followed thread) opens the list of followed threads, the latest reply
// first; a click on one opens its room and the thread beside it.
import { clock, el } from "../render.js";
import { followedThreads, totalThreadUnread } from "../store/threads.js";
import { $ } from "./dom.js";
import { conversationName } from "./panel.js";
import { closeSidebar } from "./sidebar.js";

const toggle = $("threads-toggle");
const panel = $("threads-panel");
let hooks = { onShow() {}, onOpen() {} };

// hooks: onShow() (the list asked for again), onOpen(room, id).
export function bindThreads(given) {
  hooks = given;
  toggle.addEventListener("click", () => (panel.hidden ? showThreads() : hideThreads()));
  $("threads-close").addEventListener("click", hideThreads);
  $("threads-list").addEventListener("click", (e) => {
    const li = e.target.closest("li.thread-item");
    if (!li || !e.target.closest("button.thread-open")) return;
    hideThreads();
    hooks.onOpen(li.dataset.room, Number(li.dataset.id));
  });
}

export function renderThreads() {
  const total = totalThreadUnread();
  const badge = $("threads-badge");
  badge.textContent = String(total);
  badge.hidden = total === 0;
  toggle.classList.toggle("unread", total > 0);
  toggle.setAttribute("aria-label", total ? `Threads, ${total} unread ${total === 1 ? "reply" : "replies"}` : "Threads");
  if (panel.hidden) return;
  const items = followedThreads().map(threadItem);
  $("threads-list").replaceChildren(...items);
  $("threads-empty").hidden = items.length > 0;
}

function showThreads() {
  closeSidebar(); // on a phone the list is under it
  panel.hidden = false;
  toggle.setAttribute("aria-expanded", "true");
  renderThreads();
  hooks.onShow();
}

function hideThreads() {
  panel.hidden = true;
  toggle.setAttribute("aria-expanded", "false");
}

function threadItem(thread) {
  const root = thread.root || {};
  const count = root.replyCount || 0;
  const unread = thread.unread || 0;
  const where = conversationName(thread.room);
  const text = root.deleted ? "This message was deleted." : root.message || "";
  const li = el(
    "li",
    { class: `thread-item${unread ? " unread" : ""}`, "data-id": thread.id, "data-room": thread.room },
    el(
      "button",
      { type: "button", class: "thread-open" },
      el(
        "span",
        { class: "meta" },
        el("span", { class: "thread-where", text: where }),
        el("span", { class: "author", text: root.username || "" }),
        el("span", { class: "reply-count", text: `${count} ${count === 1 ? "reply" : "replies"}` }),
        root.lastReplyAt ? el("time", { dateTime: root.lastReplyAt, text: clock(root.lastReplyAt) }) : "",
        el("span", { class: "badge", text: String(unread), hidden: unread === 0, title: `${unread} unread` }),
      ),
      el("span", { class: "thread-root-text", text }),
    ),
  );
  return li;
}
