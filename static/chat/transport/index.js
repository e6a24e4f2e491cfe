// The transport the app talks through. Every transport has one shape:
//   new Transport({url, onEvent, onOpen, onDown, onUnauthenticated, onForbidden})
//   .isOpen, .emit(event, data), .request(event, data) -> Promise of the ack's data,
//   .reconnectNow(), .close()
// Only WebSocket for now; the long-polling fallback will be chosen here.
import { WebSocketTransport } from "./websocket.js";

export function connect(options) {
  return new WebSocketTransport(options);
}
