// A popover to choose an emoji: a search box, the user's recent ones, common
// ones, and all of them. Arrow keys move between emoji, Enter picks, Escape or a
// click outside closes; focus then goes back to the anchor. Styles are in
// emoji-picker.css; nothing here sets HTML from data.
import { loadEmoji, recentEmoji, rememberEmoji, searchEmoji } from "../emoji.js";
import { el } from "../render.js";

const SEARCH_LIMIT = 96;
const GAP_PX = 4;
// Buttons per block of a grid: 8 rows of the 8 columns of emoji-picker.css (a
// multiple of them, or the rows would not line up from one block to the next).
const BLOCK_SIZE = 64;

let shown = null; // the open Picker: there is one at most

// Opens the picker under (or above) `anchor`; `onPick(char)` gets the chosen emoji
// after the picker has closed. Returns close(). Opening it again for the same
// anchor closes it instead, so an anchor button toggles it. `url` is the index's
// (default: loadEmoji's).
export function openEmojiPicker(anchor, onPick, { url } = {}) {
  if (shown) {
    const again = shown.anchor === anchor;
    shown.close({ refocus: again });
    if (again) return () => {};
  }
  const picker = new Picker(anchor, onPick);
  shown = picker;
  loadEmoji(url).then(
    (index) => picker.show(index),
    () => picker.status("Could not load the emoji; try again later."),
  );
  return () => picker.close({ refocus: true });
}

class Picker {
  constructor(anchor, onPick) {
    this.anchor = anchor;
    this.onPick = onPick;
    this.index = null;
    this.columns = 0;
    this.search = el("input", { type: "search", class: "emoji-search", placeholder: "Search emoji", autocomplete: "off" });
    this.search.spellcheck = false;
    this.search.setAttribute("aria-label", "Search emoji");
    this.statusLine = el("p", { class: "emoji-status", text: "Loading emoji…" });
    this.statusLine.setAttribute("role", "status");
    this.results = el("div", { class: "emoji-results", hidden: true });
    this.sections = el("div", { class: "emoji-sections" });
    this.body = el("div", { class: "emoji-body" }, this.statusLine, this.results, this.sections);
    this.root = el("div", { class: "emoji-picker" }, this.search, this.body);
    this.root.setAttribute("role", "dialog");
    this.root.setAttribute("aria-label", "Choose an emoji");
    // Focusable itself, so that a click on its blank parts keeps focus (and keys) in it.
    this.root.tabIndex = -1;
    this.listeners = [
      [this.root, "keydown", (e) => this.keydown(e)],
      [this.root, "click", (e) => this.clicked(e)],
      [this.root, "focusout", (e) => this.focusLeft(e)],
      [this.search, "input", () => this.filter()],
      [document, "click", (e) => this.clickedAnywhere(e), true],
      [window, "resize", () => this.place()],
      [window, "scroll", (e) => this.scrolled(e), true],
    ];
    for (const [target, type, handler, capture] of this.listeners) target.addEventListener(type, handler, capture);
    document.body.append(this.root);
    this.place();
    this.search.focus();
  }

  show(index) {
    if (!this.root.isConnected) return;
    this.index = index;
    const byChar = (char) => index.byChar.get(char) || { char, name: "" };
    const recent = recentEmoji().map(byChar);
    this.sections.replaceChildren(
      ...(recent.length ? [section("Recent", recent)] : []),
      section("Common", index.common),
      section("All emoji", index.all),
    );
    this.filter();
  }

  // The search results in place of the sections while there is a query.
  filter() {
    if (!this.index) return;
    const query = this.search.value.trim();
    const found = query ? searchEmoji(query, this.index, SEARCH_LIMIT) : [];
    this.results.replaceChildren(...(found.length ? [grid("Search results", found)] : []));
    this.results.hidden = !query;
    this.sections.hidden = Boolean(query);
    this.status(query && !found.length ? `No emoji match “${query}”.` : "");
    const first = this.grids()[0]?.querySelector(".emoji-button");
    if (first) this.makeCurrent(first);
    this.body.scrollTop = 0;
  }

  status(text) {
    this.statusLine.textContent = text;
    this.statusLine.hidden = !text;
  }

  grids() {
    return [...this.body.querySelectorAll(".emoji-grid")].filter((g) => !g.closest("[hidden]"));
  }

  // The one emoji button that Tab reaches (a roving tabindex).
  makeCurrent(button) {
    const before = this.root.querySelector(".emoji-button[tabindex='0']");
    if (before) before.tabIndex = -1;
    button.tabIndex = 0;
  }

  keydown(e) {
    if (e.key === "Escape") {
      e.preventDefault();
      e.stopPropagation();
      this.close({ refocus: true });
    } else if (e.key === "Tab") {
      // Tab goes between the search box and the current emoji, and stays in the
      // picker: it is last in the page, so Tab would leave for the browser's UI.
      const current = this.root.querySelector(".emoji-button[tabindex='0']");
      this.focus(e.target === this.search ? current : this.search, e);
    } else if (e.target === this.search) {
      if (e.key === "ArrowDown") this.focus(this.grids()[0]?.querySelector(".emoji-button"), e);
      else if (e.key === "Enter" && !e.isComposing) {
        e.preventDefault();
        const first = this.results.querySelector(".emoji-button");
        if (first) this.pick(first.textContent);
      }
    } else if (e.target.classList.contains("emoji-button")) {
      const target = this.neighbour(e.target, e.key);
      if (target === this.search) this.focus(this.search, e);
      else if (target) this.focus(target, e);
    }
  }

  focus(target, e) {
    if (!target) return;
    e.preventDefault();
    if (target !== this.search) this.makeCurrent(target);
    target.focus();
  }

  // Where an arrow key (or Home, End) goes from `button`: the grids are taken as
  // one, a column kept where the rows above or below allow; up from the top row
  // is the search box.
  neighbour(button, key) {
    const grids = this.grids();
    const at = grids.indexOf(button.closest(".emoji-grid"));
    const items = buttonsOf(grids[at]);
    const i = items.indexOf(button);
    const cols = this.columns || (this.columns = columnsOf(button.parentElement));
    const column = i % cols;
    const row = (n) => Math.floor(n / cols);
    switch (key) {
      case "ArrowLeft":
        return items[i - 1] || buttonsOf(grids[at - 1]).at(-1);
      case "ArrowRight":
        return items[i + 1] || buttonsOf(grids[at + 1])[0];
      case "ArrowDown": {
        if (i + cols < items.length) return items[i + cols];
        if (row(i) < row(items.length - 1)) return items[items.length - 1];
        const next = buttonsOf(grids[at + 1]);
        return next[Math.min(column, next.length - 1)];
      }
      case "ArrowUp": {
        if (i >= cols) return items[i - cols];
        if (at === 0) return this.search;
        const above = buttonsOf(grids[at - 1]);
        return above[Math.min(row(above.length - 1) * cols + column, above.length - 1)];
      }
      case "Home":
        return items[0];
      case "End":
        return items.at(-1);
      default:
        return null;
    }
  }

  clicked(e) {
    const button = e.target.closest(".emoji-button");
    if (button) this.pick(button.textContent);
  }

  pick(char) {
    rememberEmoji(char);
    this.close({ refocus: true });
    this.onPick(char);
  }

  // A click outside closes; focus goes back to the anchor unless the click gave it
  // to something else. The anchor's own clicks are its to handle (a toggle).
  clickedAnywhere(e) {
    if (this.root.contains(e.target) || this.anchor.contains(e.target)) return;
    const active = document.activeElement;
    this.close({ refocus: !active || active === document.body || this.root.contains(active) });
  }

  // Focus moved elsewhere in the page (by a script, or a screen reader's own
  // navigation): closed, focus left where it went. Not when the window lost it.
  focusLeft(e) {
    const to = e.relatedTarget;
    if (to && !this.root.contains(to) && to !== this.anchor) this.close({ refocus: false });
  }

  scrolled(e) {
    if (!this.root.contains(e.target)) this.place();
  }

  // Below the anchor, or above it when there is more room there; inside the
  // viewport. Coordinates can only be set from script (element.style is allowed
  // by the CSP; a style attribute in HTML is not).
  place() {
    const anchor = this.anchor.getBoundingClientRect();
    const width = this.root.offsetWidth;
    const height = this.root.offsetHeight;
    const viewWidth = document.documentElement.clientWidth;
    const viewHeight = window.innerHeight;
    const below = viewHeight - anchor.bottom;
    const top = below >= height + GAP_PX || below >= anchor.top ? anchor.bottom + GAP_PX : anchor.top - GAP_PX - height;
    this.root.style.top = `${clamp(top, GAP_PX, viewHeight - height - GAP_PX)}px`;
    this.root.style.left = `${clamp(anchor.left, GAP_PX, viewWidth - width - GAP_PX)}px`;
  }

  close({ refocus }) {
    if (!this.root.isConnected) return;
    for (const [target, type, handler, capture] of this.listeners) target.removeEventListener(type, handler, capture);
    this.root.remove();
    if (shown === this) shown = null;
    if (refocus) this.anchor.focus();
  }
}

function section(title, entries) {
  return el("section", { class: "emoji-section" }, el("h3", { class: "emoji-heading", text: title }), grid(title, entries));
}

// The buttons in blocks of BLOCK_SIZE, which the CSS lets the browser skip while
// they are out of view (content-visibility): laying out all ~1900 of "All emoji"
// took 50 to 190 ms, their first blocks take 2 to 4. Built in one fragment, so
// inserted at once.
function grid(label, entries) {
  const fragment = document.createDocumentFragment();
  for (let start = 0; start < entries.length; start += BLOCK_SIZE) {
    const block = el("div", { class: "emoji-block" });
    block.append(...entries.slice(start, start + BLOCK_SIZE).map(emojiButton));
    fragment.append(block);
  }
  const node = el("div", { class: "emoji-grid" }, fragment);
  node.setAttribute("role", "group");
  node.setAttribute("aria-label", label);
  return node;
}

function buttonsOf(gridElement) {
  return gridElement ? [...gridElement.querySelectorAll(".emoji-button")] : [];
}

function emojiButton({ char, name }) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "emoji-button";
  button.tabIndex = -1;
  button.textContent = char;
  if (name) {
    button.title = `:${name}:`;
    button.setAttribute("aria-label", name.replaceAll("_", " "));
  }
  return button;
}

function columnsOf(gridElement) {
  return getComputedStyle(gridElement).gridTemplateColumns.split(" ").length || 1;
}

function clamp(value, low, high) {
  return Math.max(low, Math.min(value, high));
}
