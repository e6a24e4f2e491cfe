// What every transport of protocol v1 shares (websocket.js, longpoll.js): the
// callbacks, the acks, the backoff, reconnecting at once when the network comes
// back, and stopping for good. A transport gives `isOpen`, `send(frame)` and
// `connect()`, and calls `connect()` at the end of its own constructor.
import { Acks } from "./acks.js";
import { Backoff } from "./backoff.js";

export class Transport {
  constructor({ url, onEvent, onOpen, onDown, onUnauthenticated, onForbidden }) {
    Object.assign(this, { url, onEvent, onOpen, onDown, onUnauthenticated, onForbidden });
    this.acks = new Acks();
    this.backoff = new Backoff();
    this.retryTimer = null;
    this.stopped = false;
    // Back on the network: try now rather than wait out the backoff.
    this.onNetwork = () => this.reconnectNow();
    window.addEventListener("online", this.onNetwork);
  }

  emit(event, data) {
    if (this.isOpen) this.send({ event, data });
  }

  request(event, data) {
    if (!this.isOpen) return Promise.reject(new Error("not connected"));
    return this.acks.request(event, data, (frame) => this.send(frame));
  }

  reconnectNow() {
    if (this.retryTimer === null) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.connect();
  }

  // For good: no reconnect, and no more callbacks. Transports close their own
  // connection, then call this.
  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    window.removeEventListener("online", this.onNetwork);
    this.acks.failAll(new Error("closed"));
  }
}
