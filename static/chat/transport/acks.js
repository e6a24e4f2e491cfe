// The frames of protocol v1 (docs/PROTOCOL.md) as every transport receives them:
// a request carries an ack id, and the "ack" frame with that id settles it,
// with the ack's data, or rejected with the error data ({code, msg}). A
// transport keeps one `Acks` for its lifetime, across reconnects.

export class Acks {
  constructor() {
    this.nextAck = 1;
    this.pending = new Map(); // ack id -> { resolve, reject }
  }

  // `send(frame)` puts the frame on the wire; the promise settles with its ack.
  request(event, data, send) {
    return new Promise((resolve, reject) => {
      const ack = this.nextAck++;
      this.pending.set(ack, { resolve, reject });
      send({ event, data, ack });
    });
  }

  settle(frame) {
    const waiter = this.pending.get(frame.ack);
    if (!waiter) return;
    this.pending.delete(frame.ack);
    if (frame.data.status === "error") waiter.reject(frame.data);
    else waiter.resolve(frame.data);
  }

  // The link dropped: no ack will come for what is pending.
  failAll(error) {
    for (const { reject } of this.pending.values()) reject(error);
    this.pending.clear();
  }
}

// One parsed frame from the server: an ack settles its request, any other frame
// is an event.
export function receiveFrame(frame, acks, onEvent) {
  if (frame.event === "ack") acks.settle(frame);
  else onEvent(frame.event, frame.data || {});
}
