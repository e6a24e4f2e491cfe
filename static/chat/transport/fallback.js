// WebSocket when the network lets it through, long-polling when it does not,
// behind the one transport interface (transport/index.js). A WebSocket that is
// not open within OPEN_WITHIN_MS, or whose handshake fails twice in a row, gives
// way to long-polling; from there a WebSocket is tried again every probe interval
// and takes over as soon as one opens. Every move is, for the app, a reconnect:
// onDown then onOpen, so it resyncs every room from its last seq and resends what
// was not acknowledged, as after a dropped socket.
import { LongPollTransport } from "./longpoll.js";
import { WebSocketTransport } from "./websocket.js";

const OPEN_WITHIN_MS = 3000;
const FAILURES_TO_FALL_BACK = 2;
export const PROBE_EVERY_MS = 30000;

export class FallbackTransport {
  // `urls`: {websocket, longpoll}; `onTransport(kind)`: "websocket" or
  // "longpoll", each time the transport in use changes.
  constructor({ urls, probeEveryMs = PROBE_EVERY_MS, onTransport, ...callbacks }) {
    Object.assign(this, { urls, probeEveryMs, onTransport, callbacks });
    this.active = null;
    this.kind = null;
    this.probeTimer = null;
    this.stopped = false;
    this.useWebSocket(this.webSocket());
  }

  get isOpen() {
    return this.active.isOpen;
  }

  emit(event, data) {
    this.active.emit(event, data);
  }

  request(event, data) {
    return this.active.request(event, data);
  }

  reconnectNow() {
    this.active.reconnectNow();
  }

  close() {
    this.stopped = true;
    clearTimeout(this.probeTimer);
    this.probe?.close();
    this.active.close();
  }

  use(transport, kind) {
    this.active = transport;
    if (kind !== this.kind) {
      this.kind = kind;
      this.onTransport?.(kind);
    }
  }

  useWebSocket(socket) {
    const previous = this.active;
    this.use(socket, "websocket");
    previous?.close(); // its pending requests fail: the app resends them
  }

  // A WebSocketTransport watched for the fallback's rules. While it is a probe
  // (not the active transport) it only says whether it opens.
  webSocket() {
    let opened = false;
    let failures = 0; // handshakes failed in a row
    let deadline = null;
    const watch = () => {
      clearTimeout(deadline);
      deadline = setTimeout(() => {
        if (!socket.isOpen) giveUp();
      }, OPEN_WITHIN_MS);
    };
    const giveUp = () => {
      clearTimeout(deadline);
      if (this.active === socket) this.fallBack();
      else this.probeFailed(socket);
    };
    const active = () => this.active === socket;
    const socket = new WebSocketTransport({
      url: this.urls.websocket,
      onEvent: (event, data) => {
        if (active()) this.callbacks.onEvent(event, data);
      },
      onOpen: () => {
        clearTimeout(deadline);
        opened = true;
        failures = 0;
        if (active()) {
          this.callbacks.onOpen();
          return;
        }
        // The probe got through: move back, as after a reconnect.
        this.probe = null;
        this.useWebSocket(socket);
        this.callbacks.onDown();
        this.callbacks.onOpen();
      },
      onDown: () => {
        if (!active()) {
          giveUp();
          return;
        }
        if (opened) {
          opened = false;
          watch(); // the same rules for coming back as for the first connect
        } else if (++failures >= FAILURES_TO_FALL_BACK) {
          giveUp();
          return;
        }
        this.callbacks.onDown();
      },
      onUnauthenticated: () => (active() ? this.callbacks.onUnauthenticated() : giveUp()),
      onForbidden: () => (active() ? this.callbacks.onForbidden() : giveUp()),
    });
    watch();
    return socket;
  }

  fallBack() {
    const socket = this.active;
    const poll = new LongPollTransport({
      url: this.urls.longpoll,
      onEvent: (event, data) => {
        if (this.active === poll) this.callbacks.onEvent(event, data);
      },
      onOpen: () => this.callbacks.onOpen(),
      onDown: () => this.callbacks.onDown(),
      onUnauthenticated: () => this.callbacks.onUnauthenticated(),
      onForbidden: () => this.callbacks.onForbidden(),
    });
    this.use(poll, "longpoll");
    socket.close();
    this.scheduleProbe();
  }

  scheduleProbe() {
    if (this.stopped) return;
    clearTimeout(this.probeTimer);
    // Spread: a proxy that comes back is not met by every client at once.
    const delay = this.probeEveryMs * (0.8 + 0.4 * Math.random());
    this.probeTimer = setTimeout(() => {
      this.probeTimer = null;
      this.probe = this.webSocket();
    }, delay);
  }

  probeFailed(socket) {
    socket.close();
    if (this.probe !== socket) return;
    this.probe = null;
    this.scheduleProbe();
  }
}
