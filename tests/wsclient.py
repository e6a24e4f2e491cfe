"""A small protocol-v1 client for tests, over channels' WebsocketCommunicator or
the long-polling transport (tests.pollclient) alike."""

import asyncio
import contextlib
import itertools
import json
import threading
from typing import Any

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import connections
from django.test import Client

from chat.infra import presence, ratelimit, worker
from chatproject.asgi import application

from .pollclient import PollCommunicator

ORIGIN = b"http://localhost"
HOST = b"localhost"  # the handshake's own origin is then ORIGIN
TIMEOUT = 5


@sync_to_async
def session_cookie(user: Any) -> bytes:
    client = Client()
    client.force_login(user)
    name = settings.SESSION_COOKIE_NAME
    return f"{name}={client.cookies[name].value}".encode()


class Socket:
    """One client socket. Frames that are not the awaited ack are kept in `inbox`."""

    _acks = itertools.count(1)

    def __init__(self, communicator: WebsocketCommunicator, username: str) -> None:
        self.communicator = communicator
        self.username = username
        self.inbox: list[dict[str, Any]] = []
        self.closed = False

    async def send_text(self, text: str) -> None:
        await self.communicator.send_to(text_data=text)

    async def emit(self, event: str, data: dict[str, Any] | None = None) -> None:
        await self.send_text(json.dumps({"event": event, "data": data or {}}))

    async def request(
        self, event: str, data: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Send with an ack id; return the ack's data (ok, delivered or error)."""
        ack = next(self._acks)
        await self.send_text(
            json.dumps({"event": event, "data": data or {}, "ack": ack})
        )
        frame = await self.next_frame(
            lambda f: f["event"] == "ack" and f.get("ack") == ack
        )
        return frame["data"]

    async def event(
        self, name: str, timeout: float = TIMEOUT, **match: Any
    ) -> dict[str, Any]:
        """The next `name` event whose data has these fields (inbox first)."""

        def wanted(frame: dict[str, Any]) -> bool:
            data = frame.get("data", {})
            return frame["event"] == name and all(
                data.get(k) == v for k, v in match.items()
            )

        return (await self.next_frame(wanted, timeout))["data"]

    async def next_frame(self, wanted, timeout: float = TIMEOUT) -> dict[str, Any]:
        for i, frame in enumerate(self.inbox):
            if wanted(frame):
                return self.inbox.pop(i)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (frame := await self._receive(deadline - loop.time())) is not None:
            if wanted(frame):
                return frame
            self.inbox.append(frame)
        raise AssertionError(f"{self.username}: no such frame; inbox={self.inbox}")

    async def drain(self, quiet: float = 0.3) -> list[dict[str, Any]]:
        """Everything that arrives until the socket has been quiet for `quiet` s."""
        while (frame := await self._receive(quiet)) is not None:
            self.inbox.append(frame)
        frames, self.inbox = self.inbox, []
        return frames

    async def _receive(self, timeout: float) -> dict[str, Any] | None:
        """The next frame, or None after `timeout` s.

        Reads the communicator's queue directly: its receive_output cancels the
        application when it times out, which would kill the socket under test.
        """
        communicator = self.communicator
        if communicator.future.done():
            communicator.future.result()  # raise what the application raised
        try:
            async with asyncio.timeout(max(timeout, 0)):
                message = await communicator.output_queue.get()
        except TimeoutError:
            return None
        if message["type"] == "websocket.close":
            self.closed = True
            raise AssertionError(f"{self.username}: socket closed: {message}")
        return json.loads(message["text"])

    async def events(self, name: str, quiet: float = 0.3) -> list[dict[str, Any]]:
        """Drain, and return the data of the `name` events (others are dropped)."""
        return [f["data"] for f in await self.drain(quiet) if f["event"] == name]

    async def join(self, room: str, **extra: Any) -> dict[str, Any]:
        reply = await self.request("join_room", {"room": room, **extra})
        assert reply["status"] == "ok", reply
        return reply

    async def say(self, room: str, message: str, **extra: Any) -> dict[str, Any]:
        reply = await self.request(
            "send_message", {"room": room, "message": message, **extra}
        )
        assert reply["status"] == "delivered", reply
        return reply

    async def close(self) -> None:
        if not self.closed:
            self.closed = True
            await self.communicator.disconnect()


TRANSPORTS = ("websocket", "longpoll")


async def open_socket(
    user: Any,
    *,
    origin: bytes = ORIGIN,
    expect_presence: bool = True,
    transport: str = "websocket",
) -> Socket:
    cookie = await session_cookie(user) if user is not None else None
    if transport == "longpoll":
        communicator: Any = PollCommunicator(cookie, origin)
    else:
        headers = [(b"host", HOST), (b"origin", origin)]
        if cookie is not None:
            headers.append((b"cookie", cookie))
        communicator = WebsocketCommunicator(application, "/ws/chat/", headers=headers)
    connected, _ = await communicator.connect(timeout=TIMEOUT)
    assert connected
    socket = Socket(communicator, getattr(user, "username", "anonymous"))
    if expect_presence:
        await socket.event("presence_update")
    return socket


async def close_all(sockets: list[Socket]) -> None:
    """Close `sockets`, then what they left open in this event loop: the channel
    layer's and Redis connections, and the database connections of the consumers'
    worker thread (channels.testing makes close_old_connections a no-op while a test
    awaits a socket; PostgreSQL would then refuse to drop the test database)."""
    for socket in reversed(sockets):
        await socket.close()
    await database_work_done()
    layer = get_channel_layer()
    if hasattr(layer, "flush"):
        await layer.flush()
    await presence.store().close()
    await ratelimit.close()
    await sync_to_async(connections.close_all)()


async def database_work_done() -> None:
    """Wait for the database work that sockets left running to finish: a
    session's end records when its user was last seen, and a test client gives
    a socket a second to end before it cancels it, which a thread cannot be.
    A write still running when the test's database is flushed deadlocks with the
    flush on PostgreSQL. Every thread of the pool meets at a barrier: all that
    was queued before has then finished."""
    # A long-polling session ends in a task of its own, after its DELETE.
    ending = [
        task
        for task in asyncio.all_tasks()
        if getattr(task.get_coro(), "__name__", "") == "_leave"
    ]
    await asyncio.gather(*ending, return_exceptions=True)
    threads = settings.CHAT_DB_THREADS
    barrier = threading.Barrier(threads, timeout=30)
    meet = worker.in_db_thread(barrier.wait)
    # RuntimeError: the test shut the pool down, so nothing is running.
    with contextlib.suppress(RuntimeError):
        await asyncio.gather(*(meet() for _ in range(threads)))
