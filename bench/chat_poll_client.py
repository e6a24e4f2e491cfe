"""The benchmark's client for this chat over the long-polling transport
(`--peer chat-poll`): the same users and sessions as bench.chat_client, the same
frames, carried by POST and GET /poll/ (docs/PROTOCOL.md, "Transports"). One GET
is kept waiting per client, as the browser's fallback does."""

import asyncio
import contextlib
import json
from collections.abc import Callable

import httpx

from . import chat_client
from .chat_client import TIMEOUT, PeerError, prepare_identities

__all__ = ["Connection", "PeerError", "prepare_identities"]


class Connection(chat_client.Connection):
    """chat_client's Connection (join, send) over long-polling."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        sid: str,
        on_message: Callable[[str], None],
        on_data: Callable[[dict], None] | None = None,
    ) -> None:
        self.http = http
        self.url = f"/poll/{sid}/"
        self.ended = ""
        super().__init__(None, on_message, on_data)

    @classmethod
    async def open(
        cls,
        base_url: str,
        identity: dict,
        on_message: Callable[[str], None],
        on_data: Callable[[dict], None] | None = None,
    ) -> "Connection":
        name, _, value = identity["cookie"].partition("=")
        http = httpx.AsyncClient(
            base_url=base_url,
            cookies={name: value},
            headers={"Origin": base_url},
            timeout=TIMEOUT + 30,  # a GET waits up to 25 s
            limits=httpx.Limits(max_connections=4),
        )
        await http.get("/accounts/login/")  # for Django's CSRF token
        http.headers["X-CSRFToken"] = http.cookies["csrftoken"]
        response = await http.post("/poll/")
        if response.status_code != 200:
            raise PeerError(f"poll open answered {response.status_code}", {})
        return cls(http, response.json()["sid"], on_message, on_data)

    def _take(self, body: bytes) -> None:
        for frame in json.loads(body)["frames"]:
            event = frame.get("event")
            if event == "receive_message":
                self.on_data(frame["data"])
            elif event == "ack":
                future = self.waiting.pop(frame["ack"], None)
                if future is not None and not future.done():
                    future.set_result(frame["data"])

    async def _read(self) -> None:
        try:
            while True:
                response = await self.http.get(self.url, params={"wait": 25})
                if response.status_code != 200:
                    status, text = response.status_code, response.text[:100]
                    self.ended = f"GET answered {status}: {text}"
                    break
                self._take(response.content)
        except httpx.TransportError as error:
            self.ended = repr(error)
        finally:
            for future in self.waiting.values():
                if not future.done():
                    ended = ConnectionError(f"session ended: {self.ended}")
                    future.set_exception(ended)

    async def request(self, event: str, data: dict) -> dict:
        ack = next(self.acks)
        future = asyncio.get_running_loop().create_future()
        self.waiting[ack] = future
        frame = {"event": event, "data": data, "ack": ack}
        response = await self.http.post(self.url, json=[frame])
        if response.status_code == 200:
            self._take(response.content)
        reply = await asyncio.wait_for(future, TIMEOUT)
        if reply.get("status") == "error":
            raise PeerError(reply.get("code", "error"), reply)
        return reply

    async def close(self) -> None:
        self.reader.cancel()
        with contextlib.suppress(httpx.TransportError):
            await self.http.delete(self.url)
        await self.http.aclose()
