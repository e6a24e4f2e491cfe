"""Presence beyond online and offline, over every transport: active and idle
(set_presence), do-not-disturb, list_members' status and "last seen", and the
helper background jobs ask who is active."""

import asyncio
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from chat.domain import services
from chat.domain.services import activity
from chat.infra import presence
from chat.models import Room, UserSettings

from .test_consumers import assert_error

pytestmark = pytest.mark.django_db(transaction=True)


async def status(socket, value: str) -> None:
    reply = await socket.request("set_presence", {"status": value})
    assert reply == {"status": "ok"}, reply


def lists(online: list[str], idle: list[str] = (), dnd: list[str] = ()) -> dict:
    return {"online": online, "idle": list(idle), "dnd": list(dnd)}


async def presence_updates(socket) -> list[dict]:
    return [f["data"] for f in await socket.drain() if f["event"] == "presence_update"]


@sync_to_async
def settings_of(username: str, **fields) -> None:
    """Change a user's settings as the settings page would, telling their
    sessions that presence changed (chat.domain.services.activity)."""
    user = get_user_model().objects.get(username=username)
    with transaction.atomic():
        UserSettings.objects.update_or_create(user=user, defaults=fields)
        activity.presence_changed_on_commit(user_id=user.pk)


@sync_to_async
def last_seen(username: str):
    return (
        UserSettings.objects.filter(user__username=username)
        .values_list("last_seen_at", flat=True)
        .first()
    )


async def last_seen_once_gone(username: str):
    """last_seen, once the user's last session has finished ending (a
    long-polling session ends after its DELETE is answered)."""
    for _ in range(50):
        if (seen := await last_seen(username)) is not None:
            return seen
        await asyncio.sleep(0.1)
    raise AssertionError(f"{username} was never seen leaving")


async def test_a_user_is_idle_when_none_of_their_sessions_is_in_use(
    amake_user, sockets
):
    ana, ben = await amake_user("ana"), await amake_user("ben")
    a = await sockets(ana)
    b = await sockets(ben)
    await a.event("presence_update", online=["ana", "ben"])

    await status(a, "idle")
    idle = lists(["ana", "ben"], idle=["ana"])
    assert await presence_updates(b) == [idle]
    assert await presence_updates(a) == [idle]  # her own sockets hear it too

    # Saying it again changes nothing, and nobody is told.
    await status(a, "idle")
    assert await presence_updates(b) == []

    # A new tab is in use: she is active again; when it goes idle, idle again.
    a2 = await sockets(ana, expect_presence=False)
    assert await presence_updates(b) == [lists(["ana", "ben"])]
    await status(a2, "idle")
    assert await presence_updates(b) == [idle]
    # Her first tab comes back: active, though the second stays idle.
    await status(a, "active")
    assert await presence_updates(b) == [lists(["ana", "ben"])]

    # Closing the tab in use leaves her online and idle; closing the last one,
    # offline (and no longer idle).
    await a.close()
    assert await presence_updates(b) == [idle]
    await a2.close()
    assert await presence_updates(b) == [lists(["ben"])]


async def test_only_active_and_idle_are_statuses(amake_user, sockets):
    a = await sockets(await amake_user("ana"))
    for bad in ({"status": "away"}, {"status": 1}, {}):
        assert_error(await a.request("set_presence", bad), "invalid")


async def test_do_not_disturb_is_listed_while_it_lasts(
    amake_user, sockets, monkeypatch
):
    monkeypatch.setattr(settings, "CHAT_PRESENCE_HEARTBEAT", 0.2)
    ana, ben = await amake_user("ana"), await amake_user("ben")
    await settings_of("ben", dnd_until=timezone.now() + timedelta(hours=1))
    a = await sockets(ana)
    b = await sockets(ben, expect_presence=False)
    assert await b.event("presence_update") == lists(["ana", "ben"], dnd=["ben"])
    await a.event("presence_update", online=["ana", "ben"])

    # Ben turns it off: everyone is told at once, by his sessions.
    await settings_of("ben", dnd_until=None)
    assert await presence_updates(a) == [lists(["ana", "ben"])]
    assert await presence_updates(b) == [lists(["ana", "ben"])]

    # Ana's ends by itself: noticed within a heartbeat.
    await settings_of("ana", dnd_until=timezone.now() + timedelta(seconds=1.5))
    assert await a.event("presence_update") == lists(["ana", "ben"], dnd=["ana"])
    await b.event("presence_update", dnd=[])
    # An idle user in do-not-disturb is listed as both.
    await settings_of("ben", dnd_until=timezone.now() + timedelta(hours=1))
    await status(b, "idle")
    expected = lists(["ana", "ben"], idle=["ben"], dnd=["ben"])
    assert (await presence_updates(a))[-1] == expected


@sync_to_async
def member_of_general(username: str) -> None:
    user = get_user_model().objects.get(username=username)
    services.membership_add(room=Room.objects.get(name="general"), user=user)


async def test_members_carry_their_status_and_when_they_were_last_seen(
    amake_user, sockets
):
    users = {n: await amake_user(n) for n in ("ana", "ben", "cara", "dan", "eve")}
    await settings_of("cara", dnd_until=timezone.now() + timedelta(hours=1))
    a = await sockets(users["ana"])
    await a.join("general")
    for name in ("ben", "cara", "dan"):
        socket = await sockets(users[name])
        await socket.join("general")
        if name == "ben":
            await status(socket, "idle")
        if name == "dan":
            await socket.close()  # gone: last seen just now
    # Eve has never been online: nobody knows when she was last seen.
    await member_of_general("eve")
    dan_seen = await last_seen_once_gone("dan")

    reply = await a.request("list_members", {"room": "general"})
    rows = {m["username"]: (m["online"], m["status"]) for m in reply["members"]}
    assert rows == {
        "ana": (True, "active"),
        "ben": (True, "idle"),
        "cara": (True, "dnd"),
        "dan": (False, "offline"),
        "eve": (False, "offline"),
    }
    seen = {m["username"]: m["lastSeen"] for m in reply["members"]}
    assert seen == {
        "ana": None,
        "ben": None,
        "cara": None,
        "dan": dan_seen.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "eve": None,
    }


async def test_last_seen_is_when_the_last_session_ended(amake_user, sockets):
    ana = await amake_user("ana")
    a1 = await sockets(ana)
    a2 = await sockets(ana)
    await a1.close()
    assert await last_seen("ana") is None  # still online
    started = timezone.now()
    await a2.close()
    assert await last_seen_once_gone("ana") >= started


async def test_an_active_session_stays_active_past_the_expiry(
    amake_user, sockets, monkeypatch
):
    """The heartbeat refreshes an active session's place among the active, and
    only an active one's."""
    monkeypatch.setattr(settings, "CHAT_PRESENCE_TTL", 0.6)
    monkeypatch.setattr(settings, "CHAT_PRESENCE_HEARTBEAT", 0.1)
    a = await sockets(await amake_user("ana"))
    b = await sockets(await amake_user("ben"))
    await status(b, "idle")
    await asyncio.sleep(1.0)  # well past the expiry

    c = await sockets(await amake_user("cara"), expect_presence=False)
    assert await c.event("presence_update") == lists(
        ["ana", "ben", "cara"], idle=["ben"]
    )
    assert await asyncio.to_thread(
        presence.active_usernames, ["ana", "ben", "cara"]
    ) == {"ana", "cara"}
    await a.close()


async def test_a_dead_workers_user_goes_offline_and_is_last_seen(
    amake_user, sockets, monkeypatch
):
    """Sessions on a worker that died stop being refreshed: the sweep drops
    their user from the online and the active, tells everyone, and records when
    they were last seen."""
    monkeypatch.setattr(settings, "CHAT_PRESENCE_TTL", 0.4)
    monkeypatch.setattr(settings, "CHAT_PRESENCE_HEARTBEAT", 0.1)
    await amake_user("dan")
    a = await sockets(await amake_user("ana"))
    store = presence.store()
    for scope in (presence.SITE, presence.ACTIVE):  # dan's, on the dead worker
        await store.enter(scope, "dan", "dead-worker-channel")

    assert await a.event("presence_update", online=["ana"]) == lists(["ana"])
    assert await last_seen_once_gone("dan") is not None
    assert await asyncio.to_thread(presence.active_usernames, ["dan"]) == set()


async def test_jobs_ask_who_is_active_from_a_thread_of_their_own(amake_user, sockets):
    """presence.active_usernames: synchronous, for a job's thread (no event
    loop), answering what every worker's sessions say (Redis, when in use)."""
    a = await sockets(await amake_user("ana"))
    b = await sockets(await amake_user("ben"))
    await amake_user("cara")  # never online
    ask = ["ana", "ben", "cara", "nobody", "ana"]
    assert await asyncio.to_thread(presence.active_usernames, ask) == {"ana", "ben"}
    await status(b, "idle")
    assert await asyncio.to_thread(presence.active_usernames, ask) == {"ana"}
    await a.close()  # a long-polling session ends just after its DELETE
    for _ in range(50):
        if not await asyncio.to_thread(presence.active_usernames, ask):
            break
        await asyncio.sleep(0.1)
    assert await asyncio.to_thread(presence.active_usernames, ask) == set()
    assert await asyncio.to_thread(presence.active_usernames, []) == set()
