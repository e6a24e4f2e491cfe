// Who is typing in the open room.
import { typingText } from "../render.js";
import { current } from "../store/current.js";
import { roomState } from "../store/rooms.js";
import { $ } from "./dom.js";

export function renderTyping() {
  const room = current.room ? roomState(current.room) : null;
  $("typing").textContent = room ? typingText([...room.typers.keys()]) : "";
}
