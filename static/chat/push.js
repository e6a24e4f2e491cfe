// Web Push: while this browser may show notifications, it is subscribed for the
// member's pushes (chat.jobs.push), which the service worker (/sw.js) shows with
// the chat's tab closed; when it may not, or at log-out, it is unsubscribed.
// Loaded by the app page only when the server has a VAPID key (push is on).
//
// A click on a pushed notification comes back here as a "chat:open-message"
// event on window ({detail: {room, messageId, url}}). Whoever owns the page's
// navigation opens the message and calls preventDefault(); if nobody does, the
// page goes to `url`.
const app = document.getElementById("app");
const config = {
  key: app?.dataset.vapidKey || "",
  subscriptionsUrl: app?.dataset.pushUrl || "",
  workerUrl: app?.dataset.swUrl || "",
};
const supported =
  "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
// Longest a log-out waits for the unsubscription (the server forgets this
// browser's subscription at log-out anyway).
const LOGOUT_WAIT_MS = 1500;

// Subscribe or unsubscribe this browser as its notification permission says.
// Safe to call at any time (after a permission prompt, say); never throws.
export async function syncPush() {
  if (!supported || !config.key) return;
  try {
    if (Notification.permission === "granted") await subscribe();
    else await unsubscribePush();
  } catch (error) {
    // No push service reachable (some browsers, headless ones), or refused.
    console.warn("Web Push unavailable:", error?.message || error);
  }
}

// Unsubscribe this browser, here and on the server.
export async function unsubscribePush() {
  if (!supported) return;
  const registration = await navigator.serviceWorker.getRegistration("/");
  const subscription = await registration?.pushManager.getSubscription();
  if (subscription) await forget(subscription);
}

async function subscribe() {
  const registration = await navigator.serviceWorker.register(config.workerUrl, { scope: "/" });
  const applicationServerKey = base64urlBytes(config.key);
  let subscription = await registration.pushManager.getSubscription();
  if (subscription && !sameBytes(subscription.options.applicationServerKey, applicationServerKey)) {
    // Made with another VAPID key (the site's changed): the push service would
    // refuse what the server signs now.
    await forget(subscription);
    subscription = null;
  }
  subscription ??= await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey });
  // Every page load confirms it: the server may have dropped it (moved to
  // another member, over the per-user limit, or logged out).
  await request("POST", subscription.toJSON());
}

async function forget(subscription) {
  const { endpoint } = subscription;
  await subscription.unsubscribe().catch(() => false);
  await request("DELETE", { endpoint });
}

async function request(method, body) {
  const response = await fetch(config.subscriptionsUrl, {
    method,
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
    body: JSON.stringify(body),
    credentials: "same-origin",
  });
  if (!response.ok) throw new Error(`${method} ${config.subscriptionsUrl}: ${response.status}`);
}

// The csrftoken cookie (CSRF_COOKIE_HTTPONLY is off), else a form's token; read
// at each request, as logging in elsewhere rotates it.
function csrfToken() {
  const prefix = "csrftoken=";
  const cookie = document.cookie.split("; ").find((c) => c.startsWith(prefix));
  if (cookie) return decodeURIComponent(cookie.slice(prefix.length));
  return document.querySelector("input[name=csrfmiddlewaretoken]")?.value ?? "";
}

function base64urlBytes(text) {
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const binary = atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

function sameBytes(buffer, bytes) {
  if (!buffer) return false;
  const other = new Uint8Array(buffer);
  return other.length === bytes.length && other.every((b, i) => b === bytes[i]);
}

// A notification clicked (sw.js): the worker asks which pages are the chat's,
// then tells one of them to open the message.
function listenToWorker() {
  navigator.serviceWorker.addEventListener("message", (event) => {
    const message = event.data;
    if (message?.type === "chat:ping") event.ports[0]?.postMessage("chat");
    else if (message?.type === "chat:open-message") openMessage(message);
  });
  navigator.serviceWorker.startMessages();
}

function openMessage({ room, messageId, url }) {
  const detail = { room, messageId, url };
  const unhandled = window.dispatchEvent(new CustomEvent("chat:open-message", { detail, cancelable: true }));
  if (unhandled && url && new URL(url, location.href).origin === location.origin) location.assign(url);
}

function watchPermission() {
  navigator.permissions
    ?.query({ name: "notifications" })
    .then((status) => status.addEventListener("change", syncPush))
    .catch(() => {});
}

// Unsubscribe before the log-out form goes (but not for long).
function bindLogout() {
  const form = document.getElementById("logout-form");
  form?.addEventListener("submit", (event) => {
    event.preventDefault();
    const waited = new Promise((resolve) => setTimeout(resolve, LOGOUT_WAIT_MS));
    Promise.race([unsubscribePush().catch(() => {}), waited]).then(() => form.submit());
  });
}

if (supported && config.key) {
  listenToWorker();
  watchPermission();
  bindLogout();
  syncPush();
}
