// The open conversation's message list: one <li> per message (pending ones last),
// day separators, and runs of one author's messages shown under one header.
import { dayKey, daySeparator, messageItem, updateMessageItem } from "../render.js";
import { current } from "../store/current.js";
import { messageKey } from "../store/messages.js";
import { outbox, pendingHere, pendingMessage } from "../store/outbox.js";
import { mayPin, roomState } from "../store/rooms.js";
import { shownInRoom } from "../store/threads.js";
import { $ } from "./dom.js";
import { renderReceipts } from "./receipts.js";
import { bindRoving, holdFocus } from "./roving.js";

const RUN_GAP_MS = 5 * 60 * 1000;
const messagesEl = $("messages");
let nodes = new Map(); // message key -> <li>, for the open room
bindRoving(messagesEl); // one tab stop for the whole list, arrows within it

// Rebuild the list from the store, keeping the first visible message in place.
export function renderMessages() {
  const anchor = [...messagesEl.querySelectorAll("li.message")].find((li) => li.offsetTop >= messagesEl.scrollTop);
  const anchorTop = anchor?.getBoundingClientRect().top;
  const stick = nearBottom();
  const room = current.room ? roomState(current.room) : null;
  const list = room ? [...room.messages.values()].filter((m) => shownInRoom(room, m)).sort((a, b) => a.id - b.id) : [];
  for (const entry of outbox.values()) if (pendingHere(entry) && (!entry.threadId || entry.alsoToRoom)) list.push(pendingMessage(entry));
  const keep = new Map();
  const children = [];
  let lastDay = null;
  for (const m of list) {
    const day = dayKey(m.time);
    if (day !== lastDay) children.push(daySeparator(m.time));
    lastDay = day;
    const key = messageKey(m);
    let li = nodes.get(key);
    const canPin = mayPin(room);
    if (li) updateMessageItem(li, m, current.me, canPin);
    else li = messageItem(m, current.me, canPin);
    keep.set(key, li);
    children.push(li);
  }
  nodes = keep;
  const refocus = holdFocus(messagesEl);
  messagesEl.replaceChildren(...children);
  refocus();
  fixDaySeparators();
  renderReceipts();
  if (anchor?.isConnected && !stick) {
    messagesEl.scrollTop += anchor.getBoundingClientRect().top - anchorTop;
  } else {
    messagesEl.scrollTop = messagesEl.scrollHeight;
  }
}

// One message into the list, in id order (pending ones last).
export function placeMessage(m, scroll) {
  const refocus = holdFocus(messagesEl);
  const stick = scroll || nearBottom();
  const key = messageKey(m);
  let li = nodes.get(key);
  const canPin = current.room != null && mayPin(roomState(current.room));
  if (li) {
    updateMessageItem(li, m, current.me, canPin);
    li.remove();
  } else {
    li = messageItem(m, current.me, canPin);
    nodes.set(key, li);
  }
  let after = null;
  const items = messagesEl.querySelectorAll("li.message");
  for (let i = items.length - 1; i >= 0; i--) {
    const id = items[i].dataset.id;
    if (m.id == null || (id && Number(id) < m.id)) {
      after = items[i];
      break;
    }
  }
  if (after) after.after(li);
  else messagesEl.prepend(li);
  refocus();
  fixDaySeparators();
  renderReceipts();
  if (stick) messagesEl.scrollTop = messagesEl.scrollHeight;
}

// The message's item, if shown, brought up to date.
export function updateMessage(m) {
  const li = nodes.get(messageKey(m));
  if (li) updateMessageItem(li, m, current.me, current.room != null && mayPin(roomState(current.room)));
}

// Our "sending" item becomes the delivered message, in place.
export function adoptEcho(clientId, id) {
  const echo = nodes.get(`c${clientId}`);
  if (echo) {
    nodes.delete(`c${clientId}`);
    nodes.set(`m${id}`, echo);
  }
}

// Message `id` in `list` (the room's, or the thread pane's) scrolled to the
// middle, focused, and marked for a moment: where a jump to it (the Mentions
// view, a notification) lands. False if the list does not show it.
const SPOTLIGHT_MS = 3000;
export function spotlight(id, list = messagesEl) {
  const li = [...list.querySelectorAll("li.message")].find((item) => item.dataset.id === String(id));
  if (!li) return false;
  li.scrollIntoView({ block: "center" });
  li.focus({ preventScroll: true });
  li.classList.add("spotlight");
  clearTimeout(spotlight.timers.get(li));
  spotlight.timers.set(li, setTimeout(() => li.classList.remove("spotlight"), SPOTLIGHT_MS));
  return true;
}
spotlight.timers = new WeakMap();

export function clearMessages() {
  nodes = new Map();
  messagesEl.replaceChildren();
}

// Whether the list is taller than its box (so scrolling up can load more).
export function listScrolls() {
  return messagesEl.scrollHeight > messagesEl.clientHeight;
}

export function onScrolledNearTop(callback) {
  messagesEl.addEventListener("scroll", () => {
    if (messagesEl.scrollTop < 80) callback();
  });
}

// A message's buttons: actions.retry(li), actions.edit(li), actions.delete(li),
// actions.react(li, button) (pick an emoji), actions.toggleReaction(li, emoji),
// actions.showEdits(li, button) (its earlier texts), actions.pin(li) (or unpin),
// actions.save(li) (or forget), actions.thread(li, button) (open its thread).
// `list`: the room's (default) or another list of messages (the thread pane's).
export function bindMessageActions(actions, list = messagesEl) {
  list.addEventListener("click", (e) => {
    const button = e.target.closest("button");
    const li = e.target.closest("li.message");
    if (!button || !li) return;
    if (button.classList.contains("retry")) actions.retry(li);
    else if (button.classList.contains("edit")) actions.edit(li);
    else if (button.classList.contains("delete")) actions.delete(li, button);
    else if (button.classList.contains("react")) actions.react(li, button);
    else if (button.classList.contains("reaction")) actions.toggleReaction(li, button.dataset.emoji);
    else if (button.classList.contains("edited-mark")) actions.showEdits(li, button);
    else if (button.classList.contains("pin")) actions.pin(li);
    else if (button.classList.contains("save")) actions.save(li);
    else if (button.matches(".reply-thread, .thread-summary, .thread-link")) actions.thread(li, button);
  });
}

function fixDaySeparators() {
  let lastDay = null;
  let previous = null;
  for (const node of [...messagesEl.children]) {
    if (node.classList.contains("day-separator")) {
      node.remove();
      continue;
    }
    const time = node.querySelector("time")?.dateTime || null;
    const day = dayKey(time);
    if (day !== lastDay) node.before(daySeparator(time));
    node.classList.toggle("continued", Boolean(previous && day === lastDay && continues(previous, node)));
    lastDay = day;
    previous = node;
  }
}

function continues(previous, node) {
  const a = previous.querySelector("time")?.dateTime;
  const b = node.querySelector("time")?.dateTime;
  return previous.dataset.author === node.dataset.author && !previous.classList.contains("deleted")
    && (!a || !b || new Date(b) - new Date(a) < RUN_GAP_MS);
}

function nearBottom() {
  return messagesEl.scrollHeight - messagesEl.scrollTop - messagesEl.clientHeight < 60;
}
