// One WebSocket speaking protocol v1 (docs/PROTOCOL.md). It reconnects with
// exponential backoff and jitter, and stops for good on 4401 (not logged in) and
// 4403 (not allowed). `request` resolves with the ack's data, rejecting with the
// error data ({code, msg}) or an Error when the socket drops (transport/acks.js).
import { receiveFrame } from "./acks.js";
import { CLOSE_FORBIDDEN, CLOSE_UNAUTHENTICATED } from "./backoff.js";
import { Transport } from "./base.js";

// A worker that stops answering (frozen, or its host gone without closing the
// connection) leaves a socket that looks open for minutes. When nothing has come
// for SILENT_MS, a `ping` must be answered within ANSWER_MS, or the socket is
// given up and a new one opened, which resyncs (docs/PROTOCOL.md, "Liveness").
export const SILENT_MS = 25000;
export const ANSWER_MS = 10000;
const GAVE_UP = 4000; // our own close code for a socket given up on

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
    clearTimeout(this.livenessTimer);
    this.socket?.close();
    this.stop();
  }

  connect() {
    const socket = new WebSocket(this.url);
    this.socket = socket;
    // A socket given up on may still say something, or close late: not heard.
    const current = () => socket === this.socket;
    socket.addEventListener("open", () => {
      if (!current()) return;
      this.backoff.reset();
      this.heard();
      this.onOpen();
    });
    socket.addEventListener("message", (e) => {
      if (!current()) return;
      this.heard();
      this.receive(e.data);
    });
    socket.addEventListener("close", (e) => {
      if (current()) this.closed(e.code);
    });
  }

  // Any frame from the server shows the link is alive: the silence starts again.
  heard() {
    clearTimeout(this.livenessTimer);
    this.livenessTimer = setTimeout(() => this.askIfAlive(), SILENT_MS);
  }

  askIfAlive() {
    this.request("ping", {}).catch(() => {}); // its ack is heard like any frame
    this.livenessTimer = setTimeout(() => this.giveUp(), ANSWER_MS);
  }

  // The server did not answer: this socket is as good as closed. The browser
  // would wait out the closing handshake (minutes) before saying so.
  giveUp() {
    const socket = this.socket;
    this.socket = null;
    socket.close(GAVE_UP, "no answer");
    this.closed(null);
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
    clearTimeout(this.livenessTimer);
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
