"""Protocol-v1 clients over a real WebSocket (the `websockets` library) or over
long-polling (httpx), logged in through the real log-in form, as a client other
than ours would be."""

import asyncio
import contextlib
import http.cookiejar
import itertools
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import httpx
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

    def __init__(self, ws: ClientConnection | None, username: str, url: str) -> None:
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
                self._deliver(json.loads(text))
        except ConnectionClosed:
            pass
        finally:
            self.close_code = self.ws.close_code
            for future in self.waiting.values():
                if not future.done():
                    future.set_exception(ConnectionError("socket closed"))
            self.waiting.clear()
            await self.events.put({"event": "_closed", "data": {}})

    def _deliver(self, frame: dict[str, Any]) -> None:
        """An ack to its request; any other frame to `events`."""
        if frame.get("event") == "ack":
            future = self.waiting.pop(frame["ack"], None)
            if future is not None and not future.done():
                future.set_result(frame["data"])
        else:
            self.events.put_nowait(frame)

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


class PollClient(Client):
    """The same as Client, over the long-polling transport (POST/GET /poll/), as
    a browser behind a proxy that refuses WebSockets would speak it."""

    def __init__(self, http: httpx.AsyncClient, sid: str, username: str) -> None:
        self.http = http
        self.sid = sid
        super().__init__(None, username, f"/poll/{sid}/")

    @classmethod
    async def open(cls, base_url: str, cookie: str, username: str) -> "PollClient":
        name, _, value = cookie.partition("=")
        http = httpx.AsyncClient(
            base_url=base_url,
            cookies={name: value},
            headers={"Origin": base_url},
            timeout=TIMEOUT + 30,  # a GET waits up to 25 s
        )
        # Django's CSRF token, as a page of the site would have it.
        await http.get("/accounts/login/")
        http.headers["X-CSRFToken"] = http.cookies["csrftoken"]
        response = await http.post("/poll/")
        assert response.status_code == 200, response.text
        body = response.json()
        client = cls(http, body["sid"], username)
        client._take(body["frames"])
        return client

    def _take(self, frames: list[dict[str, Any]]) -> None:
        for frame in frames:
            self._deliver(frame)

    def _answer(self, response: httpx.Response) -> None:
        body = response.json()
        if response.status_code == 200:
            self._take(body["frames"])
        elif response.status_code == 410:
            self.close_code = body["close"]
        else:
            raise AssertionError(f"{response.status_code}: {response.text}")

    async def _read(self) -> None:
        try:
            while self.close_code is None:
                response = await self.http.get(self.url, params={"wait": 25})
                self._answer(response)
        except httpx.TransportError:
            self.close_code = 1006  # the worker went away: as a dropped socket
        finally:
            for future in self.waiting.values():
                if not future.done():
                    future.set_exception(ConnectionError("session ended"))
            self.waiting.clear()
            await self.events.put({"event": "_closed", "data": {}})

    async def _post(self, frame: dict[str, Any]) -> None:
        try:
            self._answer(await self.http.post(self.url, json=[frame]))
        except httpx.TransportError as error:
            raise ConnectionError(f"session ended: {error!r}") from error

    async def request(
        self, event: str, data: dict[str, Any] | None = None, timeout: float = TIMEOUT
    ) -> dict[str, Any]:
        ack = next(self.acks)
        future = asyncio.get_running_loop().create_future()
        self.waiting[ack] = future
        try:
            await self._post({"event": event, "data": data or {}, "ack": ack})
            reply = await asyncio.wait_for(future, timeout)
        finally:
            self.waiting.pop(ack, None)
        if reply.get("status") == "error":
            raise ErrorReply(reply)
        return reply

    async def emit(self, event: str, data: dict[str, Any]) -> None:
        await self._post({"event": event, "data": data})

    async def close(self) -> None:
        if self.is_open:
            with contextlib.suppress(httpx.TransportError):
                await self.http.delete(self.url)
            self.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.reader
        await self.http.aclose()
