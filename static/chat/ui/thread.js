// The thread pane beside the room: the root, its replies oldest first (older ones
// as it is scrolled up), a "New" divider at what was unread on opening, who is
// typing in it, and its own composer. Messages are drawn by render.js, as in the
// room's list. Escape, ✕ or Back close it, and focus goes back to the opener.
import { el, messageItem, typingText, updateMessageItem } from "../render.js";
import { current } from "../store/current.js";
import { messageKey } from "../store/messages.js";
import { outbox, pendingMessage } from "../store/outbox.js";
import { conversationLabel, mayPin, rooms } from "../store/rooms.js";
import { openThread, repliesOf, rootOf } from "../store/threads.js";
import { $ } from "./dom.js";
import { bindRoving, holdFocus } from "./roving.js";

const pane = $("thread-pane");
const list = $("thread-messages");
const input = $("thread-input");
bindRoving(list); // as the room's list: one tab stop, arrows within it
let nodes = new Map(); // message key -> <li>
// The list's other rows, kept so that a new reply only appends (the list is a
// live region: a screen reader hears what is added, not the thread again).
const countRow = el("li", { class: "thread-divider" }, el("span"));
const moreRow = el("li", { class: "thread-more muted", text: "Scroll up for older replies" });
const newRow = el("li", { class: "new-divider" }, el("span", { text: "New" }));
let opener = null; // what had focus when the pane opened, and its message's id
let maxLength = 4000;

// hooks: onSend(body, alsoToRoom), onInput(text), onFollow(), onOlder(), onClose().
export function bindThreadPane({ maxLength: limit, onSend, onInput, onFollow, onOlder, onClose }) {
  maxLength = limit;
  const form = $("thread-composer");
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const body = input.value.trim();
    if (!body || body.length > maxLength || openThread.id == null) return;
    input.value = "";
    fitInput();
    onSend(body, $("thread-also").checked);
    $("thread-also").checked = false;
  });
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      form.requestSubmit();
    }
  });
  input.addEventListener("input", () => {
    fitInput();
    onInput(input.value);
  });
  $("thread-follow").addEventListener("click", () => onFollow());
  $("thread-close").addEventListener("click", () => onClose());
  $("thread-back").addEventListener("click", () => onClose());
  pane.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && !e.defaultPrevented && !e.target.closest(".edit-input")) {
      e.preventDefault();
      onClose();
    }
  });
  list.addEventListener("scroll", () => {
    if (list.scrollTop < 60 && openThread.hasMore) onOlder();
  });
}

export const threadPaneOpen = () => !pane.hidden;

// The pane shown (empty until the thread loads), focus in its composer.
export function showThreadPane(from) {
  if (pane.hidden || from) {
    const control = from || document.activeElement;
    opener = { control, id: control?.closest?.("li.message")?.dataset.id };
  }
  nodes = new Map();
  list.replaceChildren();
  pane.hidden = false;
  $("app").classList.add("thread-open");
  renderThread();
  input.focus();
}

// `refocus`: focus back to the opener (not when the room it was in is left).
export function hideThreadPane({ refocus = true } = {}) {
  if (pane.hidden) return;
  pane.hidden = true;
  $("app").classList.remove("thread-open");
  nodes = new Map();
  list.replaceChildren();
  if (refocus) back()?.focus();
  opener = null;
}

// The pane redrawn from the store (nothing when closed); `toEnd`: scrolled to
// its newest reply (else it stays where it was, or at the end if it was there).
export function renderThread({ toEnd = false } = {}) {
  if (pane.hidden || openThread.id == null) return;
  const room = rooms.get(openThread.room);
  $("thread-room").textContent = room && room.kind !== "public" && room.kind !== "private"
    ? conversationLabel(room) || "" : `#${openThread.room}`;
  const follow = $("thread-follow");
  follow.textContent = openThread.following ? "Unfollow" : "Follow";
  follow.title = openThread.following ? "Stop counting its new replies in Threads" : "Count its new replies in Threads";
  follow.setAttribute("aria-pressed", String(openThread.following));
  $("thread-also-label").textContent = room?.kind === "public" || room?.kind === "private"
    ? `Also send to #${openThread.room}` : "Also send to the conversation";
  renderThreadTyping();
  const root = rootOf(room, openThread.id);
  if (!room || !root) return;
  // A deleted root keeps its thread readable, but takes no new replies.
  $("thread-composer").hidden = Boolean(root.deleted);
  $("thread-closed").hidden = !root.deleted;
  const stick = nearBottom();
  const fromBottom = list.scrollHeight - list.scrollTop;
  const canPin = mayPin(room);
  const replies = repliesOf(room, openThread.id);
  for (const entry of outbox.values()) {
    if (entry.threadId === openThread.id && entry.room === openThread.room) replies.push(pendingMessage(entry));
  }
  const keep = new Map();
  const children = [item(root, canPin, keep, "thread-root")];
  const count = replies.filter((m) => m.id != null && !m.deleted).length;
  countRow.firstChild.textContent = `${count} ${count === 1 ? "reply" : "replies"}`;
  children.push(countRow);
  if (openThread.hasMore) children.push(moreRow);
  let marked = false;
  for (const m of replies) {
    if (!marked && m.id != null && m.id > openThread.lastReadId && m.username !== current.me && !m.deleted) {
      children.push(newRow);
      marked = true;
    }
    children.push(item(m, canPin, keep));
  }
  nodes = keep;
  const shown = [...list.children];
  if (shown.length <= children.length && shown.every((node, i) => node === children[i])) {
    list.append(...children.slice(shown.length));
  } else {
    const refocus = holdFocus(list);
    list.replaceChildren(...children);
    refocus();
  }
  list.scrollTop = stick || toEnd ? list.scrollHeight : list.scrollHeight - fromBottom;
}

function item(m, canPin, keep, extraClass = "") {
  const key = messageKey(m);
  let li = nodes.get(key);
  if (li) updateMessageItem(li, m, current.me, canPin);
  else li = messageItem(m, current.me, canPin);
  if (extraClass) li.classList.add(extraClass);
  keep.set(key, li);
  return li;
}

// One message's item brought up to date, if the pane shows it.
export function updateThreadMessage(m) {
  if (pane.hidden) return;
  if (m.id === openThread.id && m.deleted) return renderThread(); // its composer goes
  const li = nodes.get(messageKey(m));
  const room = rooms.get(openThread.room);
  if (li) updateMessageItem(li, m, current.me, Boolean(room) && mayPin(room));
}

// Our "sending" reply becomes the delivered one, in place.
export function adoptThreadEcho(clientId, id) {
  const echo = nodes.get(`c${clientId}`);
  if (echo) {
    nodes.delete(`c${clientId}`);
    nodes.set(`m${id}`, echo);
  }
}

// The opener, or its message's new thread button if the message was redrawn,
// or the message box.
function back() {
  const { control, id } = opener || {};
  if (control?.isConnected && control.offsetParent !== null) return control;
  // Opened from the Threads view: back to its button (on a desktop; on a phone
  // it is in the closed drawer).
  if (control?.closest?.("#threads-panel") && !matchMedia("(max-width: 700px)").matches) return $("threads-toggle");
  const li = id && [...$("messages").querySelectorAll("li.message")].find((item) => item.dataset.id === id);
  return li?.querySelector(".thread-summary, .thread-link") || li || $("message-input");
}

export function renderThreadTyping() {
  $("thread-typing").textContent = pane.hidden ? "" : typingText([...openThread.typers.keys()]);
}

// Whether the pane can scroll (if not, older replies load by themselves).
export const threadScrolls = () => list.scrollHeight > list.clientHeight;

function nearBottom() {
  return list.scrollHeight - list.scrollTop - list.clientHeight < 60;
}

function fitInput() {
  input.style.height = "auto";
  input.style.height = `${Math.min(input.scrollHeight, 160)}px`;
}
