"""The WebSocket transport of protocol v1 (docs/PROTOCOL.md): one socket per
browser tab. It accepts, gates on the login session, and carries frames between
the socket and its chat.realtime.session.Session; everything the frames mean is
in chat.realtime.dispatch and the handlers.

Frames out are written straight to the server's connection when the server is one
we know (chat.infra.fast.wire), and what waits for a client that does not read is
bounded by CHAT_MAX_SOCKET_BUFFER.
"""

import logging
from typing import Any

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.contrib.auth import SESSION_KEY

from chat.infra import metrics, worker
from chat.infra.fast import wire
from chat.realtime import dispatch, protocol
from chat.realtime.session import Session, refusal_code

logger = logging.getLogger(__name__)


class ChatConsumer(AsyncWebsocketConsumer):
    session: Session | None = None
    channel_name: str | None = None  # set by Channels once the layer gave one
    # The server's connection (chat.infra.fast.wire), when the server is one we
    # know: frames are written straight to it, and what waits for the client is
    # bounded.
    link: wire.Link | None = None
    # Closed for not reading (CHAT_MAX_SOCKET_BUFFER): nothing more is sent.
    overloaded = False

    async def dispatch(self, message: dict[str, Any]) -> None:
        # channels 4.2+ runs aclose_old_connections() before every handler: a hop
        # to the worker's sync thread for each frame in or out, which capped a
        # worker at ~2,000 deliveries/s (docs/BENCHMARKS.md). Every database call
        # goes through worker.in_db_thread, which closes stale connections itself.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"no handler for message type {message['type']}")
        await handler(message)

    # --- Opening and closing ----------------------------------------------------------

    async def __call__(self, scope, receive, send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            if self.channel_name is not None:
                await worker.release_channel(self.channel_name)

    async def connect(self) -> None:
        self.link = wire.link_for(self.base_send)
        await self.accept()
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            session_data = self.scope.get("session")
            user_id = session_data.get(SESSION_KEY) if session_data else None
            await self.close(code=await refusal_code(user_id))
            return
        session = Session(self, self.channel_name)
        self.session = session
        if attach := getattr(self.channel_layer, "attach", None):
            attach(self.channel_name, session)  # held until open is done
        try:
            refused = await session.open(user, self.scope["session"].session_key)
            if refused is not None:
                await self.close(code=refused)
        finally:
            await session.flush_held()

    async def disconnect(self, code: int) -> None:
        if detach := getattr(self.channel_layer, "detach", None):
            detach(self.channel_name)
        if self.session is not None:
            await self.session.leave(code)

    async def close(self, code: int | bool | None = None, reason: str | None = None):
        if self.overloaded:  # its close frame is out already
            return
        await super().close(code=code, reason=reason)

    # --- Frames in --------------------------------------------------------------------

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None
    ) -> None:
        session = self.session
        if session is None or session.user is None:
            return
        data = text_data if text_data is not None else bytes_data or b""
        if protocol.too_big(data, settings.CHAT_MAX_FRAME_BYTES):
            await self.close(code=protocol.CLOSE_TOO_BIG)
            return
        try:
            await dispatch.handle(session, text_data)
        finally:
            await session.flush_held()

    # --- The channel layer's messages (when not attached) -----------------------------

    async def chat_event(self, event: dict[str, Any]) -> None:
        if self.session is not None:
            await self.session.on_event(event)

    async def chat_control(self, event: dict[str, Any]) -> None:
        if self.session is not None:
            await self.session.on_control(event)

    # --- The session's carrier --------------------------------------------------------

    async def send_text(self, text: str) -> None:
        await self.transmit(text)

    async def send_broadcast(self, event: dict[str, Any]) -> None:
        # The one copy of this broadcast in the process (chat.infra.fast.layers)
        # keeps its frame for the other members.
        frame = event.get("frame")
        if frame is None and self.link is not None:
            frame = event["frame"] = wire.text_frame(event["text"])
        await self.transmit(event["text"], frame)

    async def end(self, code: int) -> None:
        await self.close(code=code)

    def pause_reading(self, seconds: float) -> None:
        if self.link is not None:
            self.link.pause_reading(seconds)

    async def transmit(self, text: str, frame: bytes | None = None) -> None:
        """Send `text` (already framed as `frame`, when given): every frame out
        passes here, so that what waits for a client that does not read is bounded
        whichever way it goes out."""
        if (link := self.link) is None:
            await self.asgi_send(text)
            return
        if self.overloaded:
            return
        if frame is None:
            frame = wire.text_frame(text)
        # A frame always goes out to a client that has read everything before it,
        # however long (a history page of long messages may pass the bound alone).
        pending = link.pending()
        if pending and pending + len(frame) > settings.CHAT_MAX_SOCKET_BUFFER:
            self.close_overloaded()
        elif not link.write(frame):
            await self.asgi_send(text)

    async def asgi_send(self, text: str) -> None:
        try:
            await self.base_send({"type": "websocket.send", "text": text})
        except wire.SEND_AFTER_CLOSE:
            # A broadcast handed straight to this socket (chat.infra.fast.layers)
            # can race its close, with websocket.disconnect still on its way in:
            # the frame has no one to go to, and that disconnect ends the session.
            logger.debug("frame dropped: the connection has closed")

    def close_overloaded(self) -> None:
        """The client has stopped reading: close its socket with 1013 rather than
        queue more for it. It reconnects and resyncs, so it loses nothing."""
        self.overloaded = True
        logger.warning(
            "closed with %d: more than %d bytes waiting for the client",
            protocol.CLOSE_TRY_AGAIN_LATER,
            settings.CHAT_MAX_SOCKET_BUFFER,
        )
        metrics.sockets_overloaded.inc()
        self.link.close_overloaded(protocol.CLOSE_TRY_AGAIN_LATER)
