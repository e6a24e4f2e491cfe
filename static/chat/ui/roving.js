// The message list as one tab stop (WAI-ARIA's roving tabindex): one message has
// tabindex 0 (the one last focused, else the newest) and every other -1, and the
// controls inside the other messages are out of the tab order, so Tab crosses
// the list in one step however long it is. On a message, Up and Down move to the
// previous and next one, Home and End to the first and last; Enter (or Tab, as
// ever) goes into its actions, and Escape from them comes back to the message.
//
// It watches the list rather than being told of each change: messages are
// added, rebuilt and replaced by several modules (ui/messages.js, render.js),
// and each new button must leave the tab order at once.

const CONTROLS = "a[href], button, input, select, textarea, summary, [contenteditable]";
const MOVES = { ArrowUp: -1, ArrowDown: 1 };

export function bindRoving(list) {
  let stop = null; // the message with the tab stop
  let chosen = false; // a user put it there (else it follows the newest)
  let queued = false;

  const messages = () => [...list.querySelectorAll(":scope > li.message")];

  function sync() {
    queued = false;
    const items = messages();
    if (!stop?.isConnected || stop.parentNode !== list) {
      stop = null;
      chosen = false;
    }
    const inside = document.activeElement?.closest?.("li.message");
    if (inside && inside.parentNode === list) {
      stop = inside;
      chosen = true;
    } else if (!chosen) stop = items[items.length - 1] || null;
    for (const li of items) {
      const here = li === stop;
      if (li.tabIndex !== (here ? 0 : -1)) li.tabIndex = here ? 0 : -1;
      for (const control of li.querySelectorAll(CONTROLS)) {
        if (here && control.dataset.roving) {
          control.removeAttribute("tabindex");
          delete control.dataset.roving;
        } else if (!here && !control.dataset.roving) {
          control.dataset.roving = "out";
          control.tabIndex = -1;
        }
      }
    }
  }

  function later() {
    if (queued) return;
    queued = true;
    queueMicrotask(sync);
  }

  function moveTo(li) {
    stop = li;
    chosen = true;
    sync();
    li.focus({ preventScroll: true });
    li.scrollIntoView({ block: "nearest" });
  }

  // Children come and go, and a message's buttons are rebuilt as it changes.
  new MutationObserver(later).observe(list, { childList: true, subtree: true });

  list.addEventListener("focusin", (e) => {
    const li = e.target.closest("li.message");
    if (!li || li.parentNode !== list || li === stop) return;
    stop = li;
    chosen = true;
    sync();
  });

  list.addEventListener("keydown", (e) => {
    if (e.altKey || e.ctrlKey || e.metaKey || e.defaultPrevented) return;
    const li = e.target.closest("li.message");
    if (!li || li.parentNode !== list) return;
    if (e.target !== li) {
      // From a message's button or link back to the message (a text box keeps
      // Escape: it cancels an edit).
      if (e.key === "Escape" && e.target.matches("button, a")) {
        e.preventDefault();
        moveTo(li);
      }
      return;
    }
    if (e.key === "Enter" && !e.shiftKey) {
      const first = [...li.querySelectorAll(CONTROLS)].find((c) => c.getClientRects().length > 0);
      if (!first) return;
      e.preventDefault();
      first.focus();
      return;
    }
    const items = messages();
    let next;
    if (e.key in MOVES) next = items[items.indexOf(li) + MOVES[e.key]];
    else if (e.key === "Home") next = items[0];
    else if (e.key === "End") next = items[items.length - 1];
    else return;
    e.preventDefault(); // the list does not scroll by itself
    if (next) moveTo(next);
  });

  sync();
}

// What has the focus inside `list`, to be given it back by calling the function
// returned, after nodes were taken out and put back (a rebuild, a message moved
// into place): taking a node out of the page drops its focus, and a keyboard
// user's place with it.
export function holdFocus(list) {
  const active = document.activeElement;
  if (active === list || !list.contains(active)) return () => {};
  return () => {
    if (active.isConnected && document.activeElement !== active) active.focus({ preventScroll: true });
  };
}
