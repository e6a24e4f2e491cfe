// DOM building. User text only ever enters the page as text nodes (textContent),
// and links are anchors built with the DOM API, never HTML strings.

const URL_RE = /\bhttps?:\/\/[^\s<>"]+[^\s<>".,:;'!?)\]]/g;

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === false || value == null) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("data-")) node.setAttribute(key, value);
    else node[key] = value;
  }
  node.append(...children);
  return node;
}

// Text with its http(s) links as anchors.
export function linkified(text) {
  const fragment = document.createDocumentFragment();
  let last = 0;
  for (const match of text.matchAll(URL_RE)) {
    fragment.append(text.slice(last, match.index));
    const link = el("a", { href: match[0], text: match[0], target: "_blank" });
    link.rel = "noopener noreferrer nofollow";
    fragment.append(link);
    last = match.index + match[0].length;
  }
  fragment.append(text.slice(last));
  return fragment;
}

export function dayKey(iso) {
  const d = iso ? new Date(iso) : new Date();
  return `${d.getFullYear()}-${d.getMonth() + 1}-${d.getDate()}`;
}

export function dayLabel(iso) {
  const d = iso ? new Date(iso) : new Date();
  const today = new Date();
  const yesterday = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 1);
  if (dayKey(d.toISOString()) === dayKey(today.toISOString())) return "Today";
  if (dayKey(d.toISOString()) === dayKey(yesterday.toISOString())) return "Yesterday";
  return d.toLocaleDateString([], { weekday: "long", year: "numeric", month: "long", day: "numeric" });
}

export function clock(iso) {
  return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

export function daySeparator(iso) {
  return el("li", { class: "day-separator", "data-day": dayKey(iso) }, el("span", { text: dayLabel(iso) }));
}

// A message <li>; `update` keeps it in step with the message as it changes.
export function messageItem(message, me) {
  const li = el("li", { class: "message" });
  li.append(
    el("div", { class: "meta" }, el("span", { class: "author" }), el("time")),
    el("div", { class: "body" }),
    el("span", { class: "edited-mark", text: "(edited)" }),
    el("div", { class: "status" }),
    el("div", { class: "actions" }),
  );
  updateMessageItem(li, message, me);
  return li;
}

export function updateMessageItem(li, message, me) {
  const mine = message.username === me;
  if (message.id != null) li.dataset.id = message.id;
  if (message.clientId) li.dataset.clientId = message.clientId;
  li.dataset.author = message.username;
  li.dataset.state = message.state || "delivered";
  li.classList.toggle("mine", mine);
  if (mine) li.tabIndex = 0; // so a tap (focus) shows its actions on a phone
  li.classList.toggle("deleted", Boolean(message.deleted));
  li.classList.toggle("edited", Boolean(message.editedAt) && !message.deleted);
  li.querySelector(".author").textContent = message.username;
  const time = li.querySelector("time");
  time.textContent = message.time ? clock(message.time) : "";
  if (message.time) time.dateTime = message.time;
  if (!li.querySelector(".edit-input")) {
    li.querySelector(".body").replaceChildren(
      message.deleted ? "This message was deleted." : linkified(message.message),
    );
  }
  const status = [];
  if (li.dataset.state === "sending") status.push(el("span", { text: "Sending…" }));
  if (li.dataset.state === "failed") {
    status.push(el("span", { text: "Not delivered." }));
    status.push(el("button", { type: "button", class: "retry", text: "Retry" }));
  }
  li.querySelector(".status").replaceChildren(...status);
  const actions = [];
  if (mine && !message.deleted && message.id != null) {
    actions.push(el("button", { type: "button", class: "edit", text: "Edit" }));
    actions.push(el("button", { type: "button", class: "delete", text: "Delete" }));
  }
  li.querySelector(".actions").replaceChildren(...actions);
}

export function typingText(names) {
  if (names.length === 0) return "";
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return `${names.length} people are typing…`;
}
