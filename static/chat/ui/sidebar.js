// Rooms, direct conversations and who is online, with unread counts and
// mentions; the document title carries the total, and the favicon a dot.
import { el } from "../render.js";
import { attentionTotal, mentionsTotal } from "../store/attention.js";
import { current } from "../store/current.js";
import { conversationLabel, directRoomWith, groupRoomWith, online, othersIn, rooms } from "../store/rooms.js";
import { $ } from "./dom.js";
import { showFaviconBadge } from "./favicon.js";
import { personLink } from "./person.js";
import { markPresence } from "./presence.js";
import { bestStatusOf, statusOf } from "../store/presence.js";

// A muted room shows no unread count (nor bold), only its mentions.
function navItem(cls, href, label, room, extra = {}) {
  const unread = room && !room.muted ? room.unread : 0;
  const mentions = room ? room.mentions : 0;
  const active = room ? room.name === current.room : extra.active;
  const li = el("li", { class: cls, ...extra.data },
    el("a", { href, "data-nav": "" },
      extra.dot ? el("span", { class: "presence-dot", "aria-hidden": "true" }) : "",
      el("span", { class: "label", text: label }),
      el("span", { class: "badge", text: String(unread), hidden: unread === 0 }),
      mentionBadge(mentions)));
  li.classList.toggle("unread", unread > 0);
  li.classList.toggle("mentioned", mentions > 0);
  li.classList.toggle("room-muted", Boolean(room?.muted));
  li.classList.toggle("active", Boolean(active));
  li.classList.toggle("online", Boolean(extra.online));
  if (extra.presenceOf) markPresence(li, extra.presenceOf, extra.presence);
  return li;
}

export function renderSidebar() {
  const peer = current.peer;
  const sorted = [...rooms.values()].sort((a, b) => a.name.localeCompare(b.name));
  $("room-list").replaceChildren(...sorted.filter((r) => r.kind === "public" || r.kind === "private").map((r) =>
    navItem("room-item", `/rooms/${encodeURIComponent(r.name)}/`, `${r.kind === "private" ? "🔒 " : "# "}${r.name}`, r,
      { data: { "data-room": r.name } })));
  // Direct and group conversations, each named by its other people.
  const dms = sorted.filter((r) => (r.kind === "direct" && r.with) || r.kind === "group")
    .sort((a, b) => conversationLabel(a).localeCompare(conversationLabel(b)));
  const dmItems = dms.map((r) => (r.kind === "group" ? groupItem(r.name, othersIn(r), r)
    : navItem("dm-item", `/dm/${encodeURIComponent(r.with)}/`, r.with, r,
      { data: { "data-user": r.with, "data-room": r.name }, dot: true, online: online.has(r.with), presenceOf: r.with })));
  if (peer && !current.room && !directRoomWith(peer)) {
    dmItems.push(navItem("dm-item", `/dm/${encodeURIComponent(peer)}/`, peer, null,
      { data: { "data-user": peer }, dot: true, online: online.has(peer), active: true, presenceOf: peer }));
  }
  const group = current.group;
  if (group && !current.room && !groupRoomWith(group)) dmItems.push(groupItem(null, group, null));
  $("dm-list").replaceChildren(...dmItems);
  $("people").replaceChildren(...[...online].sort().map((name) => {
    const li = el("li", { class: "person online", "data-user": name }, personLink(name));
    markPresence(li, name, statusOf(name));
    return li;
  }));
  const total = attentionTotal();
  const where = $("room-title").textContent;
  document.title = `${total ? `(${total}) ` : ""}${where ? `${where} · ` : ""}Chat`;
  showFaviconBadge(total > 0);
  renderMentionsToggle();
}

// `@N`: the room's unread mentions of me, beside (or, muted, instead of) its
// unread count.
export function mentionBadge(count) {
  const badge = el("span", { class: "mention-badge", text: `@${count}`, hidden: count === 0 });
  badge.title = `${count} ${count === 1 ? "mention" : "mentions"} of you`;
  return badge;
}

// The sidebar's Mentions button, with every room's unread mentions.
function renderMentionsToggle() {
  const toggle = $("mentions-toggle");
  if (!toggle) return;
  const total = mentionsTotal();
  const badge = $("mentions-badge");
  badge.textContent = `@${total}`;
  badge.hidden = total === 0;
  toggle.classList.toggle("unread", total > 0);
  toggle.setAttribute("aria-label", total ? `Mentions, ${total} unread` : "Mentions");
}

// A group conversation: `li.dm-item.group-item[data-members]`, named by its other
// people, online when any of them is; with no room yet (`room` null), the open one.
function groupItem(name, others, room) {
  const href = name ? `/rooms/${encodeURIComponent(name)}/` : `/dm/?to=${others.map(encodeURIComponent).join(",")}`;
  return navItem("dm-item group-item", href, others.join(", ") || "only you", room, {
    data: { "data-members": others.join(","), ...(name ? { "data-room": name } : {}) },
    dot: true, online: others.some((n) => online.has(n)), active: !room,
    presenceOf: others.join(", "), presence: bestStatusOf(others),
  });
}

// On a phone the sidebar is a drawer, opened by the ☰ button.
export function bindSidebarToggle() {
  $("sidebar-toggle")?.addEventListener("click", () => {
    const open = $("app").classList.toggle("sidebar-open");
    $("sidebar-toggle").setAttribute("aria-expanded", String(open));
  });
}

export function closeSidebar() {
  $("app").classList.remove("sidebar-open");
}
