// The open conversation's title and topic, and what is shown for it: the
// messages and composer, or the empty state; the invite form for a private
// room's owners and moderators.
import { current } from "../store/current.js";
import { othersIn, roomState } from "../store/rooms.js";
import { $ } from "./dom.js";
import { renderPinsToggle } from "./pins.js";

export function renderHeader() {
  const room = current.room ? roomState(current.room) : null;
  const isGroup = room ? room.kind === "group" : Boolean(current.group);
  const others = room?.kind === "group" ? othersIn(room) : current.group || [];
  const isDirect = !isGroup && (current.peer || room?.kind === "direct");
  const title = isGroup ? others.join(", ") || "only you"
    : isDirect ? `@${current.peer || room.with}` : current.room ? `#${current.room}` : "";
  $("room-title").textContent = title;
  $("room-topic").textContent = isGroup ? `Group conversation of ${others.length + 1} people`
    : isDirect ? "Direct messages" : room?.topic || "";
  const open = Boolean(current.room || current.peer || current.group);
  $("empty-state").hidden = open;
  for (const id of ["messages", "typing", "composer"]) $(id).hidden = !open;
  $("add-people").hidden = !isGroup;
  // Leaving for good: a group, or a public or private room we are a member of.
  const leave = $("leave-conversation");
  leave.hidden = !(room && (isGroup || (!isDirect && room.role)));
  leave.textContent = isGroup ? "Leave conversation" : "Leave room";
  $("message-input").placeholder = title ? `Message ${title}` : "";
  const invite = $("invite");
  invite.hidden = !(room && room.kind === "private" && ["owner", "moderator"].includes(room.role));
  invite.action = current.room ? `/rooms/${encodeURIComponent(current.room)}/invite/` : "";
  const conversation = $("conversation");
  conversation.dataset.room = current.room || "";
  conversation.dataset.peer = current.peer || "";
  conversation.dataset.group = isGroup ? others.join(",") : "";
  renderPinsToggle();
}
