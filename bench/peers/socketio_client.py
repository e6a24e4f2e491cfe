"""The benchmark's client for the Socket.io tutorial server (bench/peers/socketio/),
speaking Engine.IO v4 / Socket.IO v5 by hand over one raw WebSocket.

The same shape as bench/chat_client.py, so the load generator drives either:
`prepare_identities` (parent process), then `Connection.open`, `join`, `send`,
`close`.

The protocol, as far as this client needs it (text frames only):
  server "0{...}"   Engine.IO open (sid, pingInterval, pingTimeout)
  client "40"       Socket.IO connect to the main namespace; server "40{...}" (or
                    "44{...}", a refusal)
  server "2"        Engine.IO ping; the client answers "3" (else the server drops it
                    after pingInterval + pingTimeout)
  both   "42[...]"  Socket.IO event: "42" + JSON ["event", data]
  server "41"       namespace disconnect; "1" Engine.IO close
"""

import asyncio
import contextlib
import json
import urllib.parse
from collections.abc import Callable

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

PEER_NAME = "socketio"
TIMEOUT = 30  # opening the socket
JOIN_TIMEOUT = 10

# Socket.io serializes with JSON.stringify (no spaces), so events are recognised by
# their prefix and only the ones needed are decoded.
_RECEIVE = '42["receive_message",'
_RECEIVE_LEN = len(_RECEIVE)
_JOINED = '42["room_joined",'
_JOINED_LEN = len(_JOINED)
_BODY_START = ',"message":"'
_BODY_END = '","time":"'


def prepare_identities(base_url: str, count: int, run_id: str) -> list[dict]:
    """Socket.io has no accounts: a username per connection."""
    del base_url
    return [{"username": f"bench-{run_id}-{i}"} for i in range(count)]


class Connection:
    def __init__(
        self, ws: ClientConnection, identity: dict, on_message: Callable[[str], None]
    ) -> None:
        self.ws = ws
        self.username = identity["username"]
        self.on_message = on_message
        self.joining: dict[str, list[asyncio.Future]] = {}
        self.reader = asyncio.create_task(self._read())

    @classmethod
    async def open(
        cls, base_url: str, identity: dict, on_message: Callable[[str], None]
    ) -> "Connection":
        parts = urllib.parse.urlsplit(base_url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        ws = await connect(
            f"{scheme}://{parts.netloc}/socket.io/?EIO=4&transport=websocket",
            open_timeout=TIMEOUT,
            compression=None,  # permessage-deflate off, as bench/chat_client.py
            max_size=None,
            ping_interval=None,  # Engine.IO has its own ping/pong
        )
        try:
            async with asyncio.timeout(TIMEOUT):
                frame = await ws.recv()
                if not frame.startswith("0"):
                    raise ConnectionError(
                        f"expected an Engine.IO open packet: {frame!r}"
                    )
                await ws.send("40")
                while True:
                    frame = await ws.recv()
                    if frame.startswith("40"):
                        break
                    if frame == "2":
                        await ws.send("3")
                    elif frame.startswith("44"):
                        raise ConnectionError(f"Socket.IO connect refused: {frame[2:]}")
                    else:
                        raise ConnectionError(
                            f"unexpected packet before connect: {frame!r}"
                        )
        except BaseException:
            await ws.close()
            raise
        return cls(ws, identity, on_message)

    async def _read(self) -> None:
        on_message = self.on_message
        ws = self.ws
        try:
            async for frame in ws:
                # The hot path: nearly every frame is a room message.
                if frame.startswith(_RECEIVE):
                    on_message(_message_of(frame))
                elif frame == "2":
                    await ws.send("3")
                elif frame.startswith(_JOINED):
                    room = json.loads(frame[_JOINED_LEN:-1]).get("room")
                    for future in self.joining.pop(room, ()):
                        if not future.done():
                            future.set_result(None)
                elif frame == "41" or frame == "1":
                    break  # disconnected by the server
                # Anything else (user_joined, room_users, user_left, ...) is ignored.
        except ConnectionClosed:
            pass
        finally:
            for futures in self.joining.values():
                for future in futures:
                    if not future.done():
                        future.set_exception(ConnectionError("socket closed"))
            self.joining.clear()

    async def _emit(self, event: str, data: dict) -> None:
        await self.ws.send("42" + json.dumps([event, data], separators=(",", ":")))

    async def join(self, room: str) -> None:
        """Join `room`; returns once the server confirmed (room_joined). The tutorial's
        server keeps one room per socket: joining another leaves the previous one."""
        if self.reader.done():
            raise ConnectionError("socket closed")
        future = asyncio.get_running_loop().create_future()
        self.joining.setdefault(room, []).append(future)
        await self._emit("join_room", {"username": self.username, "room": room})
        try:
            async with asyncio.timeout(JOIN_TIMEOUT):
                await future
        except TimeoutError:
            waiting = self.joining.get(room, [])
            if future in waiting:
                waiting.remove(future)
                if not waiting:
                    del self.joining[room]
            raise

    async def send(self, room: str, body: str) -> float | None:
        """Send; the tutorial's server acknowledges nothing, so None."""
        await self._emit("send_message", {"message": body, "room": room})
        return None

    async def close(self) -> None:
        await self.ws.close()
        with contextlib.suppress(TimeoutError):  # wait_for cancels the reader
            await asyncio.wait_for(self.reader, 5)


def _message_of(frame: str) -> str:
    """The `message` of a receive_message frame, without decoding the JSON when it
    can: the server's payload is {"id","username","message","time"} in that order,
    and an unescaped `"` only ever occurs as JSON syntax, so the first
    `,"message":"` and the last `","time":"` delimit the message's string literal.
    (0.6 us instead of 2 us for json.loads: ~20% of the CPU a delivery costs here.)"""
    start = frame.find(_BODY_START, _RECEIVE_LEN)
    end = frame.rfind(_BODY_END)
    if start < 0 or end < start:
        return json.loads(frame[_RECEIVE_LEN:-1])["message"]
    body = frame[start + len(_BODY_START) : end]
    if "\\" in body:  # escapes: let json undo them
        return json.loads(f'"{body}"')
    return body
