// The message box: Enter sends, Shift+Enter breaks the line; it grows with its
// text and counts down near the length limit.
import { endsInOpenCode, loadEmoji, replaceShortcodes } from "../emoji.js";
import { current } from "../store/current.js";
import { $ } from "./dom.js";

const input = $("message-input");
let maxLength = 4000;

// onSend(body): a message to send, the box already cleared; onInput(text): typed.
export function bindComposer({ maxLength: limit, onSend, onInput }) {
  maxLength = limit;
  $("composer").addEventListener("submit", (e) => {
    e.preventDefault();
    const body = input.value.trim();
    if (!body || body.length > maxLength || (!current.room && !current.peer && !current.group)) return;
    input.value = "";
    composerChanged();
    onSend(body);
  });
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      $("composer").requestSubmit();
    }
  });
  input.addEventListener("input", (e) => {
    if (e.data === ":") emojifyBeforeCaret();
    composerChanged();
    onInput(input.value);
  });
}

// A `:shortcode:` just closed with its second colon becomes its emoji, as typed
// (the index loads on the first colon typed; until it has, nothing changes).
async function emojifyBeforeCaret() {
  let index;
  try {
    index = await loadEmoji();
  } catch {
    return; // no index: the text stays as typed
  }
  const caret = input.selectionEnd;
  const before = input.value.slice(0, caret);
  if (endsInOpenCode(before)) return; // `:tada:` being typed as code
  const replaced = replaceShortcodes(before, index);
  if (replaced === before) return;
  input.value = replaced + input.value.slice(caret);
  input.setSelectionRange(replaced.length, replaced.length);
  composerChanged();
}

function composerChanged() {
  const left = maxLength - input.value.trim().length;
  const counter = $("char-counter");
  counter.hidden = left > maxLength * 0.1;
  counter.textContent = left >= 0 ? `${left} left` : `${-left} too many`;
  counter.classList.toggle("over", left < 0);
  input.style.height = "auto";
  input.style.height = `${Math.min(input.scrollHeight, 200)}px`;
}
