// The chat app's boot: the page's data into the store, one connection to the
// server (protocol v1, docs/PROTOCOL.md), the page's controls wired to what they
// do, and a first render. The DOM follows docs/UI-CONTRACT.md.
import { loadOlder } from "./actions/history.js";
import { openLinkedMessage, openMessage } from "./actions/jump.js";
import { bindNavigation } from "./actions/navigation.js";
import { bindReading } from "./actions/reading.js";
import { pickReaction, toggleReaction } from "./actions/reacting.js";
import { renderAll } from "./actions/refresh.js";
import { retry, send } from "./actions/sending.js";
import { connected, disconnected } from "./actions/sync.js";
import { closeThread, refreshThreads, startThreadTyping, threadsDown } from "./actions/replies.js";
import { loadOlderReplies, openThreadIn, openThreadOf, sendReply, toggleFollow } from "./actions/threading.js";
import { startTyping } from "./actions/typing.js";
import { conn, useConnection } from "./connection.js";
import { handlers } from "./events.js";
import { loadSettings } from "./store/attention.js";
import { current } from "./store/current.js";
import { roomState, upsertRoom } from "./store/rooms.js";
import { connect } from "./transport/index.js";
import { bindAutocomplete } from "./ui/autocomplete.js";
import { bindComposer } from "./ui/composer.js";
import { confirmThen } from "./ui/confirm.js";
import { bindGroups } from "./ui/groups.js";
import { $ } from "./ui/dom.js";
import { startEditing } from "./ui/editor.js";
import { toggleEdits } from "./ui/edits.js";
import { bindMentions } from "./ui/mentions.js";
import { renderMembers } from "./ui/members.js";
import { bindMessageActions, onScrolledNearTop } from "./ui/messages.js";
import { notice } from "./ui/notice.js";
import { bindNotifyPrompt } from "./ui/notify-prompt.js";
import { bindPins, togglePin } from "./ui/pins.js";
import { bindPresence, presenceConnected } from "./ui/presence.js";
import { bindReceipts } from "./ui/receipts.js";
import { bindSaved, toggleSave } from "./ui/saved.js";
import { bindSidebarToggle, renderSidebar } from "./ui/sidebar.js";
import { bindThreadPane } from "./ui/thread.js";
import { bindThreads } from "./ui/threads.js";
import { showForbidden, showTransport } from "./ui/status.js";

const app = $("app");
const conversation = $("conversation");
current.me = app.dataset.me;
current.room = conversation.dataset.room || null;
current.peer = conversation.dataset.peer || null;
current.group = conversation.dataset.group ? conversation.dataset.group.split(",") : null;
loadSettings();

// ?transport=poll forces long-polling; ?probe=SECONDS is how often, on the
// fallback, a WebSocket is tried again (tests shorten it).
const params = new URLSearchParams(location.search);
const probeSeconds = Number(params.get("probe"));
// A Web Push notification's link (chat.jobs.push): /?room=NAME&message=ID opens
// that message once connected.
let linked = params.get("room") && Number(params.get("message"))
  ? { room: params.get("room"), id: Number(params.get("message")) } : null;
useConnection(connect({
  urls: {
    websocket: `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/chat/`,
    longpoll: app.dataset.pollUrl,
  },
  transport: params.get("transport"),
  probeEveryMs: probeSeconds >= 1 ? probeSeconds * 1000 : undefined,
  onTransport: showTransport,
  onEvent: (event, data) => handlers[event]?.(data),
  onOpen: () => {
    connected();
    refreshThreads();
    presenceConnected();
    if (linked) openLinkedMessage(linked.room, linked.id);
    linked = null;
  },
  onDown: () => {
    disconnected();
    threadsDown();
  },
  onForbidden: showForbidden,
  onUnauthenticated: () => {
    location.href = `${app.dataset.loginUrl}?next=${encodeURIComponent(location.pathname)}`;
  },
}));

bindReading();
bindComposer({ maxLength: Number(app.dataset.maxLength) || 4000, onSend: send, onInput: startTyping });
bindAutocomplete($("message-input"), "mention-options");
bindAutocomplete($("thread-input"), "thread-mention-options");
onScrolledNearTop(() => {
  if (current.room) loadOlder(roomState(current.room));
});
const messageActions = {
  retry: (li) => retry(li.dataset.clientId),
  edit: startEditing,
  react: pickReaction,
  toggleReaction,
  showEdits: toggleEdits,
  pin: togglePin,
  save: toggleSave,
  delete: (li, button) =>
    confirmThen(button, "Delete for everyone?", () => {
      conn.request("delete_message", { id: Number(li.dataset.id) }).catch((err) => notice(err.msg || "Not connected."));
    }),
  thread: (li, button) => openThreadOf(Number(li.dataset.threadId || li.dataset.id), button),
};
bindMessageActions(messageActions);
bindMessageActions(messageActions, $("thread-messages"));
bindThreadPane({
  maxLength: Number(app.dataset.maxLength) || 4000,
  onSend: sendReply,
  onInput: startThreadTyping,
  onFollow: toggleFollow,
  onOlder: loadOlderReplies,
  onClose: closeThread,
});
bindThreads({ onShow: refreshThreads, onOpen: openThreadIn });
bindMentions({ onOpen: openMessage });
bindNotifyPrompt();
// A Web Push notification clicked while this page is open (push.js): ours to open.
window.addEventListener("chat:open-message", (e) => {
  e.preventDefault();
  openLinkedMessage(e.detail.room, Number(e.detail.messageId));
});
bindNavigation();
bindSidebarToggle();
bindPins();
bindSaved();
bindGroups();
bindReceipts();
bindPresence(() => {
  renderSidebar();
  renderMembers();
});

for (const info of JSON.parse($("initial-rooms").textContent)) upsertRoom(info);
if (current.peer && current.room) roomState(current.room).kind = "direct";
if (current.room && current.peer) roomState(current.room).with = current.peer;
renderAll();
