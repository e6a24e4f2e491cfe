// Editing one of our messages in place: Enter saves, Escape cancels.
import { conn } from "../connection.js";
import { el, updateMessageItem } from "../render.js";
import { current } from "../store/current.js";
import { roomState } from "../store/rooms.js";
import { notice } from "./notice.js";

export function startEditing(li) {
  const message = roomState(current.room).messages.get(Number(li.dataset.id));
  if (!message) return;
  const editor = el("textarea", { class: "edit-input", value: message.message, rows: 2 });
  editor.setAttribute("aria-label", "Edit message");
  li.querySelector(".body").replaceChildren(editor, el("span", { class: "muted hint", text: "Enter to save · Esc to cancel" }));
  editor.focus();
  const finish = () => updateMessageItem(li, message, current.me);
  editor.addEventListener("keydown", async (e) => {
    if (e.key === "Escape") {
      editor.remove();
      finish();
    } else if (e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      const text = editor.value.trim();
      if (!text || text === message.message) {
        editor.remove();
        finish();
        return;
      }
      try {
        await conn.request("edit_message", { id: message.id, message: text });
        if (message.message !== text) {
          // Shown as typed until message_edited brings the rendered text.
          message.message = text;
          message.html = "";
        }
        message.editedAt = message.editedAt || new Date().toISOString();
        editor.remove();
        finish();
      } catch (err) {
        notice(err.msg || "Not connected; try again.");
      }
    }
  });
}
