// Who is online, idle or not to be disturbed (presence_update), and when people
// were last seen (list_members' rows; and now, for those we see go offline).
import { online } from "./rooms.js";

export const idle = new Set(); // online, with no session in use
export const dnd = new Set(); // online, in do-not-disturb
export const lastSeen = new Map(); // username -> ISO time their last session ended

export function takePresence(d) {
  const now = new Date().toISOString();
  const still = new Set(d.online);
  for (const name of online) if (!still.has(name)) lastSeen.set(name, now);
  online.clear();
  for (const name of d.online) online.add(name);
  replace(idle, d.idle || []);
  replace(dnd, d.dnd || []);
}

// list_members' rows: what they know of offline members' last sessions.
export function takeLastSeen(members) {
  for (const m of members) if (m.lastSeen && !online.has(m.username)) lastSeen.set(m.username, m.lastSeen);
}

// "active", "idle", "dnd" or "offline" (see docs/PROTOCOL.md, presence).
// `here`: online by another account than the site's list (a room's users).
export function statusOf(name, here = online.has(name)) {
  if (!here) return "offline";
  if (dnd.has(name)) return "dnd";
  return idle.has(name) ? "idle" : "active";
}

// A conversation's status for its dot: its most present member's.
export function bestStatusOf(names) {
  const order = ["active", "idle", "dnd", "offline"];
  const statuses = names.map((name) => statusOf(name));
  return order.find((status) => statuses.includes(status)) || "offline";
}

function replace(set, names) {
  set.clear();
  for (const name of names) set.add(name);
}
