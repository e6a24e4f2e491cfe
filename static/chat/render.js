// DOM building. User text only ever enters the page as text nodes (textContent),
// and links are anchors built with the DOM API. The one HTML string, a message's
// server-rendered `html`, is parsed inert and rebuilt from an allow-list (richText).
import { markMentions, mentionsMe } from "./mentions.js";

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

// The tags the server's renderer makes (chat/domain/richtext.py); anything else
// in `html` is dropped and its text kept, whatever the server sent.
const RICH_TAGS = new Set(["P", "BR", "STRONG", "EM", "DEL", "S", "CODE", "PRE", "BLOCKQUOTE", "UL", "OL", "LI", "A"]);
const SAFE_HREF = /^(https?:|mailto:)/i;
const CODE_CLASS = /^language-[a-z0-9+#-]{1,20}$/;

// A message's server-rendered HTML as nodes.
export function richText(html) {
  const template = document.createElement("template");
  template.innerHTML = html; // a template's content is inert: nothing runs or loads
  return allowedCopy(template.content);
}

function allowedCopy(source) {
  const fragment = document.createDocumentFragment();
  for (const node of source.childNodes) {
    if (node.nodeType === Node.TEXT_NODE) fragment.append(node.textContent);
    if (node.nodeType !== Node.ELEMENT_NODE) continue;
    const children = allowedCopy(node);
    if (!RICH_TAGS.has(node.tagName)) {
      fragment.append(children);
      continue;
    }
    const copy = document.createElement(node.tagName.toLowerCase());
    const href = node.getAttribute("href");
    if (node.tagName === "A" && href && SAFE_HREF.test(href)) {
      copy.href = href;
      copy.target = "_blank";
      copy.rel = "nofollow noopener noreferrer";
    }
    const codeClass = node.getAttribute("class");
    if (node.tagName === "CODE" && codeClass && CODE_CLASS.test(codeClass)) copy.className = codeClass;
    const start = Number(node.getAttribute("start"));
    if (node.tagName === "OL" && Number.isInteger(start) && start > 1) copy.start = start;
    copy.append(children);
    fragment.append(copy);
  }
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

// Other modules' actions on a delivered message: (message) => [buttons]
// (ui/receipts.js's "Seen by…").
export const extraActions = [];

// A message <li>; `update` keeps it in step with the message as it changes.
export function messageItem(message, me, canPin = false) {
  const li = el("li", { class: "message" });
  li.append(
    el("div", { class: "meta" }, el("span", { class: "author" }), el("time"), el("span", { class: "pinned-mark", text: "📌 Pinned" })),
    el("div", { class: "body" }),
    el("button", { type: "button", class: "edited-mark", text: "(edited)", title: "Show earlier versions" }),
    el("div", { class: "reactions" }),
    el("div", { class: "thread-bits" }),
    el("div", { class: "status" }),
    el("div", { class: "actions" }),
  );
  updateMessageItem(li, message, me, canPin);
  return li;
}

// `canPin`: whether we may pin in its room (store/rooms.js mayPin).
export function updateMessageItem(li, message, me, canPin = false) {
  const mine = message.username === me;
  if (message.id != null) li.dataset.id = message.id;
  if (message.clientId) li.dataset.clientId = message.clientId;
  li.dataset.author = message.username;
  li.dataset.state = message.state || "delivered";
  li.classList.toggle("mine", mine);
  // Focusable, so a tap (focus) shows its actions on a phone. Which one message
  // is the list's tab stop is ui/roving.js's to say.
  if (!li.hasAttribute("tabindex")) li.tabIndex = -1;
  li.classList.toggle("deleted", Boolean(message.deleted));
  li.classList.toggle("edited", Boolean(message.editedAt) && !message.deleted);
  li.classList.toggle("pinned", Boolean(message.pinned) && !message.deleted);
  li.querySelector(".author").textContent = message.username;
  const time = li.querySelector("time");
  time.textContent = message.time ? clock(message.time) : "";
  if (message.time) time.dateTime = message.time;
  if (!li.querySelector(".edit-input")) {
    const body = li.querySelector(".body");
    // Until the server has rendered it (a message being sent, an edit not yet
    // broadcast), the text as typed.
    const rich = Boolean(message.html) && !message.deleted;
    body.classList.toggle("rich", rich);
    body.replaceChildren(
      message.deleted ? "This message was deleted." : rich ? richText(message.html) : linkified(message.message),
    );
    if (!message.deleted) markMentions(body, message.mentions, me);
  }
  li.classList.toggle("mentions-me", !mine && !message.deleted && mentionsMe(message, me));
  const status = [];
  if (li.dataset.state === "sending") status.push(el("span", { text: "Sending…" }));
  if (li.dataset.state === "failed") {
    status.push(el("span", { text: "Not delivered." }));
    status.push(el("button", { type: "button", class: "retry", text: "Retry" }));
  }
  li.querySelector(".status").replaceChildren(...status);
  // The pills and buttons are rebuilt: a keyboard user's focus goes back to the
  // same one, or to React when its pill is gone.
  const focused = li.contains(document.activeElement) ? focusKey(document.activeElement) : null;
  const reactions = message.deleted ? [] : message.reactions || [];
  li.querySelector(".reactions").replaceChildren(...reactions.map(reactionButton));
  if (message.threadId != null) li.dataset.threadId = message.threadId;
  li.querySelector(".thread-bits").replaceChildren(...threadBits(message));
  const actions = [];
  if (!message.deleted && message.id != null) {
    actions.push(el("button", { type: "button", class: "react", text: "React", title: "Add a reaction" }));
    actions.push(el("button", { type: "button", class: "reply-thread", text: "Reply in thread", title: "Reply in this message's thread" }));
    const save = message.saved ? "Saved" : "Save";
    const saveButton = el("button", { type: "button", class: "save", text: save, title: message.saved ? "Remove from saved messages" : "Save for later" });
    saveButton.setAttribute("aria-pressed", String(Boolean(message.saved)));
    actions.push(saveButton);
    if (canPin) {
      const label = message.pinned ? "Unpin" : "Pin";
      actions.push(el("button", { type: "button", class: "pin", text: label, title: `${label} in the room's header` }));
    }
    for (const more of extraActions) actions.push(...more(message));
  }
  if (mine && !message.deleted && message.id != null) {
    actions.push(el("button", { type: "button", class: "edit", text: "Edit" }));
    actions.push(el("button", { type: "button", class: "delete", text: "Delete" }));
  }
  li.querySelector(".actions").replaceChildren(...actions);
  if (focused) refocus(li, focused);
}

function focusKey(element) {
  if (element.matches("button.reaction")) return { emoji: element.dataset.emoji };
  if (element.matches(".actions button")) return { action: element.classList[0] };
  return null;
}

function refocus(li, key) {
  const pill = key.emoji && [...li.querySelectorAll("button.reaction")].find((b) => b.dataset.emoji === key.emoji);
  const target = pill || li.querySelector(`.actions button.${key.action || "react"}`) || li.querySelector(".actions button.react");
  target?.focus();
}

// A message's thread line in the room's list: "N replies" (who replied last,
// and when) under a root, or "replied to a thread" on a reply sent to the room
// too. Both open the thread pane (ui/messages.js passes their clicks on).
export function threadBits(message) {
  if (message.threadId != null) {
    if (!message.alsoToRoom) return [];
    return [el("button", { type: "button", class: "link thread-link", text: "replied to a thread", title: "Open the thread" })];
  }
  const count = message.replyCount || 0;
  if (count === 0) return [];
  const repliers = message.repliers || [];
  const button = el(
    "button",
    { type: "button", class: "thread-summary", title: "Open the thread" },
    el("span", { class: "reply-count", text: `${count} ${count === 1 ? "reply" : "replies"}` }),
    repliers.length ? el("span", { class: "repliers", text: repliers.join(", ") }) : "",
    message.lastReplyAt ? el("time", { class: "last-reply", dateTime: message.lastReplyAt, text: `last reply ${whenText(message.lastReplyAt)}` }) : "",
  );
  return [button];
}

function whenText(iso) {
  if (dayKey(iso) === dayKey(null)) return clock(iso);
  return `${dayLabel(iso)} ${clock(iso)}`;
}

// One emoji under a message: pressed when we reacted with it; a click toggles it.
function reactionButton(reaction) {
  const who = reactorsText(reaction);
  const button = el(
    "button",
    { type: "button", class: "reaction", "data-emoji": reaction.emoji, title: `${who} reacted with ${reaction.emoji}` },
    el("span", { class: "reaction-emoji", text: reaction.emoji }),
    el("span", { class: "reaction-count", text: String(reaction.count) }),
  );
  button.setAttribute("aria-pressed", String(reaction.me));
  button.setAttribute("aria-label", `${reaction.emoji} ${reaction.count}: ${who}`);
  return button;
}

function reactorsText({ users, count }) {
  const others = count - users.length;
  if (others <= 0) return listed(users);
  return `${users.join(", ")} and ${others} other${others === 1 ? "" : "s"}`;
}

function listed(names) {
  if (names.length <= 1) return names.join("");
  return `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`;
}

export function typingText(names) {
  if (names.length === 0) return "";
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return `${names.length} people are typing…`;
}
