// Presence in the page: each person's dot (green active, amber ring idle, red
// do not disturb, grey offline, with when they were last seen), and whether this
// page is in use, told to the server (set_presence) only when that changes: idle
// after IDLE_MS without input or as soon as the page is hidden, active again on
// input or when it is shown. `?idle=SECONDS` shortens the wait (tests).
import { conn } from "../connection.js";
import { el } from "../render.js";
import { lastSeen, statusOf } from "../store/presence.js";

const IDLE_MS = 5 * 60 * 1000;
const INPUT_EVENTS = ["keydown", "pointerdown", "pointermove", "wheel", "touchstart", "focus"];
const LABELS = { active: "active", idle: "idle", dnd: "do not disturb", offline: "offline" };

let status = "active"; // this page's, as last told to the server
let idleTimer = null;
let idleMs = IDLE_MS;
let armedAt = 0; // when the idle timer was last set: input re-arms it at most once a second

// --- Others' presence ---------------------------------------------------------------

// "5 min ago", for a time in the past.
export function agoText(iso, now = Date.now()) {
  const minutes = Math.floor((now - new Date(iso).getTime()) / 60000);
  if (minutes < 1) return "just now";
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours} h ago`;
  const days = Math.floor(hours / 24);
  if (days === 1) return "yesterday";
  if (days < 7) return `${days} days ago`;
  return `on ${new Date(iso).toLocaleDateString([], { month: "short", day: "numeric" })}`;
}

// "offline, last seen 5 min ago", "idle", ...
export function presenceText(name, presence, seen = lastSeen.get(name)) {
  if (presence === "offline" && seen) return `offline, last seen ${agoText(seen)}`;
  return LABELS[presence];
}

// A person's item (`li` holding a .presence-dot): its status for the styles,
// and in words for the pointer (title) and for screen readers.
export function markPresence(li, name, presence = statusOf(name), seen = lastSeen.get(name)) {
  const text = presenceText(name, presence, seen);
  li.dataset.presence = presence;
  const dot = li.querySelector(".presence-dot");
  if (dot) dot.title = text;
  const link = li.querySelector("a");
  if (link) link.title = `${name}: ${text}`;
  return text;
}

// A member pane row: the dot, and beside the name what is not plain "active"
// (idle, do not disturb, when someone offline was last seen).
export function markMember(li, member, here) {
  const seen = member.lastSeen || lastSeen.get(member.username);
  const presence = statusOf(member.username, here);
  const text = markPresence(li, member.username, presence, seen);
  const spoken = li.querySelector(".sr-only");
  if (spoken) spoken.textContent = `, ${text}`;
  const note = presence === "offline" ? (seen ? `last seen ${agoText(seen)}` : "") : presence === "active" ? "" : text;
  if (note) li.firstElementChild.after(el("span", { class: "presence-text", "aria-hidden": "true", text: note }));
}

// --- This page's presence -------------------------------------------------------------

// Watch for input and for the page being hidden; `onMinute` redraws (the "last
// seen" texts age).
export function bindPresence(onMinute) {
  const seconds = Number(new URLSearchParams(location.search).get("idle"));
  if (seconds > 0) idleMs = seconds * 1000;
  for (const name of INPUT_EVENTS) {
    window.addEventListener(name, inputSeen, { capture: true, passive: true });
  }
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") inputSeen();
    else become("idle");
  });
  if (document.visibilityState !== "visible") become("idle");
  else inputSeen();
  setInterval(onMinute, 60_000);
}

// A new connection's session starts active on the server: tell it otherwise.
export function presenceConnected() {
  if (status === "idle") conn.emit("set_presence", { status });
}

function inputSeen() {
  if (document.visibilityState !== "visible") return;
  const now = Date.now();
  if (status === "active" && now - armedAt < 1000) return;
  armedAt = now;
  become("active");
  clearTimeout(idleTimer);
  idleTimer = setTimeout(() => become("idle"), idleMs);
}

function become(next) {
  if (next === "idle") clearTimeout(idleTimer);
  if (next === status) return;
  status = next;
  document.documentElement.dataset.presence = status; // for tests and styles
  if (conn?.isOpen) conn.emit("set_presence", { status });
}
