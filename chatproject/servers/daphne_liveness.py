"""Let daphne judge a WebSocket's client alive by its pongs, not by what it sends.

daphne pings a socket only after `--ping-interval` seconds without a frame from
its client (it resets the clock on every message), and autobahn cancels a ping's
timeout on any frame from the client (autoPingRestartOnAnyTraffic). So a client
that sends a frame every few seconds but never reads was never pinged, never
timed out, and everything sent to it queued in the worker. Here every socket is
pinged every interval, and only the pong counts.

Installed by the daphne launcher, after checking daphne's protocol class; daphne's
`last_ping` is set per socket, so it is checked on the first one to open. On a
miss the stock methods are put back: daphne's own clock, and the error says why.
"""

from chat.infra.fast import guard

PATCH = guard.FastPath(
    "daphne_liveness",
    ("daphne", "autobahn"),
    "daphne's own ping clock: a client that sends but never reads is not timed out",
)
# daphne.ws_protocol.WebSocketProtocol: the methods wrapped, the autobahn option set
# per socket, and daphne's clock, set per socket in onConnect.
METHODS = ("onOpen", "onMessage", "CONFIG_ATTRS")
OPTION = "autoPingRestartOnAnyTraffic"
LIVE = ("last_ping",)


def install() -> None:
    try:
        from daphne.ws_protocol import WebSocketProtocol
    except ImportError:  # another ASGI server: it pings on its own clock
        return
    if getattr(WebSocketProtocol.onMessage, "chat_fixed", False):
        return
    if not PATCH.require(WebSocketProtocol, "WebSocketProtocol", METHODS):
        return
    if OPTION not in WebSocketProtocol.CONFIG_ATTRS:
        PATCH.turn_off(f"WebSocketProtocol.CONFIG_ATTRS[{OPTION!r}]")
        return
    stock_on_open = WebSocketProtocol.onOpen
    stock_on_message = WebSocketProtocol.onMessage

    def uninstall() -> None:
        WebSocketProtocol.onOpen = stock_on_open
        WebSocketProtocol.onMessage = stock_on_message

    def on_open(self) -> None:
        if PATCH.state != guard.ON:
            if not PATCH.require(self, "WebSocketProtocol", LIVE):
                uninstall()
                stock_on_open(self)
                return
            PATCH.confirm()
        self.autoPingRestartOnAnyTraffic = False
        stock_on_open(self)

    def on_message(self, payload: bytes, isBinary: bool) -> None:
        last_ping = self.last_ping
        stock_on_message(self, payload, isBinary)
        self.last_ping = last_ping

    on_message.chat_fixed = True
    WebSocketProtocol.onOpen = on_open
    WebSocketProtocol.onMessage = on_message
    PATCH.ready()
