"""What only the long-polling transport has: its HTTP answers, its session's
life (open, poll, end, expire), and the limits as HTTP puts them. The protocol
itself runs over it in every test that uses the `sockets` fixture."""

import asyncio
import json
import time
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.test import AsyncClient

from chat.domain.services import moderation
from chat.realtime import longpoll

from .wsclient import session_cookie

pytestmark = pytest.mark.django_db(transaction=True)


def frame(event: str, ack: Any = None, **data: Any) -> dict[str, Any]:
    return {"event": event, "data": data, **({"ack": ack} if ack is not None else {})}


class Poller:
    """One member's long-poll session, raw: every frame any answer carried is
    kept in `inbox`, in the order the answers came."""

    def __init__(self, client: AsyncClient) -> None:
        self.client = client
        self.sid = ""
        self.inbox: list[dict[str, Any]] = []

    @classmethod
    async def of(cls, user: Any, **kwargs: Any) -> "Poller":
        client = AsyncClient(**kwargs)
        name, _, value = (await session_cookie(user)).decode().partition("=")
        client.cookies[name] = value
        return cls(client)

    @property
    def url(self) -> str:
        return f"/poll/{self.sid}/"

    async def open(self) -> "Poller":
        """Open the session, and take the online list a socket gets on connect
        (in the answer, or with Redis, moments later)."""
        response = await self.client.post("/poll/")
        assert response.status_code == 200, response.content
        self.sid = response.json()["sid"]
        self.inbox += response.json()["frames"]
        await self.until("presence_update")
        return self

    async def post(self, body: Any) -> Any:
        text = body if isinstance(body, str) else json.dumps(body)
        response = await self.client.post(
            self.url, text, content_type="application/json"
        )
        if response.status_code == 200:
            self.inbox += response.json()["frames"]
        return response

    async def get(self, wait: float = 0, **headers: str) -> Any:
        response = await self.client.get(self.url, {"wait": wait}, headers=headers)
        if response.status_code == 200:
            self.inbox += response.json()["frames"]
        return response

    async def until(self, event: str, timeout: float = 5) -> dict[str, Any]:
        """The first `event` frame (taken out of the inbox), polling for it."""
        deadline = time.monotonic() + timeout
        while True:
            for i, got in enumerate(self.inbox):
                if got["event"] == event:
                    return self.inbox.pop(i)
            assert time.monotonic() < deadline, f"no {event}: {self.inbox}"
            response = await self.get(wait=1)
            assert response.status_code == 200, response.content


async def test_a_session_opens_polls_and_ends(amake_user):
    ana = await (await Poller.of(await amake_user("ana"))).open()
    reply = await ana.post([frame("join_room", ack=1, room="general")])
    assert reply.status_code == 200
    ack = await ana.until("ack")
    assert ack["data"]["status"] == "ok" and ack["data"]["room"] == "general"

    ended = await ana.client.delete(ana.url)
    assert ended.status_code == 200 and ended.json()["close"] == 1000
    while (gone := await ana.get()).status_code == 200:
        pass  # what was still waiting, then the end
    assert gone.status_code == 410 and gone.json()["close"] == 1000


async def test_anonymous_and_banned_are_refused_with_the_sockets_codes(amake_user):
    anonymous = await AsyncClient().post("/poll/")
    assert anonymous.status_code == 401 and anonymous.json() == {"close": 4401}

    ana = await Poller.of(await amake_user("ana"))
    mod = await amake_user("mod", is_staff=True)
    await sync_to_async(moderation.site_ban)(actor=mod, username="ana")
    banned = await ana.client.post("/poll/")
    assert banned.status_code == 403 and banned.json() == {"close": 4403}


async def in_general(*users: Any) -> list[Poller]:
    pollers = [await (await Poller.of(user)).open() for user in users]
    for poller in pollers:
        await poller.post([frame("join_room", ack="j", room="general")])
        await poller.until("ack")
    return pollers


async def test_a_get_waits_for_a_frame_and_answers_at_once_when_one_comes(amake_user):
    a, b = await in_general(await amake_user("ana"), await amake_user("ben"))
    await b.get()
    started = time.monotonic()
    waiting = asyncio.create_task(b.get(wait=20))
    await asyncio.sleep(0.2)
    await a.post([frame("send_message", room="general", message="hi")])
    await waiting
    assert time.monotonic() - started < 5, "the GET waited out its time"
    assert (await b.until("receive_message"))["data"]["message"] == "hi"


async def test_an_empty_wait_answers_an_empty_list(amake_user):
    ana = await (await Poller.of(await amake_user("ana"))).open()
    response = await ana.get(wait=0.2)
    assert response.status_code == 200 and response.json() == {"frames": []}
    assert (await ana.client.get(ana.url, {"wait": "soon"})).status_code == 400


async def test_a_second_get_makes_the_first_return_at_once(amake_user):
    ana = await (await Poller.of(await amake_user("ana"))).open()
    first = asyncio.create_task(ana.get(wait=20))
    await asyncio.sleep(0.2)
    second = asyncio.create_task(ana.get(wait=0.5))
    async with asyncio.timeout(5):
        assert (await first).json() == {"frames": []}
    await second


async def test_an_unknown_sid_says_reconnect_and_another_users_sid_reveals_nothing(
    amake_user,
):
    ana = await (await Poller.of(await amake_user("ana"))).open()
    ben = await Poller.of(await amake_user("ben"))
    for client, sid in ((ana.client, "no-such-session"), (ben.client, ana.sid)):
        response = await client.get(f"/poll/{sid}/", {"wait": "0"})
        assert response.status_code == 410
        assert response.json()["close"] == 1012
    # ben's request did not end ana's session.
    assert (await ana.get()).status_code == 200


async def test_bodies_that_are_not_an_array_of_frames_are_refused_with_400(amake_user):
    ana = await (await Poller.of(await amake_user("ana"))).open()
    for body in ("not json", '{"event": "ping"}', "[" * 20_000 + "]" * 20_000):
        assert (await ana.post(body)).status_code == 400, body[:20]
    too_many = [frame("ping")] * (longpoll.FRAMES_PER_POST + 1)
    assert (await ana.post(too_many)).status_code == 400
    # Frames that are JSON but not good frames get the protocol's own errors.
    await ana.post([42, {"event": "ping", "ack": True}, frame("no_such_event")])
    codes = [(await ana.until("error"))["data"]["code"] for _ in range(3)]
    assert codes == ["bad_frame", "bad_frame", "unknown_event"]


async def test_a_body_over_the_frame_limit_is_refused_with_413(amake_user, settings):
    ana = await (await Poller.of(await amake_user("ana"))).open()
    response = await ana.post([frame("ping", pad="x" * settings.CHAT_MAX_FRAME_BYTES)])
    assert response.status_code == 413 and response.json()["close"] == 1009
    # Refused, not ended: the session goes on.
    assert (await ana.get()).status_code == 200


async def test_posts_need_the_csrf_token_and_every_request_the_sites_origin(
    amake_user,
):
    ana = await amake_user("ana")
    strict = await Poller.of(ana, enforce_csrf_checks=True)
    assert (await strict.client.post("/poll/")).status_code == 403

    poller = await (await Poller.of(ana)).open()
    assert (await poller.get(Origin="https://evil.example")).status_code == 403
    assert (await poller.get(**{"Sec-Fetch-Site": "cross-site"})).status_code == 403
    assert (await poller.get(Origin="http://testserver")).status_code == 200


async def test_a_session_nobody_polls_ends_and_leaves_presence(amake_user, monkeypatch):
    monkeypatch.setattr(longpoll, "IDLE_LIMIT", 0.2)
    monkeypatch.setattr(longpoll, "REAP_EVERY", 0.1)
    ana = await (await Poller.of(await amake_user("ana"))).open()
    ben = await (await Poller.of(await amake_user("ben"))).open()
    # ben keeps polling; ana does not: ben hears her leave the site.
    while "ana" in (await ben.until("presence_update"))["data"]["online"]:
        pass
    # What was queued for her comes first, then the end.
    while (gone := await ana.get()).status_code == 200:
        pass
    assert gone.status_code == 410 and gone.json()["close"] == 1001


async def test_a_client_that_stops_polling_is_closed_with_1013(amake_user, settings):
    settings.CHAT_MAX_SOCKET_BUFFER = 2_000
    settings.CHAT_RATE_LIMITS = {**settings.CHAT_RATE_LIMITS, "message": (1e3, 1000)}
    a, b = await in_general(await amake_user("ana"), await amake_user("ben"))
    # ana stops polling; ben talks.
    for _ in range(20):
        await b.post([frame("send_message", room="general", message="x" * 200)])
    while (response := await a.get()).status_code == 200:
        pass
    assert response.status_code == 410 and response.json()["close"] == 1013
    assert sum(len(json.dumps(f)) for f in a.inbox) <= 2_000 + 500
