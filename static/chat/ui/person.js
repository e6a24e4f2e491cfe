// A person: a link that opens our direct conversation (plain text for oneself).
import { el } from "../render.js";
import { current } from "../store/current.js";

export function personLink(name) {
  const dot = el("span", { class: "presence-dot", "aria-hidden": "true" });
  if (name === current.me) return el("span", {}, dot, el("span", { text: `${name} (you)` }));
  return el("a", { href: `/dm/${encodeURIComponent(name)}/`, "data-nav": "", title: `Message ${name}` },
    dot, el("span", { text: name }));
}
