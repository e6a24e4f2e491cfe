"""The fast paths' checks (chat.infra.fast.guard): an upgrade that renames an
internal a path uses turns that path off with one logged error, and the stock path
carries the frames; nothing raises into a delivery."""

import functools
import logging
from collections import deque
from collections.abc import Iterator
from typing import Any

import pytest
from autobahn.websocket.protocol import WebSocketProtocol as AutobahnProtocol
from channels_redis.pubsub import RedisSingleShardConnection
from daphne.ws_protocol import WebSocketProtocol
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from redis.asyncio import ConnectionPool
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import NoScriptError
from twisted.internet.tcp import Connection
from uvicorn.protocols.websockets.websockets_sansio_impl import (
    WebSocketsSansIOProtocol,
)

from chat.infra.fast import guard, layers, redispipe, wire
from chatproject.servers import daphne_close_codes, daphne_liveness

from .test_consumers import pair_in_room

OPEN = AutobahnProtocol.STATE_OPEN  # before a test removes it


@pytest.fixture(autouse=True)
def fresh_paths(monkeypatch) -> Iterator[None]:
    """Every path unchecked, as in a new process; put back afterwards."""
    saved = {p: (p.state, p.off, p.missing) for p in guard._paths.values()}
    for path in saved:
        path.state, path.off, path.missing = guard.UNCHECKED, False, None
    monkeypatch.setattr(wire, "_expected", None)
    yield
    for path, (state, off, missing) in saved.items():
        path.state, path.off, path.missing = state, off, missing


def errors(caplog) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "chat.infra.fast" and r.levelno == logging.ERROR
    ]


def remove(monkeypatch, cls: type, name: str) -> None:
    """Delete `name` where `cls` (or the class it inherits it from) defines it."""
    owner = next(c for c in cls.__mro__ if name in vars(c))
    monkeypatch.delattr(owner, name)


# --- Fakes of the servers' objects: real classes, attributes set by hand ------------


def daphne_protocol(*, without: str = "", transport_without: str = "") -> Any:
    """A daphne WebSocketProtocol on a Twisted TCP connection, as a socket has them
    once open, short of the attributes named."""
    transport = Connection.__new__(Connection)
    transport.__dict__.update(
        {"_tempDataBuffer": [], "_tempDataLen": 0, "socket": None}
    )
    transport.__dict__.pop(transport_without, None)
    protocol = WebSocketProtocol.__new__(WebSocketProtocol)
    protocol.__dict__.update(
        {
            "state": OPEN,
            "_perMessageCompress": None,
            "send_queue": deque(),
            "transport": transport,
        }
    )
    protocol.__dict__.pop(without, None)
    return protocol


def daphne_send(protocol: Any) -> Any:
    async def handle_reply(protocol: Any, message: dict) -> None:
        pass

    return functools.partial(handle_reply, protocol)  # as daphne's Server makes it


# --- Direct writes (chat.infra.fast.wire) ------------------------------------------


def test_a_daphne_socket_with_everything_gets_a_link(caplog):
    assert isinstance(wire.link_for(daphne_send(daphne_protocol())), wire.DaphneLink)
    assert wire.DAPHNE.state == guard.ON
    assert errors(caplog) == []


@pytest.mark.parametrize(
    "missing",
    [
        {"transport_without": "_tempDataBuffer"},
        {"transport_without": "socket"},
        {"without": "_perMessageCompress"},
        {"without": "send_queue"},
    ],
)
def test_a_renamed_instance_attribute_turns_direct_writes_off_once(caplog, missing):
    for _ in range(3):
        assert wire.link_for(daphne_send(daphne_protocol(**missing))) is None
    [error] = errors(caplog)
    assert next(iter(missing.values())) in error
    assert "daphne 4.2.3" in error and "twisted" in error
    assert wire.DAPHNE.off
    # Off for the process: a socket with everything takes the ASGI path too.
    assert wire.link_for(daphne_send(daphne_protocol())) is None


@pytest.mark.parametrize(
    "cls, name",
    [
        (WebSocketProtocol, "STATE_OPEN"),
        (WebSocketProtocol, "sendCloseFrame"),
        (Connection, "dataBuffer"),
        (Connection, "TLS"),
    ],
)
def test_a_renamed_class_attribute_is_found_at_start_up(caplog, monkeypatch, cls, name):
    remove(monkeypatch, cls, name)
    assert wire.check_daphne() is False
    assert wire.link_for(daphne_send(daphne_protocol())) is None
    [error] = errors(caplog)
    assert f".{name} is missing" in error


def test_a_daphne_send_of_another_shape_turns_the_path_off_under_the_launcher(caplog):
    assert wire.check_daphne() is True  # what the daphne launcher runs

    async def send(message: dict) -> None:
        pass

    assert wire.link_for(send) is None
    [error] = errors(caplog)
    assert "ASGI send's shape" in error
    assert wire.DAPHNE.off


def test_an_attribute_gone_in_use_sends_through_asgi_without_raising(caplog):
    link = wire.link_for(daphne_send(daphne_protocol()))
    del link.protocol.send_queue  # after the checks
    assert link.write(wire.text_frame("hello")) is False  # ASGI sends it
    assert link.write(wire.text_frame("again")) is False
    [error] = errors(caplog)
    assert "send_queue (in use)" in error


def test_a_renamed_uvicorn_attribute_turns_its_direct_writes_off(caplog):
    protocol = WebSocketsSansIOProtocol.__new__(WebSocketsSansIOProtocol)
    protocol.__dict__.update(
        dict.fromkeys(
            ("close_sent", "disconnected", "handshake_complete", "conn", "transport"),
            None,
        )
    )
    protocol.queue = protocol.loop = None  # close_timer "renamed"
    assert wire.link_for(protocol.send) is None
    assert wire.link_for(protocol.send) is None
    [error] = errors(caplog)
    assert "WebSocketsSansIOProtocol.close_timer is missing" in error
    assert "uvicorn 0.54.0" in error


# The WebSocket carrier's direct writes: nothing of long-polling.
@pytest.mark.websocket_only
@pytest.mark.django_db(transaction=True)
async def test_with_direct_writes_off_frames_still_reach_the_client(
    amake_user, sockets, monkeypatch, caplog
):
    """Every socket looks served by a daphne whose Twisted renamed
    _tempDataBuffer: the path goes off once, and the chat works through ASGI."""
    monkeypatch.setattr(
        wire,
        "_daphne_protocol",
        lambda send: daphne_protocol(transport_without="_tempDataBuffer"),
    )
    _, _, a, b = await pair_in_room(amake_user, sockets)
    ack = await b.say("general", "through asgi", clientId="c-1")
    got = await a.event("receive_message")
    assert got["message"] == "through asgi" and got["id"] == ack["messageId"]
    [error] = errors(caplog)
    assert "Connection._tempDataBuffer is missing" in error


# --- The channel layer (chat.infra.fast.layers) and the pipe -------------------------


@pytest.mark.parametrize("name", ["_do_receiving", "_ensure_redis", "publish"])
def test_a_renamed_channels_redis_method_refuses_the_layer(caplog, monkeypatch, name):
    remove(monkeypatch, RedisSingleShardConnection, name)
    assert layers.check() is False
    with pytest.raises(ImproperlyConfigured, match=name):
        layers.WatchedPubSubChannelLayer(hosts=[{"address": "redis://127.0.0.1:1"}])
    [error] = errors(caplog)
    assert f"RedisSingleShardConnection.{name} is missing" in error
    assert "channels-redis 4.3.0" in error


def test_a_renamed_instance_attribute_of_the_shard_refuses_the_layer(
    caplog, monkeypatch
):
    stock_init = RedisSingleShardConnection.__init__

    def renamed(self, host, channel_layer) -> None:
        stock_init(self, host, channel_layer)
        self._redis_client = self.__dict__.pop("_redis")

    monkeypatch.setattr(RedisSingleShardConnection, "__init__", renamed)
    assert layers.check() is False
    [error] = errors(caplog)
    assert "RedisSingleShardConnection._redis is missing" in error


def test_the_installed_channels_redis_has_everything(caplog):
    assert layers.check() is True
    assert layers.LAYER.state == guard.ON
    assert errors(caplog) == []


@pytest.mark.parametrize("name", ["pack_commands", "read_response"])
def test_a_renamed_redis_connection_method_turns_the_pipe_off(
    caplog, monkeypatch, name
):
    remove(monkeypatch, AbstractConnection, name)
    assert redispipe.check() is False
    assert redispipe.check() is False
    [error] = errors(caplog)
    assert f"AbstractConnection.{name} is missing" in error


@pytest.mark.skipif(not settings.REDIS_URL, reason="needs REDIS_URL")
async def test_with_the_pipe_off_a_batch_gets_the_same_replies(monkeypatch, caplog):
    """PUBLISH (the layer's) and EVALSHA (the rate limiter's), each reply in its
    place, a refused script included, through redis-py's own Pipeline."""
    pool = ConnectionPool.from_url(settings.REDIS_URL)
    batch = [("PUBLISH", "chat-test-nobody", b"x"), ("EVALSHA", "0" * 40, 0)]
    try:
        direct = await redispipe.RedisPipe(pool).execute(batch)
        assert redispipe.PIPE.state == guard.ON
        # A redis-py whose connections keep their stream reader under another
        # name: found on the first connection, which goes back to the pool.
        monkeypatch.setattr(redispipe, "CONNECTION_LIVE", ("_stream_reader",))
        redispipe.PIPE.state = guard.UNCHECKED  # a new process
        stock = await redispipe.RedisPipe(pool).execute(batch)
        again = await redispipe.RedisPipe(pool).execute(batch)
    finally:
        await pool.disconnect()
    assert redispipe.PIPE.off
    assert direct[0] == stock[0] == 0
    assert all(isinstance(r[1], NoScriptError) for r in (direct, stock, again))
    [error] = errors(caplog)
    assert "Connection._stream_reader is missing" in error


# --- daphne's patches (chatproject.servers) ------------------------------------------


@pytest.fixture
def stock_daphne(monkeypatch) -> None:
    """Whatever a test installs on daphne's protocol is taken off afterwards."""
    for name in ("serverClose", "onOpen", "onMessage"):
        monkeypatch.setattr(WebSocketProtocol, name, getattr(WebSocketProtocol, name))


def test_close_codes_stay_stock_when_autobahn_renames_send_close_frame(
    caplog, monkeypatch, stock_daphne
):
    stock = WebSocketProtocol.serverClose
    remove(monkeypatch, AutobahnProtocol, "sendCloseFrame")
    daphne_close_codes.install()
    daphne_close_codes.install()
    assert WebSocketProtocol.serverClose is stock
    [error] = errors(caplog)
    assert "sendCloseFrame is missing" in error


def test_close_codes_are_installed_on_the_pinned_daphne(caplog, stock_daphne):
    daphne_close_codes.install()
    assert WebSocketProtocol.serverClose.chat_fixed
    assert daphne_close_codes.PATCH.state == guard.ON


def test_liveness_puts_daphnes_methods_back_when_last_ping_is_renamed(
    caplog, stock_daphne
):
    stock_on_open, stock_on_message = (
        WebSocketProtocol.onOpen,
        WebSocketProtocol.onMessage,
    )
    daphne_liveness.install()
    assert WebSocketProtocol.onMessage is not stock_on_message

    class Server:
        def log_action(self, *args: object) -> None:
            pass

    protocol = WebSocketProtocol.__new__(WebSocketProtocol)
    protocol.server, protocol.client_addr = Server(), None
    protocol.request = type("Request", (), {"path": "/ws/chat/"})()
    WebSocketProtocol.onOpen(protocol)  # daphne renamed last_ping: not set
    assert (WebSocketProtocol.onOpen, WebSocketProtocol.onMessage) == (
        stock_on_open,
        stock_on_message,
    )
    assert "autoPingRestartOnAnyTraffic" not in vars(protocol)
    [error] = errors(caplog)
    assert "WebSocketProtocol.last_ping is missing" in error
