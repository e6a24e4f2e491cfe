// The room / direct-message page. User text only ever goes in via textContent.
import { Connection } from "./connection.js";

const root = document.getElementById("chat");
const me = root.dataset.me;
const peer = root.dataset.peer; // set on a direct-message page
let room = root.dataset.room; // empty on a DM page until the first message
let lastSeq = null;
const shown = new Map(); // message id -> <li>
const unacked = new Map(); // clientId -> {body}
const typers = new Map(); // username -> timer

const $ = (id) => document.getElementById(id);

function renderMessage(m) {
  let li = shown.get(m.id) || (m.clientId && document.querySelector(`[data-client-id="${CSS.escape(m.clientId)}"]`));
  if (!li) {
    li = document.createElement("li");
    const who = document.createElement("span");
    who.className = "who";
    const when = document.createElement("time");
    const text = document.createElement("span");
    text.className = "text";
    li.append(who, when, text);
    $("messages").append(li);
  }
  li.dataset.id = m.id ?? "";
  if (m.clientId) li.dataset.clientId = m.clientId;
  const author = m.username ?? m.from;
  li.classList.toggle("mine", author === me);
  li.classList.toggle("deleted", Boolean(m.deleted));
  li.classList.toggle("sending", m.id == null);
  li.querySelector(".who").textContent = author;
  li.querySelector("time").textContent = m.time ? new Date(m.time).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : "sending…";
  li.querySelector(".text").textContent = m.deleted ? "(message deleted)" : m.message;
  if (m.id != null) shown.set(m.id, li);
  li.scrollIntoView({ block: "end" });
}

function seen(seq) {
  if (typeof seq === "number" && (lastSeq === null || seq > lastSeq)) lastSeq = seq;
}

function setList(id, names) {
  const ul = $(id);
  ul.replaceChildren(...names.map((n) => {
    const li = document.createElement("li");
    li.textContent = n === me ? `${n} (you)` : n;
    return li;
  }));
}

function showTyping() {
  const names = [...typers.keys()];
  $("typing").textContent =
    names.length === 0 ? "" : names.length === 1 ? `${names[0]} is typing…` : `${names.length} people are typing…`;
}

const handlers = {
  receive_message(d) { if (d.room === room) { renderMessage(d); seen(d.seq); } },
  private_message(d) {
    if ((d.isSelf && d.to === peer) || (!d.isSelf && d.from === peer)) {
      if (!room) adopt(d.room);
      renderMessage({ ...d, username: d.from });
      seen(d.seq);
    }
  },
  message_edited(d) {
    const li = shown.get(d.id);
    if (li) li.querySelector(".text").textContent = d.message;
    seen(d.seq);
  },
  message_deleted(d) {
    const li = shown.get(d.id);
    if (li) { li.classList.add("deleted"); li.querySelector(".text").textContent = "(message deleted)"; }
    seen(d.seq);
  },
  user_typing(d) {
    if (d.room !== room) return;
    clearTimeout(typers.get(d.username));
    if (d.isTyping) typers.set(d.username, setTimeout(() => { typers.delete(d.username); showTyping(); }, 5000));
    else typers.delete(d.username);
    showTyping();
  },
  room_users(d) { if (d.room === room) setList("room-users", d.users); },
  presence_update(d) { setList("online-users", d.online); },
  error(d) { $("status").textContent = `Error: ${d.msg}`; },
};

async function join() {
  if (!room) return;
  const ack = await conn.request("join_room", lastSeq === null ? { room } : { room, after: lastSeq });
  for (const m of ack.history) renderMessage(m);
  seen(ack.seq);
  setList("room-users", ack.users);
  if (ack.hasMore && lastSeq !== null) await join(); // keep catching up
}

// A DM page learns its room from the first message; join it to get typing and
// presence like any room.
function adopt(name) {
  room = name;
  join().catch(() => {});
}

async function send(body, clientId) {
  unacked.set(clientId, body);
  try {
    const ack = peer
      ? await conn.request("private_message", { toUsername: peer, message: body, clientId })
      : await conn.request("send_message", { room, message: body, clientId });
    unacked.delete(clientId);
    if (!room) adopt(ack.room);
  } catch (err) {
    if (err && err.code) { unacked.delete(clientId); $("status").textContent = `Not sent: ${err.msg}`; }
    // Otherwise the socket dropped: resent after reconnecting, same clientId.
  }
}

const conn = new Connection({
  url: `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/chat/`,
  onEvent: (event, data) => handlers[event]?.(data),
  onOpen: async () => {
    await join();
    for (const [clientId, body] of unacked) send(body, clientId);
  },
  onStatus: (s) => { $("status").textContent = s === "open" ? "" : s === "connecting" ? "Connecting…" : "Reconnecting…"; },
  onUnauthenticated: () => { location.href = `${root.dataset.loginUrl}?next=${encodeURIComponent(location.pathname)}`; },
});

const input = $("message-input");
let typingTimer = null;
input.addEventListener("input", () => {
  if (!room) return;
  if (typingTimer === null) conn.emit("typing", { room, isTyping: true });
  clearTimeout(typingTimer);
  typingTimer = setTimeout(() => { conn.emit("typing", { room, isTyping: false }); typingTimer = null; }, 1500);
});
input.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); $("composer").requestSubmit(); }
});
$("composer").addEventListener("submit", (e) => {
  e.preventDefault();
  const body = input.value.trim();
  if (!body) return;
  input.value = "";
  if (typingTimer !== null) { clearTimeout(typingTimer); typingTimer = null; conn.emit("typing", { room, isTyping: false }); }
  const clientId = crypto.randomUUID();
  renderMessage({ id: null, clientId, username: me, message: body });
  send(body, clientId);
});
