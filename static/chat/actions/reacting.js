// Reactions: toggling an emoji under a message, or picking a new one.
import { conn } from "../connection.js";
import { rememberEmoji } from "../emoji.js";
import { current } from "../store/current.js";
import { applyReaction } from "../store/messages.js";
import { roomState } from "../store/rooms.js";
import { openEmojiPicker } from "../ui/emoji-picker.js";
import { updateMessage } from "../ui/messages.js";
import { notice } from "../ui/notice.js";

export function toggleReaction(li, emoji) {
  const message = messageOf(li);
  if (!message) return;
  const mine = (message.reactions || []).some((r) => r.emoji === emoji && r.me);
  react(message, emoji, !mine);
}

export function pickReaction(li, button) {
  const message = messageOf(li);
  if (message) openEmojiPicker(button, (emoji) => react(message, emoji, true));
}

async function react(message, emoji, on) {
  try {
    const reply = await conn.request("react", { id: message.id, emoji, on });
    const changed = applyReaction(roomState(reply.room), reply, on);
    if (changed && reply.room === current.room) updateMessage(changed);
    if (on) rememberEmoji(reply.emoji);
  } catch (err) {
    notice(err.msg || "Not connected; try again.");
  }
}

function messageOf(li) {
  return current.room ? roomState(current.room).messages.get(Number(li.dataset.id)) : null;
}
