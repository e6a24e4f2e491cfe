// One WebSocket speaking protocol v1 (docs/PROTOCOL.md), reconnecting with
// exponential backoff and jitter. `request` returns a promise of the ack's data.

const CLOSE_UNAUTHENTICATED = 4401;

export class Connection {
  constructor({ url, onEvent, onOpen, onStatus, onUnauthenticated }) {
    this.url = url;
    this.onEvent = onEvent;
    this.onOpen = onOpen;
    this.onStatus = onStatus;
    this.onUnauthenticated = onUnauthenticated;
    this.nextAck = 1;
    this.pending = new Map();
    this.attempt = 0;
    this.connect();
  }

  connect() {
    this.onStatus("connecting");
    const socket = new WebSocket(this.url);
    this.socket = socket;
    socket.addEventListener("open", () => {
      this.attempt = 0;
      this.onStatus("open");
      this.onOpen();
    });
    socket.addEventListener("message", (e) => this.receive(e.data));
    socket.addEventListener("close", (e) => {
      for (const { reject } of this.pending.values()) reject(new Error("disconnected"));
      this.pending.clear();
      if (e.code === CLOSE_UNAUTHENTICATED) {
        this.onUnauthenticated();
        return;
      }
      this.onStatus("reconnecting");
      const delay = Math.min(30000, 500 * 2 ** this.attempt) * (0.5 + Math.random() / 2);
      this.attempt += 1;
      setTimeout(() => this.connect(), delay);
    });
  }

  receive(text) {
    const frame = JSON.parse(text);
    if (frame.event === "ack") {
      const waiter = this.pending.get(frame.ack);
      if (!waiter) return;
      this.pending.delete(frame.ack);
      if (frame.data.status === "error") waiter.reject(frame.data);
      else waiter.resolve(frame.data);
      return;
    }
    this.onEvent(frame.event, frame.data);
  }

  emit(event, data) {
    if (this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify({ event, data }));
    }
  }

  request(event, data) {
    const ack = this.nextAck++;
    return new Promise((resolve, reject) => {
      if (this.socket.readyState !== WebSocket.OPEN) {
        reject(new Error("not connected"));
        return;
      }
      this.pending.set(ack, { resolve, reject });
      this.socket.send(JSON.stringify({ event, data, ack }));
    });
  }
}
