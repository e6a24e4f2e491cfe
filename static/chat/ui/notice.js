// A passing notice above the messages (an error, a moderator's action).
import { el } from "../render.js";
import { $ } from "./dom.js";

export function notice(text) {
  const box = $("notice") || $("conversation").insertBefore(el("p", { id: "notice", class: "notice", role: "alert" }), $("messages"));
  box.textContent = text;
  box.hidden = false;
  clearTimeout(notice.timer);
  notice.timer = setTimeout(() => { box.hidden = true; }, 6000);
}
