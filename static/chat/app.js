// The chat app: a store of rooms and messages kept in step with the server over
// one socket (protocol v1, docs/PROTOCOL.md), and the DOM kept in step with the
// store. Ids and classes follow docs/UI-CONTRACT.md.
import { connect } from "./transport/index.js";
import {
  dayKey,
  daySeparator,
  el,
  messageItem,
  typingText,
  updateMessageItem,
} from "./render.js";

const TYPING_IDLE_MS = 1500; // send isTyping:false after this long without a key
const TYPING_STALE_MS = 5000; // drop someone's indicator whose "stopped" was lost
const ACK_TIMEOUT_MS = 8000; // then a send shows "Not delivered" and a retry
const PAGE_SIZE = 50;

const $ = (id) => document.getElementById(id);
const app = $("app");
const me = app.dataset.me;
const maxLength = Number(app.dataset.maxLength) || 4000;
const conversation = $("conversation");
const messagesEl = $("messages");
const input = $("message-input");

// --- The store -------------------------------------------------------------------

const rooms = new Map(); // name -> room state
const online = new Set(); // usernames online anywhere
const outbox = new Map(); // clientId -> a message sent but not yet acknowledged
let current = conversation.dataset.room || null; // the open room's name
let currentPeer = conversation.dataset.peer || null; // on a direct conversation
let nodes = new Map(); // message key -> <li>, for the open room

function roomState(name) {
  if (!rooms.has(name)) {
    rooms.set(name, {
      name, kind: "public", topic: "", role: "member", with: null,
      unread: 0, lastReadId: null, lastMessageId: null, seq: null, seqAbove: new Set(),
      joined: false, loaded: false, hasMore: false, loadingHistory: false,
      messages: new Map(), users: [], typers: new Map(),
    });
  }
  return rooms.get(name);
}

function upsertRoom(info) {
  const room = roomState(info.room);
  for (const key of ["kind", "topic", "role", "with", "unread", "lastReadId"]) {
    if (info[key] !== undefined) room[key] = info[key];
  }
  if (info.lastMessageId != null) room.lastMessageId = Math.max(room.lastMessageId || 0, info.lastMessageId);
  // The room's seq now only seeds a room we have seen nothing of (its unread count
  // covers what came before). Where we hold messages, our own last seen seq is
  // what a resync must start from, or changes made while we were away are skipped.
  if (info.seq != null && room.seq == null) room.seq = info.seq;
  return room;
}

// `room.seq` is the seq up to which we hold every change of the room, and
// `room.seqAbove` the changes we hold past it. A room's events can arrive out of
// order (each worker publishes its own), so resyncing from the highest seq seen
// could skip one still on its way.
function holdSeq(room, seq) {
  if (seq == null || room.seq == null || seq <= room.seq) return;
  room.seqAbove.add(seq);
  advanceSeq(room);
}

// A join reply holds every change up to its `seq`.
function coverSeq(room, seq) {
  room.seq = Math.max(room.seq ?? 0, seq);
  for (const s of room.seqAbove) if (s <= room.seq) room.seqAbove.delete(s);
  advanceSeq(room);
}

function advanceSeq(room) {
  while (room.seqAbove.delete(room.seq + 1)) room.seq += 1;
}

function directRoomWith(username) {
  for (const room of rooms.values()) if (room.kind === "direct" && room.with === username) return room;
  return null;
}

const isViewing = (room) => room.name === current && document.visibilityState === "visible";
const messageKey = (m) => (m.id != null ? `m${m.id}` : `c${m.clientId}`);

// --- The connection ----------------------------------------------------------------

const conn = connect({
  url: `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/chat/`,
  onEvent: (event, data) => handlers[event]?.(data),
  onOpen: () => {
    $("connection-banner").hidden = true;
    synchronise().catch((err) => notice(err.msg || "Could not load your rooms."));
  },
  onDown: () => {
    $("connection-banner").hidden = false;
    for (const room of rooms.values()) {
      room.joined = false;
      room.typers.clear();
    }
    renderTyping();
  },
  onForbidden: () => {
    const banner = $("connection-banner");
    banner.textContent = "Your account can no longer chat here.";
    banner.hidden = false;
    $("composer").hidden = true;
  },
  onUnauthenticated: () => {
    location.href = `${app.dataset.loginUrl}?next=${encodeURIComponent(location.pathname)}`;
  },
});

// After every (re)connect: the rooms and unread counts, every room joined (the
// ones we hold messages of catch up from the last seq seen), unsent messages resent.
async function synchronise() {
  const { rooms: list } = await conn.request("list_rooms", {});
  for (const info of list) upsertRoom(info);
  renderSidebar();
  const names = new Set(list.map((r) => r.room));
  if (current) names.add(current);
  for (const name of names) await joinRoom(name);
  for (const entry of outbox.values()) deliver(entry);
  renderAll();
}

async function joinRoom(name) {
  const room = roomState(name);
  const data = { room: name };
  const fresh = !room.loaded && name === current;
  if (!fresh && room.seq != null) data.after = room.seq;
  let ack;
  try {
    ack = await conn.request("join_room", data);
  } catch (err) {
    if (err.code === "rate_limited") {
      await new Promise((r) => setTimeout(r, err.retryAfter * 1000 + 50));
      return joinRoom(name);
    }
    if (err.code) notice(`#${name}: ${err.msg}`);
    return;
  }
  upsertRoom({ room: ack.room, kind: ack.kind, topic: ack.topic });
  room.joined = true;
  room.users = ack.users;
  for (const m of ack.history) storeMessage(room, m, !fresh);
  if (fresh) {
    room.loaded = true;
    room.hasMore = ack.hasMore;
  }
  coverSeq(room, ack.seq);
  if (!fresh && ack.hasMore) return joinRoom(name); // more missed changes
  if (isViewing(room)) markRead(room);
  if (name === current) renderAll();
  else renderSidebar();
}

// --- Messages in --------------------------------------------------------------------

// `live`: it happened since we last looked (an event, or a catch-up after a
// reconnect), so it may be unread; history pages are not.
function storeMessage(room, m, live = true) {
  holdSeq(room, m.seq);
  const previous = room.messages.get(m.id);
  room.messages.set(m.id, { ...previous, ...m, state: "delivered" });
  const isNew = !previous && m.id > (room.lastMessageId || 0);
  if (!isNew || m.deleted) return;
  room.lastMessageId = m.id;
  if (!live || m.username === me) return;
  room.typers.delete(m.username);
  if (isViewing(room)) markReadSoon(room);
  else room.unread += 1;
}

function receive(roomName, m) {
  const room = roomState(roomName);
  const pending = m.clientId && m.username === me ? outbox.get(m.clientId) : null;
  if (pending) {
    clearTimeout(pending.timer);
    outbox.delete(m.clientId);
  }
  storeMessage(room, m);
  if (room.name === current) {
    const echo = nodes.get(`c${m.clientId}`);
    if (echo) {
      // The "sending" item becomes the delivered message, in place.
      nodes.delete(`c${m.clientId}`);
      nodes.set(`m${m.id}`, echo);
    }
    placeMessage(room.messages.get(m.id), Boolean(pending));
    renderTyping();
  }
  renderSidebar();
}

const handlers = {
  receive_message(d) {
    receive(d.room, d);
  },
  private_message(d) {
    const other = d.isSelf ? d.to : d.from;
    const room = upsertRoom({ room: d.room, kind: "direct", with: other });
    if (!current && currentPeer === other) openConversation(d.room);
    receive(d.room, { ...d, username: d.from });
    if (!room.joined) joinRoom(d.room);
  },
  message_edited(d) {
    changeMessage(d.room, d.id, { message: d.message, editedAt: d.editedAt }, d.seq);
  },
  message_deleted(d) {
    changeMessage(d.room, d.id, { deleted: true, message: "" }, d.seq);
  },
  user_typing(d) {
    const room = roomState(d.room);
    clearTimeout(room.typers.get(d.username));
    if (d.isTyping) {
      room.typers.set(d.username, setTimeout(() => {
        room.typers.delete(d.username);
        renderTyping();
      }, TYPING_STALE_MS));
    } else {
      room.typers.delete(d.username);
    }
    renderTyping();
  },
  room_users(d) {
    roomState(d.room).users = d.users;
    if (d.room === current) renderMembers();
  },
  presence_update(d) {
    online.clear();
    for (const name of d.online) online.add(name);
    renderSidebar();
  },
  room_read(d) {
    const room = roomState(d.room);
    room.unread = d.unread;
    room.lastReadId = d.lastReadId;
    renderSidebar();
  },
  error(d) {
    notice(d.msg);
  },
  kicked(d) {
    const room = rooms.get(d.room);
    if (room) {
      rooms.delete(d.room);
      if (current === d.room) {
        history.pushState(null, "", "/");
        openConversation(null, null);
      }
      renderSidebar();
    }
    notice(`You were removed from #${d.room} by ${d.by || "the site's moderators"}${d.reason ? `, who said: “${d.reason}”` : "."}`);
  },
  muted(d) {
    const until = new Date(d.until).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    notice(`${d.by || "The site's moderators"} muted you in #${d.room} until ${until}${d.reason ? `, saying: “${d.reason}”` : "."}`);
  },
  unmuted(d) {
    notice(`You can post in #${d.room} again.`);
  },
};

function changeMessage(roomName, id, change, seq) {
  const room = roomState(roomName);
  holdSeq(room, seq);
  const message = room.messages.get(id);
  if (!message) return;
  Object.assign(message, change);
  const li = nodes.get(`m${id}`);
  if (li && roomName === current) updateMessageItem(li, message, me);
}

// --- Read markers -------------------------------------------------------------------

let markTimer = null;
function markReadSoon(room) {
  clearTimeout(markTimer);
  markTimer = setTimeout(() => markRead(room), 300);
}

async function markRead(room) {
  const latest = room.lastMessageId;
  room.unread = 0;
  renderSidebar();
  if (!latest || (room.lastReadId && room.lastReadId >= latest) || !conn.isOpen) return;
  try {
    const ack = await conn.request("mark_read", { room: room.name, messageId: latest });
    room.lastReadId = Math.max(room.lastReadId || 0, latest);
    room.unread = ack.unread;
    renderSidebar();
  } catch {
    // Marked on the next visit instead.
  }
}

document.addEventListener("visibilitychange", () => {
  if (current && document.visibilityState === "visible") markRead(roomState(current));
});

// --- Sending --------------------------------------------------------------------------

function newClientId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16)); // randomUUID needs https
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function deliver(entry) {
  setPending(entry, "sending");
  // No ack in time (socket down, server slow): offer "Retry". It is also resent by
  // itself after a reconnect, with the same clientId, so it is never stored twice.
  clearTimeout(entry.timer);
  entry.timer = setTimeout(() => {
    if (outbox.has(entry.clientId)) setPending(entry, "failed");
  }, ACK_TIMEOUT_MS);
  if (!conn.isOpen) return;
  try {
    const ack = entry.room
      ? await conn.request("send_message", { room: entry.room, message: entry.body, clientId: entry.clientId })
      : await conn.request("private_message", { toUsername: entry.peer, message: entry.body, clientId: entry.clientId });
    if (!entry.room) {
      upsertRoom({ room: ack.room, kind: "direct", with: entry.peer });
      if (!current && currentPeer === entry.peer) openConversation(ack.room);
      joinRoom(ack.room);
    }
    if (outbox.has(entry.clientId)) {
      receive(ack.room, {
        id: ack.messageId, room: ack.room, seq: ack.seq, username: me,
        message: entry.body, time: ack.time, clientId: entry.clientId,
      });
    }
  } catch (err) {
    if (err.code === "rate_limited" || err.code === "unavailable") {
      // Both are passing: try again by itself (after 8 s it also offers "Retry").
      setTimeout(() => deliver(entry), err.retryAfter * 1000 + 50);
    } else if (err.code) {
      clearTimeout(entry.timer);
      setPending(entry, "failed");
      notice(err.msg);
    }
    // Otherwise the socket dropped: the entry is resent on reconnect.
  }
}

function setPending(entry, state) {
  entry.state = state;
  const li = nodes.get(`c${entry.clientId}`);
  if (li) updateMessageItem(li, pendingMessage(entry), me);
}

const pendingMessage = (entry) => ({
  id: null, clientId: entry.clientId, username: me, message: entry.body,
  time: entry.time, state: entry.state,
});

function pendingHere(entry) {
  return current ? entry.room === current || (!entry.room && roomState(current).with === entry.peer)
    : !entry.room && entry.peer === currentPeer;
}

$("composer").addEventListener("submit", (e) => {
  e.preventDefault();
  const body = input.value.trim();
  if (!body || body.length > maxLength || (!current && !currentPeer)) return;
  const room = current ? roomState(current) : null;
  const entry = {
    clientId: newClientId(),
    room: room && room.kind !== "direct" ? current : null, // DMs: private_message
    peer: currentPeer,
    body,
    state: "sending",
    time: new Date().toISOString(),
  };
  outbox.set(entry.clientId, entry);
  input.value = "";
  composerChanged();
  stopTyping();
  placeMessage(pendingMessage(entry), true);
  deliver(entry);
});

input.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    $("composer").requestSubmit();
  }
});

input.addEventListener("input", () => {
  composerChanged();
  startTyping();
});

function composerChanged() {
  const left = maxLength - input.value.trim().length;
  const counter = $("char-counter");
  counter.hidden = left > maxLength * 0.1;
  counter.textContent = left >= 0 ? `${left} left` : `${-left} too many`;
  counter.classList.toggle("over", left < 0);
  input.style.height = "auto";
  input.style.height = `${Math.min(input.scrollHeight, 200)}px`;
}

// --- Typing ---------------------------------------------------------------------------

let typingRoom = null;
let typingTimer = null;

function startTyping() {
  if (!current || !input.value.trim()) return;
  if (typingRoom !== current) {
    stopTyping();
    typingRoom = current;
    conn.emit("typing", { room: current, isTyping: true });
  }
  clearTimeout(typingTimer);
  typingTimer = setTimeout(stopTyping, TYPING_IDLE_MS);
}

function stopTyping() {
  clearTimeout(typingTimer);
  if (typingRoom) conn.emit("typing", { room: typingRoom, isTyping: false });
  typingRoom = null;
}

// --- Rendering -------------------------------------------------------------------------

function renderAll() {
  renderHeader();
  renderMessages();
  renderMembers();
  renderTyping();
  renderSidebar();
}

function renderHeader() {
  const room = current ? roomState(current) : null;
  const isDirect = currentPeer || room?.kind === "direct";
  const title = isDirect ? `@${currentPeer || room.with}` : current ? `#${current}` : "";
  $("room-title").textContent = title;
  $("room-topic").textContent = isDirect ? "Direct messages" : room?.topic || "";
  $("empty-state").hidden = Boolean(current || currentPeer);
  for (const id of ["messages", "typing", "composer"]) $(id).hidden = !(current || currentPeer);
  input.placeholder = title ? `Message ${title}` : "";
  const invite = $("invite");
  invite.hidden = !(room && room.kind === "private" && ["owner", "moderator"].includes(room.role));
  invite.action = current ? `/rooms/${encodeURIComponent(current)}/invite/` : "";
  conversation.dataset.room = current || "";
  conversation.dataset.peer = currentPeer || "";
}

// Rebuild the list from the store, keeping the first visible message in place.
function renderMessages() {
  const anchor = [...messagesEl.querySelectorAll("li.message")].find((li) => li.offsetTop >= messagesEl.scrollTop);
  const anchorTop = anchor?.getBoundingClientRect().top;
  const stick = nearBottom();
  const room = current ? roomState(current) : null;
  const list = room ? [...room.messages.values()].sort((a, b) => a.id - b.id) : [];
  for (const entry of outbox.values()) if (pendingHere(entry)) list.push(pendingMessage(entry));
  const keep = new Map();
  const children = [];
  let lastDay = null;
  for (const m of list) {
    const day = dayKey(m.time);
    if (day !== lastDay) children.push(daySeparator(m.time));
    lastDay = day;
    const key = messageKey(m);
    let li = nodes.get(key);
    if (li) updateMessageItem(li, m, me);
    else li = messageItem(m, me);
    keep.set(key, li);
    children.push(li);
  }
  nodes = keep;
  messagesEl.replaceChildren(...children);
  fixDaySeparators();
  if (anchor?.isConnected && !stick) {
    messagesEl.scrollTop += anchor.getBoundingClientRect().top - anchorTop;
  } else {
    messagesEl.scrollTop = messagesEl.scrollHeight;
  }
  if (room && !room.loaded && room.joined) loadHistory(room);
  else if (room) fillScreen(room);
}

// One message into the open room's list, in id order (pending ones last).
function placeMessage(m, scroll) {
  const stick = scroll || nearBottom();
  const key = messageKey(m);
  let li = nodes.get(key);
  if (li) {
    updateMessageItem(li, m, me);
    li.remove();
  } else {
    li = messageItem(m, me);
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
  fixDaySeparators();
  if (stick) messagesEl.scrollTop = messagesEl.scrollHeight;
}

// Day separators, and runs of one author's messages shown under one header.
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

const RUN_GAP_MS = 5 * 60 * 1000;
function continues(previous, node) {
  const a = previous.querySelector("time")?.dateTime;
  const b = node.querySelector("time")?.dateTime;
  return previous.dataset.author === node.dataset.author && !previous.classList.contains("deleted")
    && (!a || !b || new Date(b) - new Date(a) < RUN_GAP_MS);
}

function nearBottom() {
  return messagesEl.scrollHeight - messagesEl.scrollTop - messagesEl.clientHeight < 60;
}

// A page of history: the newest one, or the one older than message id `before`.
async function loadHistory(room, before = null) {
  if (room.loadingHistory) return;
  room.loadingHistory = true;
  try {
    const data = { room: room.name, limit: PAGE_SIZE };
    if (before !== null) data.before = before;
    const page = await conn.request("get_history", data);
    for (const m of page.messages) storeMessage(room, m, false);
    if (before === null) room.loaded = true;
    room.hasMore = page.hasMore;
    if (room.name === current) renderMessages();
  } catch (err) {
    if (err.code) notice(err.msg);
  } finally {
    room.loadingHistory = false;
  }
}

function loadOlder(room) {
  if (room.hasMore && room.loaded) loadHistory(room, Math.min(...room.messages.keys()));
}

// Load older pages until the list can scroll (so scrolling up can load more).
function fillScreen(room) {
  if (room.hasMore && messagesEl.scrollHeight <= messagesEl.clientHeight) loadOlder(room);
}

messagesEl.addEventListener("scroll", () => {
  if (current && messagesEl.scrollTop < 80) loadOlder(roomState(current));
});

function renderTyping() {
  const room = current ? roomState(current) : null;
  $("typing").textContent = room ? typingText([...room.typers.keys()]) : "";
}

function renderMembers() {
  const room = current ? roomState(current) : null;
  const users = room ? room.users : [];
  $("members").replaceChildren(...users.map((name) => el("li", { "data-user": name, class: "online" },
    personLink(name))));
}

function navItem(cls, href, label, room, extra = {}) {
  const unread = room ? room.unread : 0;
  const active = room ? room.name === current : extra.peer === currentPeer && !current;
  const li = el("li", { class: cls, ...extra.data },
    el("a", { href, "data-nav": "" },
      extra.dot ? el("span", { class: "presence-dot", "aria-hidden": "true" }) : "",
      el("span", { class: "label", text: label }),
      el("span", { class: "badge", text: String(unread), hidden: unread === 0 })));
  li.classList.toggle("unread", unread > 0);
  li.classList.toggle("active", Boolean(active));
  li.classList.toggle("online", Boolean(extra.online));
  return li;
}

// A person: a link that opens our direct conversation (plain text for oneself).
function personLink(name) {
  const dot = el("span", { class: "presence-dot", "aria-hidden": "true" });
  if (name === me) return el("span", {}, dot, el("span", { text: `${name} (you)` }));
  return el("a", { href: `/dm/${encodeURIComponent(name)}/`, "data-nav": "", title: `Message ${name}` },
    dot, el("span", { text: name }));
}

function renderSidebar() {
  const sorted = [...rooms.values()].sort((a, b) => a.name.localeCompare(b.name));
  $("room-list").replaceChildren(...sorted.filter((r) => r.kind !== "direct").map((r) =>
    navItem("room-item", `/rooms/${encodeURIComponent(r.name)}/`, `${r.kind === "private" ? "🔒 " : "# "}${r.name}`, r,
      { data: { "data-room": r.name } })));
  const dms = sorted.filter((r) => r.kind === "direct" && r.with);
  const dmItems = dms.map((r) => navItem("dm-item", `/dm/${encodeURIComponent(r.with)}/`, r.with, r,
    { data: { "data-user": r.with, "data-room": r.name }, dot: true, online: online.has(r.with) }));
  if (currentPeer && !directRoomWith(currentPeer)) {
    dmItems.push(navItem("dm-item", `/dm/${encodeURIComponent(currentPeer)}/`, currentPeer, null,
      { data: { "data-user": currentPeer }, dot: true, online: online.has(currentPeer), peer: currentPeer }));
  }
  $("dm-list").replaceChildren(...dmItems);
  $("people").replaceChildren(...[...online].sort().map((name) =>
    el("li", { class: "person online", "data-user": name }, personLink(name))));
  const total = [...rooms.values()].reduce((sum, r) => sum + r.unread, 0);
  const where = $("room-title").textContent;
  document.title = `${total ? `(${total}) ` : ""}${where ? `${where} · ` : ""}Chat`;
}

function notice(text) {
  const box = $("notice") || conversation.insertBefore(el("p", { id: "notice", class: "notice", role: "alert" }), messagesEl);
  box.textContent = text;
  box.hidden = false;
  clearTimeout(notice.timer);
  notice.timer = setTimeout(() => { box.hidden = true; }, 6000);
}

// --- Edit, delete, retry -----------------------------------------------------------------

messagesEl.addEventListener("click", (e) => {
  const button = e.target.closest("button");
  const li = e.target.closest("li.message");
  if (!button || !li) return;
  if (button.classList.contains("retry")) {
    const entry = outbox.get(li.dataset.clientId);
    if (entry) deliver(entry);
  } else if (button.classList.contains("edit")) {
    startEditing(li);
  } else if (button.classList.contains("delete")) {
    conn.request("delete_message", { id: Number(li.dataset.id) }).catch((err) => notice(err.msg || "Not connected."));
  }
});

function startEditing(li) {
  const message = roomState(current).messages.get(Number(li.dataset.id));
  if (!message) return;
  const editor = el("textarea", { class: "edit-input", value: message.message, rows: 2 });
  editor.setAttribute("aria-label", "Edit message");
  li.querySelector(".body").replaceChildren(editor, el("span", { class: "muted hint", text: "Enter to save · Esc to cancel" }));
  editor.focus();
  const finish = () => updateMessageItem(li, message, me);
  editor.addEventListener("keydown", async (e) => {
    if (e.key === "Escape") {
      editor.remove();
      finish();
    } else if (e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      const text = editor.value.trim();
      if (!text || text === message.message) {
        editor.remove();
        finish();
        return;
      }
      try {
        await conn.request("edit_message", { id: message.id, message: text });
        message.message = text;
        message.editedAt = message.editedAt || new Date().toISOString();
        editor.remove();
        finish();
      } catch (err) {
        notice(err.msg || "Not connected; try again.");
      }
    }
  });
}

// --- Navigation between rooms without reloading ------------------------------------------

function openConversation(roomName, peer = null) {
  if (current !== roomName) stopTyping();
  current = roomName;
  currentPeer = peer || (roomName ? null : currentPeer);
  if (roomName && roomState(roomName).kind === "direct") currentPeer = roomState(roomName).with;
  nodes = new Map();
  messagesEl.replaceChildren();
  app.classList.remove("sidebar-open");
  renderAll();
  if (roomName) {
    const room = roomState(roomName);
    if (!room.joined && conn.isOpen) joinRoom(roomName);
    if (isViewing(room)) markRead(room);
  }
}

function openPath(path) {
  let match = path.match(/^\/rooms\/([^/]+)\/$/);
  if (match) return openConversation(decodeURIComponent(match[1]));
  match = path.match(/^\/dm\/([^/]+)\/$/);
  if (match) {
    const peer = decodeURIComponent(match[1]);
    return openConversation(directRoomWith(peer)?.name || null, peer);
  }
  return openConversation(null, null);
}

document.addEventListener("click", (e) => {
  const link = e.target.closest("a[data-nav]");
  if (!link || e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
  e.preventDefault();
  if (link.pathname === `/dm/${encodeURIComponent(me)}/`) return;
  history.pushState(null, "", link.pathname);
  openPath(link.pathname);
});

window.addEventListener("popstate", () => openPath(location.pathname));

$("sidebar-toggle")?.addEventListener("click", () => {
  const open = app.classList.toggle("sidebar-open");
  $("sidebar-toggle").setAttribute("aria-expanded", String(open));
});

// --- Start ------------------------------------------------------------------------------

for (const info of JSON.parse($("initial-rooms").textContent)) upsertRoom(info);
if (currentPeer && current) roomState(current).kind = "direct";
if (current && currentPeer) roomState(current).with = currentPeer;
renderAll();
