// The connection banner.
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
