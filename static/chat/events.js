// What each server event (protocol v1, docs/PROTOCOL.md) does: the store brought
// up to date, then the page.
import { mentioned, mentionsReadIn, roomNotifyChanged, settingsChanged } from "./actions/attention.js";
import { receive } from "./actions/inbox.js";
import { joinRoom } from "./actions/join.js";
import { leaveRoom, openConversation, openNewGroupRoom } from "./actions/navigation.js";
import { notifyMessage } from "./actions/notify.js";
import { followed, threadRead, threadTyping, threadUpdated } from "./actions/replies.js";
import { current } from "./store/current.js";
import { applyReaction, changeMessage } from "./store/messages.js";
import { takePresence } from "./store/presence.js";
import { holdSeq } from "./store/seq.js";
import { othersIn, rooms, roomState, sameGroup, upsertRoom } from "./store/rooms.js";
import { $ } from "./ui/dom.js";
import { renderHeader } from "./ui/header.js";
import { membersMayHaveChanged, renderMembers } from "./ui/members.js";
import { setPinned } from "./ui/pins.js";
import { savedChanged } from "./ui/saved.js";
import { updateMessage } from "./ui/messages.js";
import { notice } from "./ui/notice.js";
import { renderSidebar } from "./ui/sidebar.js";
import { updateThreadMessage } from "./ui/thread.js";
import { receiptArrived } from "./ui/receipts.js";
import { renderTyping } from "./ui/typing.js";

const TYPING_STALE_MS = 5000; // drop someone's indicator whose "stopped" was lost

export const handlers = {
  receive_message(d) {
    receive(d.room, d);
    notifyMessage(d.room, d);
  },
  private_message(d) {
    // A group's message names its members; a direct one, whom it is to.
    const room = d.members ? groupMessage(d) : directMessage(d);
    receive(d.room, { ...d, username: d.from });
    notifyMessage(d.room, { ...d, username: d.from });
    if (!room.joined) joinRoom(d.room);
  },
  group_updated(d) {
    if (!d.members.includes(current.me)) return leaveRoom(d.room); // we left, on some device
    upsertRoom({ room: d.room, kind: "group", members: d.members });
    if (d.room === current.room) renderHeader();
    renderSidebar();
    membersMayHaveChanged(d.room);
  },
  message_edited(d) {
    messageChanged(d.room, d.id, { message: d.message, html: d.html, editedAt: d.editedAt, mentions: d.mentions || [] }, d.seq);
  },
  message_deleted(d) {
    messageChanged(d.room, d.id, { deleted: true, message: "", html: "", reactions: [], pinned: false }, d.seq);
    setPinned(roomState(d.room), d.id, false);
  },
  message_saved(d) {
    savedChanged(d);
    const message = rooms.get(d.room)?.messages.get(d.id);
    if (message) updateThreadMessage(message);
  },
  message_pinned(d) {
    messageChanged(d.room, d.id, { pinned: d.pinned }, d.seq);
    setPinned(roomState(d.room), d.id, d.pinned);
  },
  reaction_updated(d) {
    const room = roomState(d.room);
    holdSeq(room, d.seq);
    const message = applyReaction(room, d, d.by === current.me ? d.on : undefined);
    if (message && d.room === current.room) updateMessage(message);
    if (message) updateThreadMessage(message);
  },
  user_typing(d) {
    if (d.threadId != null) return threadTyping(d); // the thread pane's, not the room's
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
    if (d.room === current.room) renderMembers();
  },
  user_left(d) {
    membersMayHaveChanged(d.room); // gone for good, or removed, perhaps
  },
  presence_update(d) {
    $("app").classList.remove("presence-unknown");
    takePresence(d);
    renderSidebar();
    renderMembers();
  },
  room_added(d) {
    // Invited (or added by staff): the room shows at once, with what it holds.
    upsertRoom({ room: d.room, kind: d.kind, topic: d.topic });
    renderSidebar();
    joinRoom(d.room);
    notice(`${d.by ? `${d.by} added you` : "You were added"} to #${d.room}.`);
  },
  room_left(d) {
    leaveRoom(d.room); // for good, on this device or another
  },
  read_receipt(d) {
    receiptArrived(d);
  },
  room_read(d) {
    const room = roomState(d.room);
    room.unread = d.unread;
    room.lastReadId = d.lastReadId;
    mentionsReadIn(d);
    renderSidebar();
  },
  mentioned(d) {
    mentioned(d);
  },
  room_notify(d) {
    roomNotifyChanged(d);
  },
  settings_changed(d) {
    settingsChanged(d);
  },
  thread_updated(d) {
    threadUpdated(d);
  },
  thread_followed(d) {
    followed(d);
  },
  thread_read(d) {
    threadRead(d);
  },
  error(d) {
    notice(d.msg);
  },
  kicked(d) {
    leaveRoom(d.room);
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

function directMessage(d) {
  const other = d.isSelf ? d.to : d.from;
  const room = upsertRoom({ room: d.room, kind: "direct", with: other });
  if (!current.room && current.peer === other) openConversation(d.room);
  return room;
}

function groupMessage(d) {
  const room = upsertRoom({ room: d.room, kind: "group", members: d.members });
  if (!current.room && sameGroup(current.group, othersIn(room))) openNewGroupRoom(d.room);
  else if (d.room === current.room) renderHeader();
  return room;
}

function messageChanged(roomName, id, change, seq) {
  const message = changeMessage(roomState(roomName), id, change, seq);
  if (message && roomName === current.room) updateMessage(message);
  if (message) updateThreadMessage(message);
}
