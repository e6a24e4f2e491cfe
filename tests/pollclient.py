"""The long-polling transport behind the WebsocketCommunicator interface the
test client (tests.wsclient.Socket) uses, so that the protocol's tests run over
both transports unchanged.

Requests go through Django's AsyncClient, in this event loop and process, like
the communicator's. One GET is kept waiting, as the browser client does; its
frames and those a POST answers with go to `output_queue` as the messages a
WebSocket would have produced, and a session that ended (410) as its close.
"""

import asyncio
import contextlib
import json
from typing import Any

from django.test import AsyncClient

POLL = "/poll/"


class PollCommunicator:
    def __init__(self, cookie: bytes | None, origin: bytes | None) -> None:
        headers = {}
        if origin is not None:
            headers["origin"] = origin.decode()
        self.client = AsyncClient(headers=headers)
        if cookie is not None:
            name, _, value = cookie.decode().partition("=")
            self.client.cookies[name] = value
        self.output_queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.sid: str | None = None
        self.future: asyncio.Future = asyncio.get_running_loop().create_future()
        self.closed = False

    async def connect(self, timeout: float = 5) -> tuple[bool, None]:
        async with asyncio.timeout(timeout):
            response = await self.client.post(POLL, content_type="application/json")
        body = response.json()
        if response.status_code != 200:
            # As a socket that is accepted, then closed with the code.
            self._closed(body["close"])
            return True, None
        self.sid = body["sid"]
        self._frames(body["frames"])
        self.future = asyncio.get_running_loop().create_task(self._poll())
        return True, None

    async def _poll(self) -> None:
        while not self.closed:
            response = await self.client.get(f"{POLL}{self.sid}/", {"wait": "25"})
            if not self._answer(response):
                return

    def _answer(self, response: Any) -> bool:
        """Queue what an answer carries; False once the session has ended."""
        body = response.json()
        if response.status_code == 200:
            self._frames(body["frames"])
            return True
        if response.status_code == 410:
            self._closed(body["close"])
            return False
        raise AssertionError(f"poll answered {response.status_code}: {body}")

    def _frames(self, frames: list[dict[str, Any]]) -> None:
        for frame in frames:
            self.output_queue.put_nowait(
                {"type": "websocket.send", "text": json.dumps(frame)}
            )

    def _closed(self, code: int) -> None:
        if not self.closed:
            self.closed = True
            self.output_queue.put_nowait({"type": "websocket.close", "code": code})

    async def send_to(
        self, text_data: str | None = None, bytes_data: bytes | None = None
    ) -> None:
        """Post one frame, as the socket would have sent it."""
        assert bytes_data is None, "long-polling carries JSON text only"
        assert self.sid is not None and not self.closed, "the session has ended"
        response = await self.client.post(
            f"{POLL}{self.sid}/",
            "[" + text_data + "]",
            content_type="application/json",
        )
        self._answer(response)

    async def receive_output(self, timeout: float = 1) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            return await self.output_queue.get()

    async def disconnect(self, code: int = 1000, timeout: float = 1) -> None:
        if self.sid is not None and not self.closed:
            self.closed = True
            await self.client.delete(f"{POLL}{self.sid}/")
        if isinstance(self.future, asyncio.Task):
            self.future.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.future
