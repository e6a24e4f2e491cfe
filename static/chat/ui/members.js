// Who is online in the open room.
import { el } from "../render.js";
import { current } from "../store/current.js";
import { roomState } from "../store/rooms.js";
import { $ } from "./dom.js";
import { personLink } from "./person.js";

export function renderMembers() {
  const room = current.room ? roomState(current.room) : null;
  const users = room ? room.users : [];
  $("members").replaceChildren(...users.map((name) => el("li", { "data-user": name, class: "online" },
    personLink(name))));
}
