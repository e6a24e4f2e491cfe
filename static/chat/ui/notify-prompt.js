// "Enable desktop notifications" in the sidebar, while the browser has not been
// asked yet (Notification.permission "default") and they are on in my
// settings: the browser asks only from a user's gesture, hence a button. "Not
// now" hides it on this browser.
import { settings } from "../store/attention.js";
import { $ } from "./dom.js";

const DISMISSED_KEY = "chat.notifyPromptDismissed";

export function bindNotifyPrompt() {
  $("notify-enable")?.addEventListener("click", async () => {
    try {
      await Notification.requestPermission();
    } finally {
      renderNotifyPrompt();
    }
  });
  $("notify-dismiss")?.addEventListener("click", () => {
    try {
      localStorage.setItem(DISMISSED_KEY, "1");
    } catch {
      // Storage refused: hidden until the page is loaded again.
    }
    $("notify-prompt").dataset.dismissed = "true";
    renderNotifyPrompt();
  });
  renderNotifyPrompt();
}

export function renderNotifyPrompt() {
  const prompt = $("notify-prompt");
  if (!prompt) return;
  prompt.hidden = !("Notification" in window) || Notification.permission !== "default"
    || !settings.desktopNotifications || dismissed(prompt);
}

function dismissed(prompt) {
  if (prompt.dataset.dismissed) return true;
  try {
    return localStorage.getItem(DISMISSED_KEY) === "1";
  } catch {
    return false;
  }
}
