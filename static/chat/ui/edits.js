// A message's earlier texts (get_edits), shown under it by a click on "(edited)"
// and hidden by another.
import { conn } from "../connection.js";
import { clock, el, richText } from "../render.js";
import { notice } from "./notice.js";

export async function toggleEdits(li, button) {
  const shown = li.querySelector(".edit-history");
  if (shown) {
    shown.remove();
    button.setAttribute("aria-expanded", "false");
    return;
  }
  let reply;
  try {
    reply = await conn.request("get_edits", { id: Number(li.dataset.id) });
  } catch (err) {
    notice(err.msg || "Not connected; try again.");
    return;
  }
  const items = reply.edits.map((edit) =>
    el(
      "li",
      {},
      el("time", { text: clock(edit.time), dateTime: edit.time, title: new Date(edit.time).toLocaleString() }),
      el("div", { class: "body rich" }, richText(edit.html)),
    ),
  );
  const panel = el(
    "div",
    { class: "edit-history", id: `edits-${li.dataset.id}` },
    el("span", { class: "muted", text: items.length ? "Earlier versions" : "No earlier version" }),
    el("ol", {}, ...items),
  );
  li.querySelector(".body").after(panel);
  button.setAttribute("aria-controls", panel.id);
  button.setAttribute("aria-expanded", "true");
}
