// The open conversation redrawn from the store.
import { renderHeader } from "../ui/header.js";
import { renderMembers } from "../ui/members.js";
import { renderSidebar } from "../ui/sidebar.js";
import { renderTyping } from "../ui/typing.js";
import { showMessages } from "./history.js";
import { followRoom } from "./replies.js";

export function renderAll() {
  renderHeader();
  showMessages();
  renderMembers();
  renderTyping();
  renderSidebar();
  followRoom(); // the thread pane, closed if its room is no longer open
}
