"""Let daphne judge a WebSocket's client alive by its pongs, not by what it sends.

daphne pings a socket only after `--ping-interval` seconds without a frame from
its client (it resets the clock on every message), and autobahn cancels a ping's
timeout on any frame from the client (autoPingRestartOnAnyTraffic). So a client
that sends a frame every few seconds but never reads was never pinged, never
timed out, and everything sent to it queued in the worker. Here every socket is
pinged every interval, and only the pong counts.
"""


def install() -> None:
    try:
        from daphne.ws_protocol import WebSocketProtocol
    except ImportError:  # another ASGI server: it pings on its own clock
        return
    if getattr(WebSocketProtocol.onMessage, "chat_fixed", False):
        return
    stock_on_open = WebSocketProtocol.onOpen
    stock_on_message = WebSocketProtocol.onMessage

    def on_open(self) -> None:
        self.autoPingRestartOnAnyTraffic = False
        stock_on_open(self)

    def on_message(self, payload: bytes, isBinary: bool) -> None:
        last_ping = self.last_ping
        stock_on_message(self, payload, isBinary)
        self.last_ping = last_ping

    on_message.chat_fixed = True
    WebSocketProtocol.onOpen = on_open
    WebSocketProtocol.onMessage = on_message
