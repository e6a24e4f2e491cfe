// The connection banner, and the note that says the chat is on the long-polling
// fallback (for support questions).
import { $ } from "./dom.js";

export function showConnected() {
  $("connection-banner").hidden = true;
}

export function showReconnecting() {
  $("connection-banner").hidden = false;
}

export function showForbidden() {
  const banner = $("connection-banner");
  banner.textContent = "Your account can no longer chat here.";
  banner.hidden = false;
  $("composer").hidden = true;
}

// `kind`: "websocket" or "longpoll" (transport/index.js).
export function showTransport(kind) {
  const note = $("transport-indicator");
  note.hidden = kind !== "longpoll";
  note.dataset.transport = kind;
}
