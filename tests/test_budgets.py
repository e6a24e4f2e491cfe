"""What one member can take from everyone else: every frame is paid for from a
budget their sockets share (reads by what they read), moderation has a pace of its
own, and their database work holds at most a few of a worker's threads."""

import asyncio
import json
import threading
import time

import pytest
from asgiref.sync import sync_to_async

from chat.domain import selectors, services
from chat.infra import worker
from chat.models import Membership, ModerationAction

pytestmark = pytest.mark.django_db(transaction=True)


async def refused_after(socket, event: str, data: dict, tries: int) -> int | None:
    """How many of `tries` requests passed before the first rate_limited."""
    for n in range(tries):
        reply = await socket.request(event, data)
        if reply.get("code") == "rate_limited":
            assert reply["retryAfter"] > 0
            return n
    return None


@pytest.mark.parametrize(
    ("event", "data"),
    [
        ("get_history", {"room": "general", "limit": 100}),
        ("list_rooms", {}),
        ("list_members", {"room": "general"}),
        ("mark_read", {"room": "general", "messageId": 1}),
        ("ping", {}),
    ],
)
async def test_reads_are_paid_for_and_costlier_ones_sooner_refused(
    amake_user, sockets, settings, event, data
):
    settings.CHAT_RATE_LIMITS = {**settings.CHAT_RATE_LIMITS, "request": (0.01, 60)}
    ana = await amake_user("ana")
    a = await sockets(ana)
    await a.join("general")  # the socket took 10 of the 60, the join 6, the message 1
    await a.say("general", "hello")
    passed = await refused_after(a, event, data, tries=60)
    # ping and mark_read cost 1, list_rooms, list_members and a page of 100 rows 11.
    expected = {
        "get_history": 3,
        "list_rooms": 3,
        "list_members": 3,
        "mark_read": 43,
        "ping": 43,
    }
    assert passed == expected[event]


async def test_a_users_sockets_share_one_budget(amake_user, sockets, settings):
    settings.CHAT_RATE_LIMITS = {**settings.CHAT_RATE_LIMITS, "request": (0.01, 32)}
    ana, ben = await amake_user("ana"), await amake_user("ben")
    first, second = await sockets(ana), await sockets(ana)  # 10 each
    assert await refused_after(first, "ping", {}, tries=20) == 12
    assert (await second.request("ping"))["code"] == "rate_limited"
    # Another member is not touched.
    assert (await (await sockets(ben)).request("ping"))["status"] == "ok"


async def test_kicks_and_mutes_have_a_pace_of_their_own(amake_user, sockets):
    owner = await amake_user("owner")
    members = [await amake_user(f"member{n}") for n in range(12)]

    @sync_to_async
    def setup() -> None:
        room = services.room_create(user=owner, name="den")
        for member in members:
            services.membership_add(room=room, user=member)

    await setup()
    o = await sockets(owner)
    answers = []
    for member in members:
        data = {"room": "den", "username": member.username, "minutes": 5}
        event = "mute_user" if len(answers) % 2 else "kick_user"
        answers.append((await o.request(event, data)).get("code", "ok"))
    assert answers[:10] == ["ok"] * 10
    assert set(answers[10:]) == {"rate_limited"}
    assert await sync_to_async(ModerationAction.objects.count)() == 10
    left = await sync_to_async(Membership.objects.filter(room__name="den").count)()
    assert left == 1 + 12 - 5  # the owner, and all but the five kicked


async def test_one_users_database_work_holds_at_most_its_share_of_threads(
    amake_user, sockets, settings, monkeypatch
):
    settings.CHAT_DB_THREADS_PER_USER = 2
    monkeypatch.setattr(worker, "_db_threads", None)  # made again with 6 threads
    settings.CHAT_DB_THREADS = 6
    running: dict[str, int] = {"ana": 0, "ben": 0}
    most = {"ana": 0, "ben": 0}
    lock = threading.Lock()
    real_history_page = selectors.history_page

    def slow_history_page(**kwargs):
        name = kwargs["user"].username
        with lock:
            running[name] += 1
            most[name] = max(most[name], running[name])
        time.sleep(0.2)
        with lock:
            running[name] -= 1
        return real_history_page(**kwargs)

    monkeypatch.setattr(selectors, "history_page", slow_history_page)
    ana, ben = await amake_user("ana"), await amake_user("ben")
    hog = [await sockets(ana) for _ in range(5)]
    await hog[0].join("general")
    b = await sockets(ben)
    asks = [s.request("get_history", {"room": "general"}) for s in hog for _ in "xy"]
    flood = asyncio.ensure_future(asyncio.gather(*asks))
    await asyncio.sleep(0.05)
    reply = await b.request("get_history", {"room": "general"})
    # ben's read went past ana's ten, which wait for her two places in turn.
    assert reply["status"] == "ok"
    assert not flood.done()
    assert all(r["status"] == "ok" for r in await flood)
    assert most == {"ana": 2, "ben": 1}
    worker._db_threads.shutdown(wait=False)


async def test_opening_a_socket_is_paid_for_too(amake_user, sockets, settings):
    settings.CHAT_RATE_LIMITS = {**settings.CHAT_RATE_LIMITS, "request": (0.01, 25)}
    ana = await amake_user("ana")
    await sockets(ana)
    await sockets(ana)  # 20 of the 25 tokens
    refused = await sockets(ana, expect_presence=False)
    assert (await until_closed(refused))[1] == 4429


async def until_closed(socket) -> tuple[list[dict], int]:
    """The frames the server sends until it closes the socket, and the code."""
    frames = []
    async with asyncio.timeout(5):
        while True:
            message = await socket.communicator.output_queue.get()
            if message["type"] == "websocket.close":
                socket.closed = True
                return frames, message["code"]
            frames.append(json.loads(message["text"]))
