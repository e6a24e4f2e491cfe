// Sending our messages: shown at once as "sending", then delivered by the ack or
// the echo, whichever comes first.
import { conn } from "../connection.js";
import { current } from "../store/current.js";
import { outbox, pendingMessage, queueMessage, replyFields } from "../store/outbox.js";
import { sameGroup, upsertRoom } from "../store/rooms.js";
import { placeMessage, updateMessage } from "../ui/messages.js";
import { notice } from "../ui/notice.js";
import { updateThreadMessage } from "../ui/thread.js";
import { receive } from "./inbox.js";
import { joinRoom } from "./join.js";
import { openConversation, openNewGroupRoom } from "./navigation.js";
import { stopTyping } from "./typing.js";

const ACK_TIMEOUT_MS = 8000; // then a send shows "Not delivered" and a retry

// A message written in the open conversation.
export function send(body) {
  const entry = queueMessage(body);
  stopTyping();
  placeMessage(pendingMessage(entry), true);
  deliver(entry);
}

export function retry(clientId) {
  const entry = outbox.get(clientId);
  if (entry) deliver(entry);
}

export async function deliver(entry) {
  setPending(entry, "sending");
  // No ack in time (socket down, server slow): offer "Retry". It is also resent by
  // itself after a reconnect, with the same clientId, so it is never stored twice.
  clearTimeout(entry.timer);
  entry.timer = setTimeout(() => {
    if (outbox.has(entry.clientId)) setPending(entry, "failed");
  }, ACK_TIMEOUT_MS);
  if (!conn.isOpen) return;
  try {
    const message = { message: entry.body, clientId: entry.clientId, ...replyFields(entry) };
    const ack = entry.room
      ? await conn.request("send_message", { room: entry.room, ...message })
      : entry.group
        ? await conn.request("private_message", { toUsernames: entry.group, ...message })
        : await conn.request("private_message", { toUsername: entry.peer, ...message });
    if (entry.group) {
      upsertRoom({ room: ack.room, kind: "group", members: [current.me, ...entry.group].sort() });
      if (!current.room && sameGroup(current.group, entry.group)) openNewGroupRoom(ack.room);
      joinRoom(ack.room);
    } else if (!entry.room) {
      upsertRoom({ room: ack.room, kind: "direct", with: entry.peer });
      if (!current.room && current.peer === entry.peer) openConversation(ack.room);
      joinRoom(ack.room);
    }
    if (outbox.has(entry.clientId)) {
      receive(ack.room, {
        id: ack.messageId, room: ack.room, seq: ack.seq, username: current.me,
        message: entry.body, time: ack.time, clientId: entry.clientId, ...replyFields(entry),
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
  updateMessage(pendingMessage(entry));
  if (entry.threadId) updateThreadMessage(pendingMessage(entry));
}
