"""A protocol-v1 client over a real WebSocket (the `websockets` library), logged in
through the real log-in form, as a client other than ours would be."""

import asyncio
import http.cookiejar
import itertools
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

TIMEOUT = 10


def log_in(base_url: str, username: str, password: str) -> str:
    """Log in through /accounts/login/; the Cookie header for the session."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base_url}/accounts/login/", timeout=TIMEOUT).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode(
        {"username": username, "password": password, "csrfmiddlewaretoken": token}
    ).encode()
    request = urllib.request.Request(
        f"{base_url}/accounts/login/", data=form, headers={"Referer": base_url}
    )
    opener.open(request, timeout=TIMEOUT).read()
    cookies = {c.name: c.value for c in jar}
    assert "sessionid" in cookies, f"log-in failed for {username}"
    return f"sessionid={cookies['sessionid']}"


class ErrorReply(Exception):
    def __init__(self, data: dict[str, Any]) -> None:
        super().__init__(f"{data.get('code')}: {data.get('msg')}")
        self.code = data.get("code")
        self.data = data


class Client:
    """One socket. Replies are matched to requests; every other frame is queued."""

    def __init__(self, ws: ClientConnection, username: str, url: str) -> None:
        self.ws = ws
        self.username = username
        self.url = url
        self.acks = itertools.count(1)
        self.waiting: dict[int, asyncio.Future] = {}
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.close_code: int | None = None
        self.reader = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, url: str, cookie: str, username: str) -> "Client":
        origin = "http://" + urllib.parse.urlsplit(url).netloc
        ws = await connect(
            url,
            additional_headers={"Cookie": cookie},
            origin=origin,
            open_timeout=TIMEOUT,
            max_size=2**20,
        )
        return cls(ws, username, url)

    async def _read(self) -> None:
        try:
            async for text in self.ws:
                frame = json.loads(text)
                if frame.get("event") == "ack":
                    future = self.waiting.pop(frame["ack"], None)
                    if future is not None and not future.done():
                        future.set_result(frame["data"])
                else:
                    await self.events.put(frame)
        except ConnectionClosed:
            pass
        finally:
            self.close_code = self.ws.close_code
            for future in self.waiting.values():
                if not future.done():
                    future.set_exception(ConnectionError("socket closed"))
            self.waiting.clear()
            await self.events.put({"event": "_closed", "data": {}})

    @property
    def is_open(self) -> bool:
        return not self.reader.done()

    async def request(
        self, event: str, data: dict[str, Any] | None = None, timeout: float = TIMEOUT
    ) -> dict[str, Any]:
        """The ack's data; ErrorReply for an error ack."""
        ack = next(self.acks)
        future = asyncio.get_running_loop().create_future()
        self.waiting[ack] = future
        frame = json.dumps({"event": event, "data": data or {}, "ack": ack})
        try:
            await self.ws.send(frame)
            reply = await asyncio.wait_for(future, timeout)
        except ConnectionClosed as closed:
            raise ConnectionError(f"socket closed: {closed}") from closed
        finally:
            self.waiting.pop(ack, None)
        if reply.get("status") == "error":
            raise ErrorReply(reply)
        return reply

    async def emit(self, event: str, data: dict[str, Any]) -> None:
        try:
            await self.ws.send(json.dumps({"event": event, "data": data}))
        except ConnectionClosed as closed:
            raise ConnectionError(f"socket closed: {closed}") from closed

    async def event(
        self, name: str, timeout: float = TIMEOUT, **match: Any
    ) -> dict[str, Any]:
        """The next `name` event whose data has the `match` items; others are
        dropped."""
        async with asyncio.timeout(timeout):
            while True:
                frame = await self.events.get()
                if frame["event"] == "_closed":
                    raise ConnectionError(f"closed with {self.close_code}")
                data = frame["data"]
                if frame["event"] == name and all(
                    data.get(k) == v for k, v in match.items()
                ):
                    return data

    async def closed(self, timeout: float = TIMEOUT) -> int | None:
        """Wait for the server to close the socket; its close code."""
        await asyncio.wait_for(asyncio.shield(self.reader), timeout)
        return self.close_code

    async def close(self) -> None:
        await self.ws.close()
        await asyncio.wait_for(self.reader, TIMEOUT)


def http_get(url: str) -> tuple[int, bytes]:
    """GET `url`: its status and body, errors included (call it in a thread)."""
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
