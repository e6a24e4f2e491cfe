// Every room we know of, by name, and who is online anywhere.

export const rooms = new Map(); // name -> room state
export const online = new Set(); // usernames online anywhere

export function roomState(name) {
  if (!rooms.has(name)) {
    rooms.set(name, {
      name, kind: "public", topic: "", role: "member", with: null,
      unread: 0, lastReadId: null, lastMessageId: null, seq: null, seqAbove: new Set(),
      joined: false, loaded: false, hasMore: false, loadingHistory: false,
      messages: new Map(), users: [], typers: new Map(),
      pins: [], // pinned messages' ids, the latest pinned first
    });
  }
  return rooms.get(name);
}

export function upsertRoom(info) {
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

export function directRoomWith(username) {
  for (const room of rooms.values()) if (room.kind === "direct" && room.with === username) return room;
  return null;
}

// Whether we may pin in the room: its owners and moderators, anyone in a DM.
export function mayPin(room) {
  return room.kind === "direct" || ["owner", "moderator"].includes(room.role);
}
