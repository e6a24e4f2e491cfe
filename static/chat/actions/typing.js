// Telling the open room we are typing: once when we start, and "stopped" after
// a pause, on sending, or on leaving the room.
import { conn } from "../connection.js";
import { current } from "../store/current.js";
import { roomState } from "../store/rooms.js";

const TYPING_IDLE_MS = 1500; // send isTyping:false after this long without a key

let typingRoom = null;
let typingTimer = null;

// `text`: the composer's text, after a key.
export function startTyping(text) {
  if (!current.room || !text.trim()) return;
  // Before the join's ack (a slow network, a switch of transport) the server
  // would answer "join the room first", shown as an error the user did not cause.
  if (!roomState(current.room).joined) return;
  if (typingRoom !== current.room) {
    stopTyping();
    typingRoom = current.room;
    conn.emit("typing", { room: current.room, isTyping: true });
  }
  clearTimeout(typingTimer);
  typingTimer = setTimeout(stopTyping, TYPING_IDLE_MS);
}

export function stopTyping() {
  clearTimeout(typingTimer);
  if (typingRoom) conn.emit("typing", { room: typingRoom, isTyping: false });
  typingRoom = null;
}
