// One WebSocket speaking protocol v1 (docs/PROTOCOL.md). It reconnects with
// exponential backoff and jitter, and stops for good on 4401 (not logged in).
// `request` sends a frame with an ack id and resolves with the ack's data,
// rejecting with the error data ({code, msg}) or an Error when the socket drops.

const CLOSE_UNAUTHENTICATED = 4401;
const CLOSE_FORBIDDEN = 4403; // banned or deactivated: retrying cannot help
// A worker shutting down, or one whose message bus reconnected: come back at once
// (to another worker), then resync. A short random delay spreads the herd.
const CLOSE_SERVICE_RESTART = 1012;
const RESTART_SPREAD_MS = 1000;
const BASE_DELAY_MS = 500;
const MAX_DELAY_MS = 5000; // a restarted server is back within seconds

export class Connection {
  constructor({ url, onEvent, onOpen, onDown, onUnauthenticated, onForbidden }) {
    Object.assign(this, { url, onEvent, onOpen, onDown, onUnauthenticated, onForbidden });
    this.nextAck = 1;
    this.pending = new Map();
    this.attempt = 0;
    this.retryTimer = null;
    // Back on the network: try now rather than wait out the backoff.
    window.addEventListener("online", () => this.reconnectNow());
    this.connect();
  }

  reconnectNow() {
    if (this.retryTimer === null) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.connect();
  }

  get isOpen() {
    return this.socket?.readyState === WebSocket.OPEN;
  }

  connect() {
    const socket = new WebSocket(this.url);
    this.socket = socket;
    socket.addEventListener("open", () => {
      this.attempt = 0;
      this.onOpen();
    });
    socket.addEventListener("message", (e) => this.receive(e.data));
    socket.addEventListener("close", (e) => this.closed(e.code));
  }

  closed(code) {
    for (const { reject } of this.pending.values()) reject(new Error("disconnected"));
    this.pending.clear();
    if (code === CLOSE_UNAUTHENTICATED) {
      this.onUnauthenticated();
      return;
    }
    if (code === CLOSE_FORBIDDEN) {
      this.onForbidden();
      return;
    }
    this.onDown();
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connect();
    }, this.delayAfter(code));
  }

  delayAfter(code) {
    if (code === CLOSE_SERVICE_RESTART) {
      this.attempt = 0;
      return Math.random() * RESTART_SPREAD_MS;
    }
    // Full jitter: spread reconnects so a restarted server is not stampeded.
    const ceiling = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** this.attempt);
    this.attempt += 1;
    return ceiling / 2 + (Math.random() * ceiling) / 2;
  }

  receive(text) {
    let frame;
    try {
      frame = JSON.parse(text);
    } catch {
      return;
    }
    if (frame.event !== "ack") {
      this.onEvent(frame.event, frame.data || {});
      return;
    }
    const waiter = this.pending.get(frame.ack);
    if (!waiter) return;
    this.pending.delete(frame.ack);
    if (frame.data.status === "error") waiter.reject(frame.data);
    else waiter.resolve(frame.data);
  }

  emit(event, data) {
    if (this.isOpen) this.socket.send(JSON.stringify({ event, data }));
  }

  request(event, data) {
    return new Promise((resolve, reject) => {
      if (!this.isOpen) {
        reject(new Error("not connected"));
        return;
      }
      const ack = this.nextAck++;
      this.pending.set(ack, { resolve, reject });
      this.socket.send(JSON.stringify({ event, data, ack }));
    });
  }
}
