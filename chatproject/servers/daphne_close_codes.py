"""Let daphne close WebSockets with the RFC 6455 codes the protocol uses.

daphne closes a socket through autobahn's `sendClose`, which only takes 1000 and
3000-4999 (the browser API's rule), and raises on anything else: a consumer's
close with 1009 (too big), 1012 (service restart) or 1013 (try again later)
becomes an exception and the socket stays open (daphne #374, autobahn-python
#1642, both open). The server may send those codes (RFC 6455 section 7.4.1, IANA
registry), so they go out through autobahn's lower-level `sendCloseFrame`.

Installed by the daphne launcher, after checking that daphne's protocol still
has both methods, taking the arguments given here; if not, daphne is left as it
is, and the error says which is missing.
"""

import inspect

from chat.infra.fast import guard

PATCH = guard.FastPath(
    "daphne_close_codes",
    ("daphne", "autobahn"),
    "daphne's own serverClose: a close with 1001-1003 or 1007-1014 raises in it",
)
# daphne.ws_protocol.WebSocketProtocol: method -> the keyword arguments used here.
METHODS = {"serverClose": ("code",), "sendCloseFrame": ("code", "isReply")}

# Server-sent codes that autobahn's sendClose refuses: 1001-1003, 1007-1014
# (1004-1006 and 1015 must never be sent).
SERVER_CODES = frozenset({1001, 1002, 1003, *range(1007, 1015)})


def check(protocol_class: type) -> bool:
    if not PATCH.require(protocol_class, "WebSocketProtocol", METHODS):
        return False
    for method, keywords in METHODS.items():
        parameters = inspect.signature(getattr(protocol_class, method)).parameters
        for keyword in keywords:
            if keyword not in parameters:
                PATCH.turn_off(f"WebSocketProtocol.{method}({keyword}=)")
                return False
    return True


def install() -> None:
    try:
        from daphne.ws_protocol import WebSocketProtocol
    except ImportError:  # another ASGI server: nothing to fix
        return
    if getattr(WebSocketProtocol.serverClose, "chat_fixed", False):
        return
    if not check(WebSocketProtocol):
        return
    stock_server_close = WebSocketProtocol.serverClose

    def server_close(self, code: int | None = None) -> None:
        if code in SERVER_CODES:
            self.sendCloseFrame(code=code, isReply=False)
        else:
            stock_server_close(self, code)

    server_close.chat_fixed = True
    WebSocketProtocol.serverClose = server_close
    PATCH.confirm()
