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

A link also tells how many bytes wait in the worker to go out to its client, by
either path: both end in the same transport buffer. That buffer has no bound of
its own, so a client that stops reading could take the worker's memory; the
consumer closes such a socket (`close_overloaded`) past CHAT_MAX_SOCKET_BUFFER.
"""

import struct
from typing import Any

from autobahn.exception import Disconnected

from chat.infra.fast import guard

# What an ASGI send raises once the connection has closed under it: daphne's
# (autobahn's), and the ASGI spec's OSError that uvicorn raises.
SEND_AFTER_CLOSE = (Disconnected, OSError)

# How long a closed-for-overload client has to answer the close frame before
# its connection is dropped and the frames still queued for it are freed.
CLOSE_GRACE = 1.0


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


class Link:
    """The server's connection behind one socket: direct writes, and what waits."""

    def write(self, frame: bytes) -> bool:
        """Write `frame` now and return True, or return False to have it sent
        through ASGI."""
        raise NotImplementedError

    def pending(self) -> int:
        """Bytes queued in this process for the client (not yet in the kernel)."""
        raise NotImplementedError

    def close_overloaded(self, code: int) -> None:
        """Send a close frame with `code` behind what is queued, and drop the
        connection if the client has not answered it within CLOSE_GRACE."""
        raise NotImplementedError

    def pause_reading(self, seconds: float) -> None:
        """Read nothing from the client for `seconds`: what it sends meanwhile
        waits in the kernel's buffers, then in its own."""
        raise NotImplementedError


# What the links use of each server that is not its documented API, checked by
# chat.infra.fast.guard: on the classes at start-up (check_daphne, check_uvicorn,
# from the launchers), on the first live connection in link_for. A miss turns the
# server's direct path off for the process: link_for returns None and every frame
# takes the ASGI send, as with any other server.
DAPHNE = guard.FastPath(
    "daphne_direct_write",
    ("daphne", "autobahn", "twisted"),
    "frames go out through daphne's ASGI send",
)
UVICORN = guard.FastPath(
    "uvicorn_direct_write",
    ("uvicorn", "websockets"),
    "frames go out through uvicorn's ASGI send",
)
# daphne.server.Server: its ASGI send is functools.partial(handle_reply, protocol).
DAPHNE_SERVER = ("handle_reply",)
# daphne.ws_protocol.WebSocketProtocol (autobahn's WebSocketServerProtocol).
DAPHNE_PROTOCOL = ("STATE_OPEN", "sendCloseFrame", "CONFIG_ATTRS")
DAPHNE_PROTOCOL_OPTIONS = ("closeHandshakeTimeout",)  # read by autobahn per socket
DAPHNE_PROTOCOL_LIVE = ("state", "_perMessageCompress", "send_queue", "transport")
# twisted.internet.tcp.Connection (dataBuffer and offset are class defaults).
TWISTED_CONNECTION = (
    *("TLS", "dataBuffer", "offset", "write", "abortConnection"),
    *("pauseProducing", "resumeProducing"),
)
TWISTED_CONNECTION_LIVE = ("_tempDataBuffer", "_tempDataLen", "socket")
# uvicorn's WebSocketsSansIOProtocol: its ASGI send is the bound method `send`.
UVICORN_PROTOCOL = ("send",)
UVICORN_PROTOCOL_LIVE = (
    *("close_sent", "disconnected", "handshake_complete", "conn", "transport"),
    *("queue", "loop", "close_timer"),
)
WEBSOCKETS_CONN = ("state", "extensions", "send_close", "data_to_send")
ASYNCIO_TRANSPORT = (
    *("write", "is_closing", "get_write_buffer_size", "abort"),
    *("pause_reading", "resume_reading"),
)

# The server this process runs, when its launcher said so: then a `send` not
# shaped as that server's is itself a miss (the server changed how it calls the
# app), not another server.
_expected: guard.FastPath | None = None


def check_daphne() -> bool:
    """At start-up under daphne: whether its classes have what DaphneLink uses."""
    global _expected
    _expected = DAPHNE
    return _daphne_classes()


def check_uvicorn() -> bool:
    """At start-up under uvicorn: whether its classes have what UvicornLink uses."""
    global _expected
    _expected = UVICORN
    return _uvicorn_classes()


def link_for(send: Any) -> Link | None:
    """The link behind the ASGI `send` callable, when its server is one we know
    and passes its checks; None otherwise. Never raises for a renamed attribute."""
    if (protocol := _daphne_protocol(send)) is not None:
        return _daphne_link(protocol)
    if (protocol := _uvicorn_protocol(send)) is not None:
        return _uvicorn_link(protocol)
    if _expected is not None and not _expected.off:
        _expected.turn_off(f"the ASGI send's shape ({type(send).__name__})")
    return None


def _daphne_classes() -> bool:
    if DAPHNE.state != guard.UNCHECKED:
        return not DAPHNE.off
    try:
        from daphne.server import Server
        from daphne.ws_protocol import WebSocketProtocol
        from twisted.internet.tcp import Connection
    except ImportError as error:
        DAPHNE.turn_off(f"module {error.name}")
        return False
    if not (
        DAPHNE.require(Server, "daphne.server.Server", DAPHNE_SERVER)
        and DAPHNE.require(WebSocketProtocol, "WebSocketProtocol", DAPHNE_PROTOCOL)
        and DAPHNE.require(Connection, "twisted tcp Connection", TWISTED_CONNECTION)
    ):
        return False
    for option in DAPHNE_PROTOCOL_OPTIONS:  # set on a socket, read by autobahn
        if option not in WebSocketProtocol.CONFIG_ATTRS:
            DAPHNE.turn_off(f"WebSocketProtocol.CONFIG_ATTRS[{option!r}]")
            return False
    DAPHNE.ready()
    return True


def _daphne_protocol(send: Any) -> Any:
    # daphne's send is functools.partial(server.handle_reply, protocol).
    import functools

    if not (isinstance(send, functools.partial) and send.args):
        return None
    try:
        from daphne.ws_protocol import WebSocketProtocol
    except ImportError:
        return None
    protocol = send.args[0]
    return protocol if isinstance(protocol, WebSocketProtocol) else None


def _daphne_link(protocol: Any) -> Link | None:
    if DAPHNE.state != guard.ON:
        if not _daphne_classes():
            return None
        transport = getattr(protocol, "transport", None)
        if not (
            DAPHNE.require(protocol, "WebSocketProtocol", DAPHNE_PROTOCOL_LIVE)
            and DAPHNE.require(
                transport, "twisted tcp Connection", TWISTED_CONNECTION_LIVE
            )
        ):
            return None
        DAPHNE.confirm()
    from twisted.internet.tcp import Connection

    transport = protocol.transport
    # Plain TCP (TLS ends at the proxy): see DaphneLink.write.
    if isinstance(transport, Connection) and not transport.TLS:
        return DaphneLink(protocol)
    return None


class DaphneLink(Link):
    __slots__ = ("protocol",)

    def __init__(self, protocol: Any) -> None:
        self.protocol = protocol

    def write(self, frame: bytes) -> bool:
        # autobahn's sendPreparedMessage minus its per-frame log formatting:
        # while its send queue is empty it writes to the transport at once, as
        # here.
        protocol = self.protocol
        try:
            if (
                DAPHNE.off
                or protocol.state != protocol.STATE_OPEN
                or protocol._perMessageCompress is not None
                or protocol.send_queue
            ):
                return False
            transport = protocol.transport
            # Twisted's write only queues the bytes and asks the event loop to
            # say when the socket is writable (an epoll_ctl call to start, one to
            # stop, and a callback between): most of what a delivery cost once
            # framing was gone. A socket with nothing queued takes the frame now;
            # what it cannot take is queued behind, so the order holds.
            queued = transport._tempDataBuffer or (
                len(transport.dataBuffer) > transport.offset
            )
            sock = transport.socket
        except AttributeError as error:  # nothing written yet: ASGI sends it
            guard.missed(DAPHNE, error)
            return False
        if queued:
            transport.write(frame)
            return True
        try:
            sent = sock.send(frame)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            return False  # the connection is failing: daphne's own path finds out
        if sent < len(frame):
            transport.write(frame[sent:])
        return True

    def pending(self) -> int:
        # Twisted keeps what the socket did not take in dataBuffer (from
        # offset on) and in _tempDataBuffer, _tempDataLen bytes.
        transport = self.protocol.transport
        try:
            return len(transport.dataBuffer) - transport.offset + transport._tempDataLen
        except AttributeError as error:  # unbounded from here on, as stock daphne
            guard.missed(DAPHNE, error)
            return 0

    def close_overloaded(self, code: int) -> None:
        protocol = self.protocol
        try:
            if protocol.state != protocol.STATE_OPEN:
                return
            # autobahn drops the connection when the close handshake times out
            # (closeHandshakeTimeout, 1 s unless daphne is told otherwise), and
            # daphne then tells the application the socket is gone.
            protocol.closeHandshakeTimeout = CLOSE_GRACE
            protocol.sendCloseFrame(code=code, isReply=False)
        except AttributeError as error:  # no close frame: drop it (Twisted's API)
            guard.missed(DAPHNE, error)
            protocol.transport.abortConnection()

    def pause_reading(self, seconds: float) -> None:
        # Twisted's own pause (stopReading) and resume, which reads again only
        # while the connection is up. daphne runs Twisted on the asyncio loop.
        import asyncio

        transport = self.protocol.transport
        transport.pauseProducing()
        asyncio.get_running_loop().call_later(seconds, transport.resumeProducing)


def _uvicorn_classes() -> bool:
    if UVICORN.state != guard.UNCHECKED:
        return not UVICORN.off
    try:
        from uvicorn.protocols.websockets.websockets_sansio_impl import (
            WebSocketsSansIOProtocol,
        )
        from websockets.protocol import State
    except ImportError as error:
        UVICORN.turn_off(f"module {error.name}")
        return False
    if not (
        UVICORN.require(
            WebSocketsSansIOProtocol, "WebSocketsSansIOProtocol", UVICORN_PROTOCOL
        )
        and UVICORN.require(State, "websockets.protocol.State", ("OPEN",))
    ):
        return False
    UVICORN.ready()
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


def _uvicorn_link(protocol: Any) -> Link | None:
    if UVICORN.state != guard.ON:
        if not (
            _uvicorn_classes()
            and UVICORN.require(
                protocol, "WebSocketsSansIOProtocol", UVICORN_PROTOCOL_LIVE
            )
            and UVICORN.require(
                protocol.conn, "websockets ServerProtocol", WEBSOCKETS_CONN
            )
            and UVICORN.require(protocol.transport, "transport", ASYNCIO_TRANSPORT)
        ):
            return None
        UVICORN.confirm()
    return UvicornLink(protocol)


class UvicornLink(Link):
    __slots__ = ("open_state", "protocol")

    def __init__(self, protocol: Any) -> None:
        from websockets.protocol import State

        self.protocol = protocol
        self.open_state = State.OPEN

    def write(self, frame: bytes) -> bool:
        # uvicorn's own send writes at once too; it would first wait while the
        # client reads too slowly, holding up the fan-out for every socket after
        # it. Here the transport buffers instead, as daphne's always does, and
        # the consumer bounds it.
        protocol = self.protocol
        try:
            if (
                UVICORN.off
                or protocol.close_sent
                or protocol.disconnected
                or not protocol.handshake_complete
                or protocol.conn.state is not self.open_state
                or protocol.conn.extensions
                or protocol.transport.is_closing()
            ):
                return False
        except AttributeError as error:  # nothing written yet: ASGI sends it
            guard.missed(UVICORN, error)
            return False
        protocol.transport.write(frame)
        return True

    def pending(self) -> int:
        return self.protocol.transport.get_write_buffer_size()

    def close_overloaded(self, code: int) -> None:
        # uvicorn's own close waits until the client has read what is queued
        # (its send waits for the transport to drain first), and then closes the
        # transport gracefully, which also waits for the buffer to drain: for a
        # client that stopped reading, never. So: the close frame, as uvicorn
        # writes it, then an abort if no answer comes within the grace period.
        protocol = self.protocol
        try:
            if protocol.close_sent or protocol.disconnected:
                return
            protocol.queue.put_nowait({"type": "websocket.disconnect", "code": code})
            protocol.conn.send_close(code, "")
            protocol.transport.write(b"".join(protocol.conn.data_to_send()))
            protocol.close_sent = True
            protocol.close_timer = protocol.loop.call_later(
                CLOSE_GRACE, protocol.transport.abort
            )
        except AttributeError as error:  # no close frame: drop it (asyncio's API)
            guard.missed(UVICORN, error)
            protocol.transport.abort()

    def pause_reading(self, seconds: float) -> None:
        transport = self.protocol.transport
        transport.pause_reading()
        self.protocol.loop.call_later(seconds, self._resume_reading, transport)

    @staticmethod
    def _resume_reading(transport: Any) -> None:
        if not transport.is_closing():
            transport.resume_reading()
