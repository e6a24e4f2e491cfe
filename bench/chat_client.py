"""The benchmark's client for this chat (protocol v1), logged in through the real
sign-up and log-in forms.

The same shape as bench/peers/socketio_client.py, so the load generator drives
either: `prepare_identities` (parent process), then `Connection.open`, `join`,
`send`, `close`.
"""

import asyncio
import http.cookiejar
import itertools
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

PEER_NAME = "chat"
PASSWORD = "Tq8-vexil-Marrow-52"  # the benchmark's users are throwaway accounts
TIMEOUT = 30
# Logging in costs the server a password hash (~0.3 s): sessions are kept here and
# reused while the server still accepts them.
SESSIONS = Path.home() / ".cache" / "chat-bench" / "sessions.json"


class PeerError(Exception):
    def __init__(self, code: str, data: dict) -> None:
        super().__init__(code)
        self.code = code
        self.data = data


# --- Identities (the parent process) -------------------------------------------------


def prepare_identities(base_url: str, count: int, run_id: str) -> list[dict]:
    """`count` users named bench-0 ... (created on first use), each with a session
    cookie: reused from the cache when still valid, else logged in (or signed up)
    through the forms."""
    del run_id  # users are reused across runs: signing up is the slow part
    cache = _load_sessions()
    names = [f"bench-{i}" for i in range(count)]
    with ThreadPoolExecutor(8) as pool:
        cookies = list(
            pool.map(
                lambda n: _session(base_url, n, cache.get(f"{base_url} {n}")), names
            )
        )
    for name, cookie in zip(names, cookies, strict=True):
        cache[f"{base_url} {name}"] = cookie
    _save_sessions(cache)
    return [{"username": n, "cookie": c} for n, c in zip(names, cookies, strict=True)]


def _session(base_url: str, username: str, cached: str | None) -> str:
    if cached and _still_logged_in(base_url, cached):
        return cached
    try:
        return _form(
            base_url, "/accounts/login/", {"username": username, "password": PASSWORD}
        )
    except PermissionError:
        return _form(
            base_url,
            "/accounts/signup/",
            {"username": username, "password1": PASSWORD, "password2": PASSWORD},
        )


def _still_logged_in(base_url: str, cookie: str) -> bool:
    request = urllib.request.Request(f"{base_url}/rooms/", headers={"Cookie": cookie})
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=TIMEOUT) as response:
            return response.status == 200
    except urllib.error.HTTPError:
        return False


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _form(base_url: str, path: str, fields: dict[str, str]) -> str:
    """Submit a form; the session cookie it sets, or PermissionError."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(base_url + path, timeout=TIMEOUT).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    body = urllib.parse.urlencode({**fields, "csrfmiddlewaretoken": token}).encode()
    request = urllib.request.Request(
        base_url + path, data=body, headers={"Referer": base_url + path}
    )
    opener.open(request, timeout=TIMEOUT).read()
    session = next((c.value for c in jar if c.name == "sessionid"), None)
    if session is None:
        raise PermissionError(f"{path} refused {fields.get('username')}")
    return f"sessionid={session}"


def _load_sessions() -> dict[str, str]:
    try:
        return json.loads(SESSIONS.read_text())
    except (FileNotFoundError, ValueError):
        return {}


def _save_sessions(cache: dict[str, str]) -> None:
    SESSIONS.parent.mkdir(parents=True, exist_ok=True)
    SESSIONS.write_text(json.dumps(cache))


# --- One socket (a load-generator process) -----------------------------------------


class Connection:
    def __init__(
        self,
        ws: ClientConnection,
        on_message: Callable[[str], None],
        on_data: Callable[[dict], None] | None = None,
        on_event: Callable[[str, dict], None] | None = None,
    ) -> None:
        """`on_message(body)` for each room message; or, given, `on_data(data)`
        with the whole frame's data (room, seq, id, message, ...). Given,
        `on_event(event, data)` for every other frame but acks."""
        self.ws = ws
        self.on_data = on_data or (lambda data: on_message(data["message"]))
        self.on_event = on_event
        self.acks = itertools.count(1)
        self.waiting: dict[int, asyncio.Future] = {}
        self.reader = asyncio.create_task(self._read())

    @classmethod
    async def open(
        cls,
        base_url: str,
        identity: dict,
        on_message: Callable[[str], None],
        on_data: Callable[[dict], None] | None = None,
        on_event: Callable[[str, dict], None] | None = None,
    ) -> "Connection":
        parts = urllib.parse.urlsplit(base_url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        ws = await connect(
            f"{scheme}://{parts.netloc}/ws/chat/",
            additional_headers={"Cookie": identity["cookie"]},
            origin=f"{parts.scheme}://{parts.netloc}",
            open_timeout=TIMEOUT,
            compression=None,
            max_size=2**20,
            ping_interval=None,
        )
        return cls(ws, on_message, on_data, on_event)

    async def _read(self) -> None:
        on_data, on_event = self.on_data, self.on_event
        try:
            async for text in self.ws:
                # The hot path: room messages are most frames; decode only those
                # and acks (and the rest only for an on_event).
                if text.startswith('{"event":"receive_message"'):
                    on_data(json.loads(text)["data"])
                elif text.startswith('{"event":"ack"'):
                    frame = json.loads(text)
                    future = self.waiting.pop(frame["ack"], None)
                    if future is not None and not future.done():
                        future.set_result(frame["data"])
                elif on_event is not None:
                    frame = json.loads(text)
                    on_event(frame["event"], frame.get("data"))
        except ConnectionClosed:
            pass
        finally:
            for future in self.waiting.values():
                if not future.done():
                    future.set_exception(ConnectionError("socket closed"))

    async def request(self, event: str, data: dict) -> dict:
        ack = next(self.acks)
        future = asyncio.get_running_loop().create_future()
        self.waiting[ack] = future
        try:
            await self.ws.send(json.dumps({"event": event, "data": data, "ack": ack}))
            reply = await asyncio.wait_for(future, TIMEOUT)
        finally:  # a send that failed leaves no future for the reader to fail
            self.waiting.pop(ack, None)
            if future.done() and not future.cancelled():
                # The reader failed it while the send was failing: seen here.
                future.exception()
        if reply.get("status") == "error":
            raise PeerError(reply.get("code", "error"), reply)
        return reply

    async def join(self, room: str) -> None:
        await self.request("join_room", {"room": room})

    async def send(self, room: str, body: str, **fields) -> float | None:
        """Send (with any other `fields` of send_message: threadId, clientId);
        the seconds until its ack (stored and broadcast)."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        await self.request("send_message", {"room": room, "message": body, **fields})
        return loop.time() - started

    async def react(self, message_id: int, emoji: str, on: bool) -> float:
        """Put `emoji` on the message or take it off; the seconds until its ack."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        await self.request("react", {"id": message_id, "emoji": emoji, "on": on})
        return loop.time() - started

    async def close(self) -> None:
        await self.ws.close()
