// One WebSocket speaking protocol v1 (docs/PROTOCOL.md). It reconnects with
// exponential backoff and jitter, and stops for good on 4401 (not logged in) and
// 4403 (not allowed). `request` resolves with the ack's data, rejecting with the
// error data ({code, msg}) or an Error when the socket drops (transport/acks.js).
import { receiveFrame } from "./acks.js";
import { CLOSE_FORBIDDEN, CLOSE_UNAUTHENTICATED } from "./backoff.js";
import { Transport } from "./base.js";

export class WebSocketTransport extends Transport {
  constructor(options) {
    super(options);
    this.connect();
  }

  get isOpen() {
    return this.socket?.readyState === WebSocket.OPEN;
  }

  // For good: no reconnect, and no more callbacks.
  close() {
    this.socket?.close();
    this.stop();
  }

  connect() {
    const socket = new WebSocket(this.url);
    this.socket = socket;
    socket.addEventListener("open", () => {
      this.backoff.reset();
      this.onOpen();
    });
    socket.addEventListener("message", (e) => this.receive(e.data));
    socket.addEventListener("close", (e) => this.closed(e.code));
  }

  send(frame) {
    this.socket.send(JSON.stringify(frame));
  }

  receive(text) {
    let frame;
    try {
      frame = JSON.parse(text);
    } catch {
      return;
    }
    receiveFrame(frame, this.acks, this.onEvent);
  }

  closed(code) {
    this.acks.failAll(new Error("disconnected"));
    if (this.stopped) return;
    if (code === CLOSE_UNAUTHENTICATED) {
      this.onUnauthenticated();
      return;
    }
    if (code === CLOSE_FORBIDDEN) {
      this.onForbidden();
      return;
    }
    this.onDown();
    if (this.stopped) return; // closed by onDown (the fallback gave up on it)
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connect();
    }, this.backoff.delayAfter(code));
  }
}
