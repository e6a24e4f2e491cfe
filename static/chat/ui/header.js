// The open conversation's title and topic, and what is shown for it: the
// messages and composer, or the empty state; the invite form for a private
// room's owners and moderators.
import { current } from "../store/current.js";
import { roomState } from "../store/rooms.js";
import { $ } from "./dom.js";
import { renderPinsToggle } from "./pins.js";

export function renderHeader() {
  const room = current.room ? roomState(current.room) : null;
  const isDirect = current.peer || room?.kind === "direct";
  const title = isDirect ? `@${current.peer || room.with}` : current.room ? `#${current.room}` : "";
  $("room-title").textContent = title;
  $("room-topic").textContent = isDirect ? "Direct messages" : room?.topic || "";
  $("empty-state").hidden = Boolean(current.room || current.peer);
  for (const id of ["messages", "typing", "composer"]) $(id).hidden = !(current.room || current.peer);
  $("message-input").placeholder = title ? `Message ${title}` : "";
  const invite = $("invite");
  invite.hidden = !(room && room.kind === "private" && ["owner", "moderator"].includes(room.role));
  invite.action = current.room ? `/rooms/${encodeURIComponent(current.room)}/invite/` : "";
  const conversation = $("conversation");
  conversation.dataset.room = current.room || "";
  conversation.dataset.peer = current.peer || "";
  renderPinsToggle();
}
