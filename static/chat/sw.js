// The chat's service worker, served at /sw.js with the whole site as its scope
// (chat.web.push). It shows the Web Push notifications that chat.jobs.push sends
// ({title, body, url, tag, room, messageId}) while no tab of the chat is in
// front, and opens the message when one is clicked. It caches nothing.

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("push", (event) => event.waitUntil(showPush(event.data)));

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  event.waitUntil(openMessage(event.notification.data || {}));
});

// How long a page has to say it is the chat's (the app page answers; others,
// the room directory or the admin, do not).
const ANSWER_WAIT_MS = 1000;

async function showPush(data) {
  const push = parsed(data);
  // The chat in front tells its member itself.
  if (await chatInFront()) return;
  await self.registration.showNotification(String(push.title || "New message"), {
    body: String(push.body || ""),
    // One notification per tag: a newer one (or the tab's own) replaces it.
    tag: push.tag ? String(push.tag) : undefined,
    data: { url: sameOrigin(push.url), room: push.room, messageId: push.messageId },
  });
}

function parsed(data) {
  try {
    const push = data?.json();
    return push && typeof push === "object" ? push : {};
  } catch {
    return {};
  }
}

async function chatInFront() {
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  return windows.some((client) => client.focused && client.visibilityState === "visible");
}

// The chat's page that answers first (most recently focused first) opens the
// message; without one, a new window at its address.
async function openMessage({ url, room, messageId }) {
  const target = sameOrigin(url);
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  const answered = await Promise.all(windows.map(isChat));
  const chat = windows.find((_, i) => answered[i]);
  if (!chat) return self.clients.openWindow(target);
  await chat.focus().catch(() => null);
  chat.postMessage({ type: "chat:open-message", room, messageId, url: target });
}

// Whether the page at `client` is the chat's (static/chat/push.js answers).
function isChat(client) {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    const timer = setTimeout(() => resolve(false), ANSWER_WAIT_MS);
    channel.port1.onmessage = () => {
      clearTimeout(timer);
      resolve(true);
    };
    client.postMessage({ type: "chat:ping" }, [channel.port2]);
  });
}

// Only this site's pages are opened, whatever a push says.
function sameOrigin(url) {
  const home = self.location.origin + "/";
  try {
    const target = new URL(url || home, home);
    return target.origin === self.location.origin ? target.href : home;
  } catch {
    return home;
  }
}
