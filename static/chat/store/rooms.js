// Every room we know of, by name, and who is online anywhere.
import { current } from "./current.js";

export const rooms = new Map(); // name -> room state
export const online = new Set(); // usernames online anywhere

export function roomState(name) {
  if (!rooms.has(name)) {
    rooms.set(name, {
      name, kind: "public", topic: "", role: "member", with: null,
      members: [], // a group's members, sorted (me included)
      unread: 0, mentions: 0, lastReadId: null, lastMessageId: null, seq: null, seqAbove: new Set(),
      notify: "default", muted: false, // my notification level here, and whether I muted it
      joined: false, loaded: false, hasMore: false, loadingHistory: false,
      messages: new Map(), users: [], typers: new Map(),
      pins: [], // pinned messages' ids, the latest pinned first
      memberList: null, // list_members' reply (ui/members.js), once asked for
    });
  }
  return rooms.get(name);
}

export function upsertRoom(info) {
  const room = roomState(info.room);
  for (const key of ["kind", "topic", "role", "with", "members", "unread", "mentions", "lastReadId", "notify", "muted"]) {
    if (info[key] !== undefined) room[key] = info[key];
  }
  if (info.lastMessageId != null) room.lastMessageId = Math.max(room.lastMessageId || 0, info.lastMessageId);
  // The room's seq now only seeds a room we have seen nothing of (its unread count
  // covers what came before). Where we hold messages, our own last seen seq is
  // what a resync must start from, or changes made while we were away are skipped.
  if (info.seq != null && room.seq == null) room.seq = info.seq;
  return room;
}

export function directRoomWith(username) {
  for (const room of rooms.values()) if (room.kind === "direct" && room.with === username) return room;
  return null;
}

// A group's members other than me, sorted.
export function othersIn(room) {
  return room.members.filter((name) => name !== current.me);
}

// The people of a list of usernames: sorted, without me, each once.
export function peopleOf(names) {
  return [...new Set(names.map((n) => n.trim()).filter((n) => n && n !== current.me))].sort();
}

export function sameGroup(a, b) {
  return Boolean(a && b) && a.length === b.length && a.every((name, i) => name === b[i]);
}

// The group room of me and `others` (sorted) that I am in, if we have it.
export function groupRoomWith(others) {
  for (const room of rooms.values()) if (room.kind === "group" && sameGroup(othersIn(room), others)) return room;
  return null;
}

// A conversation's name for me: the other person, or a group's others.
export function conversationLabel(room) {
  if (room.kind === "group") return othersIn(room).join(", ") || "only you";
  return room.with;
}

// Whether we may pin in the room: its owners and moderators, anyone in a
// direct or group conversation.
export function mayPin(room) {
  return room.kind === "direct" || room.kind === "group" || ["owner", "moderator"].includes(room.role);
}

// Forget a room we are no longer in (kicked, or left a group).
export function forgetRoom(name) {
  return rooms.delete(name);
}
