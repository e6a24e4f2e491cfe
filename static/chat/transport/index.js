// The transport the app talks through. Every transport has one shape:
//   new Transport({url, onEvent, onOpen, onDown, onUnauthenticated, onForbidden})
//   .isOpen, .emit(event, data), .request(event, data) -> Promise of the ack's data,
//   .reconnectNow(), .close()
// By default a WebSocket, falling back to long-polling where the network refuses
// WebSockets and back again when it lets them through (transport/fallback.js).
// `transport` forces one: "poll" (long-polling only) or "websocket" (no fallback).
// `onTransport(kind)` hears which one is in use: "websocket" or "longpoll".
import { FallbackTransport } from "./fallback.js";
import { LongPollTransport } from "./longpoll.js";
import { WebSocketTransport } from "./websocket.js";

export function connect({ urls, transport, probeEveryMs, onTransport, ...callbacks }) {
  if (transport === "poll") {
    onTransport?.("longpoll");
    return new LongPollTransport({ url: urls.longpoll, ...callbacks });
  }
  if (transport === "websocket") {
    onTransport?.("websocket");
    return new WebSocketTransport({ url: urls.websocket, ...callbacks });
  }
  return new FallbackTransport({ urls, probeEveryMs, onTransport, ...callbacks });
}
