// Group conversations: the sidebar's "New message" form, and a group's "Add
// people" (a new conversation with them and more: what was said stays with those
// who were there) and "Leave conversation".
import { leaveRoom } from "../actions/navigation.js";
import { conn } from "../connection.js";
import { current } from "../store/current.js";
import { othersIn, peopleOf, roomState } from "../store/rooms.js";
import { $ } from "./dom.js";
import { notice } from "./notice.js";

function showForm(prefill) {
  const form = $("new-group");
  form.hidden = false;
  $("new-message").setAttribute("aria-expanded", "true");
  $("app").classList.add("sidebar-open"); // on a phone, the drawer
  const input = $("new-group-to");
  if (prefill !== undefined) input.value = prefill;
  input.focus();
}

export function bindGroups() {
  $("new-message").addEventListener("click", () => {
    if ($("new-group").hidden) showForm();
    else {
      $("new-group").hidden = true;
      $("new-message").setAttribute("aria-expanded", "false");
    }
  });
  // The page at /dm/?to=... checks the names and opens the conversation (one
  // name: the direct one). I am always in it, so my own name is dropped here.
  $("new-group").addEventListener("submit", (e) => {
    const input = $("new-group-to");
    const people = peopleOf(input.value.split(","));
    if (!people.length) {
      e.preventDefault();
      notice("Name at least one other person.");
      return;
    }
    input.value = people.join(",");
  });
  $("add-people").addEventListener("click", () => {
    const others = current.room ? othersIn(roomState(current.room)) : current.group || [];
    showForm(others.length ? `${others.join(", ")}, ` : "");
  });
  $("leave-conversation").addEventListener("click", async () => {
    const name = current.room;
    if (!name) return;
    const what = roomState(name).kind === "group" ? "this conversation" : `#${name}`;
    if (!confirm(`Leave ${what}? You will no longer get its messages.`)) return;
    try {
      await conn.request("leave_conversation", { room: name });
      leaveRoom(name);
    } catch (err) {
      notice(err.msg || "Not connected.");
    }
  });
}
