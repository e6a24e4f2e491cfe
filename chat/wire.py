"""Broadcast frames written straight to each member's connection, framed once.

Channels hands every delivery to the ASGI server as text, and the server encodes
and frames it again for each member. On daphne that is autobahn's sendMessage,
which also formats its debug-log arguments on every frame, logging on or off: about
half of a busy worker's core went there (docs/BENCHMARKS.md). For the servers we
know, a broadcast's WebSocket frame is built once per process and the same bytes
are written to every member's transport, as the Socket.io servers do.

A socket is written to directly only while it is open, without compression, and
with nothing of the server's own waiting to go out; otherwise the frame takes the
ASGI path. Written against daphne 4.2 / autobahn 26.10 and uvicorn 0.54's
websockets-sansio protocol (all pinned); with any other server nothing changes.
"""

import functools
import struct
from collections.abc import Callable
from typing import Any

# Writes a frame and returns True, or returns False to have it sent through ASGI.
Writer = Callable[[bytes], bool]


def text_frame(text: str) -> bytes:
    """`text` as one unmasked, unfragmented text frame (RFC 6455 section 5.2):
    what a server sends."""
    payload = text.encode()
    size = len(payload)
    if size <= 125:
        header = struct.pack("!BB", 0x81, size)
    elif size <= 0xFFFF:
        header = struct.pack("!BBH", 0x81, 126, size)
    else:
        header = struct.pack("!BBQ", 0x81, 127, size)
    return header + payload


def writer_for(send: Any) -> Writer | None:
    """A direct writer for the connection behind the ASGI `send` callable, when its
    server is one we know; None otherwise."""
    if (protocol := _daphne_protocol(send)) is not None:
        return functools.partial(_write_daphne, protocol)
    if (protocol := _uvicorn_protocol(send)) is not None:
        from websockets.protocol import State

        return functools.partial(_write_uvicorn, protocol, State.OPEN)
    return None


def _daphne_protocol(send: Any) -> Any:
    # daphne's send is functools.partial(server.handle_reply, protocol).
    try:
        from daphne.ws_protocol import WebSocketProtocol
        from twisted.internet.tcp import Connection
    except ImportError:
        return None
    if isinstance(send, functools.partial) and send.args:
        protocol = send.args[0]
        if isinstance(protocol, WebSocketProtocol) and (
            # Plain TCP (TLS ends at the proxy): see _write_daphne.
            isinstance(protocol.transport, Connection) and not protocol.transport.TLS
        ):
            return protocol
    return None


def _write_daphne(protocol: Any, frame: bytes) -> bool:
    # autobahn's sendPreparedMessage minus its per-frame log formatting: while
    # its send queue is empty it writes to the transport at once, as here.
    if (
        protocol.state != protocol.STATE_OPEN
        or protocol._perMessageCompress is not None
        or protocol.send_queue
    ):
        return False
    transport = protocol.transport
    # Twisted's write only queues the bytes and asks the event loop to say when
    # the socket is writable (an epoll_ctl call to start, one to stop, and a
    # callback between): most of what a delivery cost once framing was gone. A
    # socket with nothing queued takes the frame now; what it cannot take is
    # queued behind, so the order holds.
    if transport._tempDataBuffer or len(transport.dataBuffer) > transport.offset:
        transport.write(frame)
        return True
    try:
        sent = transport.socket.send(frame)
    except (BlockingIOError, InterruptedError):
        sent = 0
    except OSError:
        return False  # the connection is failing: daphne's own path finds out
    if sent < len(frame):
        transport.write(frame[sent:])
    return True


def _uvicorn_protocol(send: Any) -> Any:
    # uvicorn's send is the protocol's bound method.
    try:
        from uvicorn.protocols.websockets.websockets_sansio_impl import (
            WebSocketsSansIOProtocol,
        )
    except ImportError:
        return None
    protocol = getattr(send, "__self__", None)
    if isinstance(protocol, WebSocketsSansIOProtocol):
        return protocol
    return None


def _write_uvicorn(protocol: Any, open_state: Any, frame: bytes) -> bool:
    # uvicorn's own send writes at once too; it would first wait while the client
    # reads too slowly, holding up the fan-out for every socket after it. Here
    # the transport buffers instead, as daphne's always does.
    if (
        protocol.close_sent
        or protocol.disconnected
        or not protocol.handshake_complete
        or protocol.conn.state is not open_state
        or protocol.conn.extensions
        or protocol.transport.is_closing()
    ):
        return False
    protocol.transport.write(frame)
    return True
