// The member pane's moderation menu. For a room's owners, moderators and staff
// (list_members' canModerate), a button by each member they may act on opens a
// small form: kick them (kick_user) or mute them for a while (mute_user), with a
// reason. The server decides; its refusals are shown in the form.
import { conn } from "../connection.js";
import { clock, el } from "../render.js";
import { current } from "../store/current.js";
import { confirmThen } from "./confirm.js";
import { $ } from "./dom.js";

const MAX_MINUTES = 7 * 24 * 60; // mute_user's limit
const DURATIONS = [["5", "5 minutes"], ["60", "1 hour"], ["1440", "1 day"], ["custom", "Custom…"]];

let open = null; // { user, room, form }: the one form open, kept across the pane's redraws

// Whether the list's reader may act on `member`: never on themselves; owners and
// moderators on plain members only; staff (a moderator's rights without a
// moderator's role) on anyone. The server has the last word.
export function mayModerate(list, me, member) {
  if (!list.canModerate || member.username === me) return false;
  return list.role === "member" || member.role === "member";
}

// The menu button for `name`, and its form when it is open. `changed()` is
// called after a kick or a mute, to refresh the list.
export function moderation(name, changed) {
  if (open && open.room !== current.room) open = null; // another room's
  const button = el("button", { type: "button", class: "moderate", text: "⋯", title: `Moderate ${name}` });
  button.setAttribute("aria-label", `Moderate ${name}`);
  const isOpen = open?.user === name && open.room === current.room;
  button.setAttribute("aria-expanded", String(isOpen));
  if (isOpen) button.setAttribute("aria-controls", "moderate-form");
  button.addEventListener("click", () => {
    if (open?.user === name) close(button);
    else {
      openFor(name, changed);
      button.setAttribute("aria-expanded", "true");
      button.setAttribute("aria-controls", "moderate-form");
      button.after(open.form);
      open.form.querySelector("#moderate-reason").focus();
    }
  });
  return isOpen ? [button, open.form] : [button];
}

function openFor(name, changed) {
  if (open) {
    buttonFor(open.user)?.setAttribute("aria-expanded", "false");
    open.form.remove();
  }
  // Checked here, so that what is wrong shows in the form's own error line.
  const form = el("form", { id: "moderate-form", class: "moderate-form", noValidate: true });
  form.setAttribute("aria-label", `Moderate ${name}`);
  const reason = el("input", { id: "moderate-reason", name: "reason", maxLength: 250, autocomplete: "off" });
  const duration = el("select", { id: "moderate-duration", name: "duration" },
    ...DURATIONS.map(([value, label]) => el("option", { value, text: label })));
  const minutes = el("input", { id: "moderate-minutes", name: "minutes", type: "number", min: "1",
    max: String(MAX_MINUTES), step: "1", value: "30" });
  const custom = el("label", { class: "moderate-custom", hidden: true }, "Minutes ", minutes);
  const error = el("p", { id: "moderate-error", class: "moderate-error", hidden: true });
  error.setAttribute("role", "alert");
  const mute = el("button", { type: "submit", class: "mute", text: "Mute" });
  const kick = el("button", { type: "button", class: "kick", text: "Kick" });
  const cancel = el("button", { type: "button", class: "cancel link", text: "Cancel" });
  // The reason goes with either; the duration with a mute only.
  form.append(
    el("label", { htmlFor: "moderate-reason" }, "Reason (optional)"), reason,
    el("div", { class: "moderate-row" },
      el("label", { htmlFor: "moderate-duration" }, "Mute for"), duration, custom, mute),
    el("div", { class: "moderate-row" }, kick, cancel),
    error,
  );
  duration.addEventListener("change", () => {
    custom.hidden = duration.value !== "custom";
    if (!custom.hidden) minutes.focus();
  });
  const act = async (event, data, said, removes) => {
    error.hidden = true;
    for (const b of [mute, kick]) b.disabled = true;
    try {
      const reply = await conn.request(event, { room: current.room, username: name, reason: reason.value.trim(), ...data });
      // A kicked member's row goes: the outcome's line takes the focus.
      close(removes ? null : buttonFor(name));
      status(said(reply), removes);
      changed();
    } catch (err) {
      error.textContent = err.msg || "Not connected: try again in a moment.";
      error.hidden = false;
    } finally {
      for (const b of [mute, kick]) b.disabled = false;
    }
  };
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const chosen = duration.value === "custom" ? Number(minutes.value) : Number(duration.value);
    if (!Number.isInteger(chosen) || chosen < 1 || chosen > MAX_MINUTES) {
      error.textContent = `A mute lasts 1 to ${MAX_MINUTES} minutes (a week).`;
      error.hidden = false;
      minutes.focus();
      return;
    }
    act("mute_user", { minutes: chosen }, (reply) => `Muted ${name} until ${clock(reply.until)}.`);
  });
  kick.addEventListener("click", () =>
    confirmThen(kick, `Kick ${name}?`, () => act("kick_user", {}, () => `Removed ${name} from #${current.room}.`, true)));
  cancel.addEventListener("click", () => close(buttonFor(name)));
  form.addEventListener("keydown", (e) => {
    if (e.key !== "Escape") return;
    e.preventDefault();
    close(buttonFor(name));
  });
  open = { user: name, room: current.room, form };
}

function close(button) {
  open?.form.remove();
  open = null;
  if (!button?.isConnected) return;
  button.setAttribute("aria-expanded", "false");
  button.removeAttribute("aria-controls");
  button.focus();
}

function buttonFor(name) {
  return [...$("members").querySelectorAll("button.moderate")].find((b) => b.closest("li")?.dataset.user === name) || null;
}

function status(text, focus) {
  const line = $("members-status");
  line.textContent = text;
  line.dataset.room = current.room;
  if (focus) line.focus();
}
