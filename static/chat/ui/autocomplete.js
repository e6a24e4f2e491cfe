// @-mentions typed in a message box: `@` and the start of a name (not in code)
// lists the open room's members whose names start so (any case), then `@room`
// and `@here`. Up and Down move, Tab or Enter put `@name ` in its place (Enter
// then does not send), Escape closes, a click picks. The members are
// list_members' (kept per room by ui/members.js, asked again when stale or
// missing as the list opens); until they come, whom the room shows online.
// The box points at the list as an autocomplete text box does
// (aria-autocomplete, aria-controls, aria-activedescendant).
import { endsInOpenCode } from "../emoji.js";
import { el } from "../render.js";
import { current } from "../store/current.js";
import { roomState } from "../store/rooms.js";
import { $ } from "./dom.js";
import { refreshMembers } from "./members.js";

const MAX_SHOWN = 8;
const STALE_MS = 30_000; // an older member list is asked for again on opening
// `@` at the start or after a space or an opening bracket or quote, and what
// of a name follows it, up to the caret.
const TYPED = /(?:^|[\s([{"'])@([\p{L}\p{N}_.+-]{0,150})$/u;
const SPECIAL = [
  { name: "room", hint: "everyone in the room" },
  { name: "here", hint: "everyone online in the room" },
];

// `input`: a message box in a form; `id`: its list's id.
export function bindAutocomplete(input, id) {
  const list = el("ul", { id, class: "mention-options", role: "listbox", hidden: true });
  list.setAttribute("aria-label", "Mention someone");
  input.form.append(list);
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-controls", id);
  let shown = null; // {start: where the @ is, options, active}

  function update() {
    const typed = typedName(input);
    const options = typed ? candidates(typed.prefix) : [];
    if (!options.length) return close();
    if (!shown) refreshIfStale();
    const was = shown?.options[shown.active]?.name;
    const active = Math.max(0, options.findIndex((option) => option.name === was));
    shown = { start: typed.start, options, active };
    render();
  }

  function render() {
    list.replaceChildren(...shown.options.map((option, i) => {
      const li = el("li", { id: `${id}-${i}`, role: "option", class: i === shown.active ? "active" : "", "data-name": option.name },
        el("span", { class: "option-name", text: `@${option.name}` }),
        option.hint ? el("span", { class: "option-hint", text: option.hint }) : "");
      li.setAttribute("aria-selected", String(i === shown.active));
      return li;
    }));
    list.hidden = false;
    input.setAttribute("aria-activedescendant", `${id}-${shown.active}`);
    list.children[shown.active]?.scrollIntoView({ block: "nearest" });
  }

  function close() {
    shown = null;
    list.hidden = true;
    list.replaceChildren();
    input.removeAttribute("aria-activedescendant");
  }

  function pick(i) {
    const name = shown.options[i].name;
    const end = input.selectionEnd;
    const after = input.value.slice(end);
    const inserted = `@${name}${after.startsWith(" ") ? "" : " "}`;
    input.value = input.value.slice(0, shown.start) + inserted + after;
    const caret = shown.start + inserted.length + (after.startsWith(" ") ? 1 : 0);
    input.setSelectionRange(caret, caret);
    close();
    input.dispatchEvent(new Event("input", { bubbles: true })); // the box's own upkeep: size, typing
  }

  function move(by) {
    shown.active = (shown.active + by + shown.options.length) % shown.options.length;
    render();
  }

  // Before the form's own keys (Enter sends) and the thread pane's (Escape).
  input.form.addEventListener("keydown", (e) => {
    if (!shown || e.target !== input || e.isComposing || e.altKey || e.ctrlKey || e.metaKey) return;
    if (e.key === "ArrowDown") move(1);
    else if (e.key === "ArrowUp") move(-1);
    else if ((e.key === "Enter" || e.key === "Tab") && !e.shiftKey) pick(shown.active);
    else if (e.key === "Escape") close();
    else return;
    e.preventDefault();
    e.stopPropagation();
  }, true);
  input.addEventListener("input", update);
  input.addEventListener("keyup", (e) => {
    if (["ArrowLeft", "ArrowRight", "Home", "End"].includes(e.key)) update();
  });
  input.addEventListener("click", update);
  input.addEventListener("blur", close);
  list.addEventListener("mousedown", (e) => e.preventDefault()); // the box keeps the focus
  list.addEventListener("click", (e) => {
    const li = e.target.closest("li[role=option]");
    if (li && shown) pick([...list.children].indexOf(li));
  });
  // The member pane redrawn: the members may have come.
  new MutationObserver(() => {
    if (shown) update();
  }).observe($("members"), { childList: true });
}

// The name being typed before the caret: its prefix, and where its @ is.
function typedName(input) {
  if (input.selectionStart !== input.selectionEnd) return null;
  const before = input.value.slice(0, input.selectionEnd);
  const match = before.match(TYPED);
  if (!match || endsInOpenCode(before)) return null;
  return { prefix: match[1], start: before.length - match[1].length - 1 };
}

function candidates(prefix) {
  const wanted = prefix.toLowerCase();
  const starts = (name) => name.toLowerCase().startsWith(wanted);
  const room = current.room ? roomState(current.room) : null;
  const special = room && room.kind !== "direct" ? SPECIAL.filter((s) => starts(s.name)) : [];
  const members = memberNames(room).filter((name) => name !== current.me && starts(name));
  return [...members.slice(0, MAX_SHOWN - special.length).map((name) => ({ name })), ...special];
}

// The open conversation's members, those online first (list_members' order),
// or until that list has come, whom we know to be there.
function memberNames(room) {
  if (!room) return current.peer ? [current.peer] : current.group || [];
  if (room.memberList) return room.memberList.members.map((m) => m.username);
  const known = new Set([...room.users, ...room.members, ...(room.with ? [room.with] : [])]);
  return [...known].sort((a, b) => a.localeCompare(b));
}

function refreshIfStale() {
  const room = current.room ? roomState(current.room) : null;
  if (!room?.joined) return;
  if (!room.memberList || Date.now() - room.memberList.at > STALE_MS) refreshMembers(room.name);
}
