// A view over the conversation that a sidebar button opens (Saved messages,
// Mentions): the button shows and hides its panel, which lists what `load`
// gives, a page at a time ("Older" asks for the next one).
import { el } from "../render.js";
import { conversationLabel, rooms } from "../store/rooms.js";
import { $ } from "./dom.js";
import { notice } from "./notice.js";
import { closeSidebar } from "./sidebar.js";

// `name`: the prefix of the view's ids (NAME-toggle, -panel, -list, -more,
// -empty, -close); load(before): a page, {items, next} (`next` the `before` of
// the page after it, or null); item(x): its <li>.
export function pagedPanel(name, { load, item }) {
  const toggle = $(`${name}-toggle`);
  const panel = $(`${name}-panel`);
  const list = $(`${name}-list`);
  const more = $(`${name}-more`);
  let next = null;
  let showing = 0; // which showing a page is for: one for an earlier one is dropped
  let loading = false;

  async function loadPage(before) {
    if (loading && before != null) return; // "Older" pressed twice
    const mine = showing;
    loading = true;
    let page;
    try {
      page = await load(before);
    } catch (err) {
      notice(err.msg || "Not connected; try again.");
      return;
    } finally {
      if (mine === showing) loading = false;
    }
    if (mine !== showing) return;
    list.append(...page.items.map(item));
    next = page.next;
    more.hidden = next == null;
    $(`${name}-empty`).hidden = list.children.length > 0;
  }

  function show() {
    closeSidebar(); // on a phone the list is under it
    panel.hidden = false;
    toggle.setAttribute("aria-expanded", "true");
    refresh();
  }

  // The list asked for again from its first page (it changed).
  function refresh() {
    showing += 1;
    loading = false;
    list.replaceChildren();
    loadPage(null);
  }

  function hide() {
    panel.hidden = true;
    toggle.setAttribute("aria-expanded", "false");
  }

  toggle.addEventListener("click", () => (panel.hidden ? show() : hide()));
  more.addEventListener("click", () => loadPage(next));
  $(`${name}-close`).addEventListener("click", hide);
  return { show, hide, refresh, isOpen: () => !panel.hidden };
}

// A message's conversation as a link: #room, @peer, or a group's people.
export function conversationLink(roomName) {
  const room = rooms.get(roomName);
  if (room?.kind === "group") return el("a", { href: `/rooms/${encodeURIComponent(roomName)}/`, text: conversationLabel(room) });
  if (!roomName.startsWith("dm:")) return el("a", { href: `/rooms/${encodeURIComponent(roomName)}/`, text: `#${roomName}` });
  if (room?.with) return el("a", { href: `/dm/${encodeURIComponent(room.with)}/`, text: `@${room.with}` });
  return el("span", { class: "muted", text: "a direct message" });
}

// A message's conversation as text: #room, or its people.
export function conversationName(roomName) {
  const room = rooms.get(roomName);
  if (room && (room.kind === "direct" || room.kind === "group")) return conversationLabel(room) || "a conversation";
  return roomName.startsWith("dm:") || roomName.startsWith("group:") ? "a conversation" : `#${roomName}`;
}
