"""History over the socket: get_history paging, clientId retries, join_room resync
with `after`, the join race, and read markers."""

import asyncio
import json

import pytest
from channels.db import database_sync_to_async

from chat.domain import services
from chat.models import Room

pytestmark = pytest.mark.django_db(transaction=True)


async def events_of(socket, name: str) -> list[dict]:
    return [f["data"] for f in await socket.drain() if f["event"] == name]


@database_sync_to_async
def post_many(user, room: str, count: int, prefix: str = "m") -> list[int]:
    """`count` messages by `user` in `room` through the domain (no rate limit)."""
    services.room_join(user=user, name=room)
    return [
        services.message_send(user=user, room_name=room, body=f"{prefix}{i}").message.pk
        for i in range(count)
    ]


@database_sync_to_async
def last_seq(room: str) -> int:
    return Room.objects.get(name=room).last_seq


@pytest.fixture
def no_rate_limit(settings):
    settings.CHAT_RATE_LIMITS = {
        **settings.CHAT_RATE_LIMITS,
        "message": (1000.0, 1000),
        "join": (1000.0, 1000),
    }


def ids(messages: list[dict]) -> list[int]:
    return [m["id"] for m in messages]


# --- get_history --------------------------------------------------------------------


async def test_history_pages_backwards_visit_every_message_once(amake_user, sockets):
    ana, ben = await amake_user("ana"), await amake_user("ben")
    posted = await post_many(ben, "general", 130)
    # Ana is not a member of the public room, and may still read it.
    a = await sockets(ana)

    newest = await a.request("get_history", {"room": "general"})
    assert newest["status"] == "ok"
    assert ids(newest["messages"]) == posted[-50:]  # default limit, oldest first
    assert newest["hasMore"] is True
    assert newest["messages"][-1]["message"] == "m129"
    assert newest["messages"][-1]["username"] == "ben"

    pages, before = [], None
    while True:
        data = {"room": "general", "limit": 50}
        if before is not None:
            data["before"] = before
        page = await a.request("get_history", data)
        pages.append(page)
        if not page["hasMore"]:
            break
        before = page["messages"][0]["id"]
        assert len(pages) < 10, "paging does not end"

    assert [len(p["messages"]) for p in pages] == [50, 50, 30]
    assert [p["hasMore"] for p in pages] == [True, True, False]
    seen = [m["id"] for p in reversed(pages) for m in p["messages"]]
    assert seen == posted
    # Nothing before the oldest.
    empty = await a.request("get_history", {"room": "general", "before": posted[0]})
    assert empty == {"status": "ok", "messages": [], "hasMore": False}


async def test_history_limit(amake_user, sockets):
    ana = await amake_user("ana")
    posted = await post_many(ana, "general", 101)
    a = await sockets(ana)

    one = await a.request("get_history", {"room": "general", "limit": 1})
    assert ids(one["messages"]) == posted[-1:] and one["hasMore"] is True
    most = await a.request("get_history", {"room": "general", "limit": 100})
    assert ids(most["messages"]) == posted[-100:] and most["hasMore"] is True
    rest = await a.request(
        "get_history", {"room": "general", "limit": 100, "before": posted[1]}
    )
    assert ids(rest["messages"]) == posted[:1] and rest["hasMore"] is False

    for bad in (
        {"room": "general", "limit": 0},
        {"room": "general", "limit": 101},
        {"room": "general", "limit": "10"},
        {"room": "general", "before": "x"},
        {"limit": 10},
    ):
        reply = await a.request("get_history", bad)
        assert (reply["status"], reply.get("code")) == ("error", "invalid"), bad


async def test_history_needs_a_readable_room(amake_user, sockets):
    ana, ben = await amake_user("ana"), await amake_user("ben")
    await database_sync_to_async(services.room_create)(
        user=ben, name="secret", kind="private"
    )
    await post_many(ben, "secret", 2)
    a = await sockets(ana)

    # A private room one is not in reads exactly like one that does not exist.
    secret = await a.request("get_history", {"room": "secret"})
    nowhere = await a.request("get_history", {"room": "nowhere"})
    assert (secret["status"], secret["code"]) == ("error", "not_found")
    assert secret == nowhere


async def test_history_of_a_direct_room_pages_too(amake_user, sockets):
    ana, ben = await amake_user("ana"), await amake_user("ben")

    @database_sync_to_async
    def converse() -> tuple[list[int], str]:
        sent = []
        for i in range(5):
            sender, to = (ana, "ben") if i % 2 == 0 else (ben, "ana")
            sent.append(
                services.direct_message_send(user=sender, to_username=to, body=f"d{i}")
            )
        return [s.message.pk for s in sent], sent[0].message.room.name

    posted, room = await converse()
    b = await sockets(ben)
    newest = await b.request("get_history", {"room": room, "limit": 3})
    assert ids(newest["messages"]) == posted[2:] and newest["hasMore"] is True
    assert [m["username"] for m in newest["messages"]] == ["ana", "ben", "ana"]
    older = await b.request(
        "get_history", {"room": room, "limit": 3, "before": posted[2]}
    )
    assert ids(older["messages"]) == posted[:2] and older["hasMore"] is False


# --- clientId retries -----------------------------------------------------------------


async def test_client_id_retry_is_stored_and_delivered_once(amake_user, sockets):
    ana, ben = await amake_user("ana"), await amake_user("ben")
    a1, a2, b = await sockets(ana), await sockets(ana), await sockets(ben)
    for socket in (a1, a2, b):
        await socket.join("general")

    first = await a1.say("general", "hello", clientId="c-1")
    assert first["duplicate"] is False
    retry = await a1.say("general", "hello", clientId="c-1")
    other_tab = await a2.say("general", "hello again", clientId="c-1")
    for again in (retry, other_tab):
        assert again["messageId"] == first["messageId"]
        assert again["duplicate"] is True

    got = await asyncio.gather(*(events_of(s, "receive_message") for s in (a1, a2, b)))
    for received in got:
        assert [(m["id"], m["message"]) for m in received] == [
            (first["messageId"], "hello")
        ]
    history = await b.request("get_history", {"room": "general"})
    assert ids(history["messages"]) == [first["messageId"]]


async def test_concurrent_retries_from_two_tabs_store_one_message(amake_user, sockets):
    ana, ben = await amake_user("ana"), await amake_user("ben")
    a1, a2, b = await sockets(ana), await sockets(ana), await sockets(ben)
    for socket in (a1, a2, b):
        await socket.join("general")

    one, two = await asyncio.gather(
        a1.say("general", "race", clientId="c-race"),
        a2.say("general", "race", clientId="c-race"),
    )
    assert one["messageId"] == two["messageId"]
    assert sorted([one["duplicate"], two["duplicate"]]) == [False, True]
    assert ids(await events_of(b, "receive_message")) == [one["messageId"]]
    history = await b.request("get_history", {"room": "general"})
    assert ids(history["messages"]) == [one["messageId"]]


async def test_the_same_client_id_from_another_user_is_another_message(
    amake_user, sockets
):
    ana, ben = await amake_user("ana"), await amake_user("ben")
    a, b = await sockets(ana), await sockets(ben)
    await a.join("general")
    await b.join("general")

    from_ana = await a.say("general", "mine", clientId="shared")
    from_ben = await b.say("general", "mine too", clientId="shared")
    assert from_ben["messageId"] != from_ana["messageId"]
    assert from_ben["duplicate"] is False
    got = await events_of(a, "receive_message")
    assert [(m["username"], m["message"]) for m in got] == [
        ("ana", "mine"),
        ("ben", "mine too"),
    ]


# --- join_room {after}: resync after being away ---------------------------------------


@pytest.mark.parametrize("away", ["leave_room", "disconnect"])
async def test_rejoin_after_returns_exactly_the_missed_changes(
    amake_user, sockets, away
):
    ana, ben = await amake_user("ana"), await amake_user("ben")
    a, b = await sockets(ana), await sockets(ben)
    await a.join("general")
    await b.join("general")
    old = [(await b.say("general", f"old{i}"))["messageId"] for i in range(3)]
    seen = await events_of(a, "receive_message")
    assert ids(seen) == old
    last_seen = max(m["seq"] for m in seen)

    if away == "leave_room":
        assert (await a.request("leave_room", {"room": "general"}))["status"] == "ok"
    else:
        await a.close()
        a = await sockets(ana)

    new1 = (await b.say("general", "new1"))["messageId"]
    edit = {"id": old[0], "message": "old0, corrected"}
    assert (await b.request("edit_message", edit))["status"] == "ok"
    assert (await b.request("delete_message", {"id": old[1]}))["status"] == "ok"
    new2 = (await b.say("general", "new2"))["messageId"]
    # A message sent and then edited while away comes once, as it is now.
    edit = {"id": new1, "message": "new1, corrected"}
    assert (await b.request("edit_message", edit))["status"] == "ok"

    # Nothing reached the socket while it was away.
    assert [f for f in await a.drain() if f["event"] != "presence_update"] == []

    back = await a.join("general", after=last_seen)
    history = back["history"]
    assert ids(history) == [old[0], old[1], new2, new1]
    seqs = [m["seq"] for m in history]
    assert seqs == sorted(set(seqs)) and seqs[0] > last_seen
    edited, deleted, fresh, edited_new = history
    assert edited["message"] == "old0, corrected" and edited["editedAt"]
    assert edited["deleted"] is False
    assert deleted["deleted"] is True
    assert fresh["message"] == "new2" and fresh["editedAt"] is None
    assert edited_new["message"] == "new1, corrected" and edited_new["editedAt"]
    assert back["hasMore"] is False
    assert back["seq"] == await last_seq("general") == seqs[-1]

    # Live events carry on from there.
    await b.say("general", "live")
    live = await a.event("receive_message")
    assert live["message"] == "live" and live["seq"] == back["seq"] + 1


async def test_rejoin_after_with_nothing_missed(amake_user, sockets):
    ana, ben = await amake_user("ana"), await amake_user("ben")
    a, b = await sockets(ana), await sockets(ben)
    await a.join("general")
    await b.join("general")
    await b.say("general", "hi")
    seen = await a.event("receive_message")

    again = await a.join("general", after=seen["seq"])
    assert again["history"] == [] and again["hasMore"] is False
    assert again["seq"] == seen["seq"]


async def test_rejoin_after_many_changes_pages(amake_user, sockets):
    ana, ben = await amake_user("ana"), await amake_user("ben")
    a = await sockets(ana)
    start = await a.join("general")
    assert start["seq"] == 0
    await a.close()

    posted = await post_many(ben, "general", 210)
    a = await sockets(ana)
    first = await a.join("general", after=start["seq"])
    assert len(first["history"]) == 200 and first["hasMore"] is True
    assert first["seq"] == first["history"][-1]["seq"]
    second = await a.join("general", after=first["seq"])
    assert second["hasMore"] is False
    assert second["seq"] == await last_seq("general")
    assert ids(first["history"]) + ids(second["history"]) == posted


async def test_join_without_after_has_the_newest_fifty(amake_user, sockets):
    ana, ben = await amake_user("ana"), await amake_user("ben")
    posted = await post_many(ben, "general", 60)
    a = await sockets(ana)
    joined = await a.join("general")
    assert ids(joined["history"]) == posted[-50:]
    assert joined["hasMore"] is True
    assert joined["seq"] == await last_seq("general")


# --- A message sent while a socket joins ----------------------------------------------


async def test_messages_sent_while_joining_are_neither_lost_nor_doubled(
    amake_user, sockets, no_rate_limit
):
    ana, ben = await amake_user("ana"), await amake_user("ben")
    senders = [await sockets(ben) for _ in range(3)]
    per_sender = 6
    overlapped = 0

    for round_ in range(4):
        room = f"race{round_}"
        for socket in senders:
            await socket.join(room)
        a = await sockets(ana)
        sent: list[int] = []
        started = asyncio.Event()

        async def burst(socket, n: int, room=room, sent=sent, started=started):
            for k in range(per_sender):
                sent.append((await socket.say(room, f"{n}-{k}"))["messageId"])
                if len(sent) >= 2:
                    started.set()

        async def join_midway(a=a, room=room, started=started):
            await started.wait()
            return await a.join(room)

        *_, joined = await asyncio.gather(
            *(burst(s, n) for n, s in enumerate(senders)), join_midway()
        )
        received = ids(await events_of(a, "receive_message"))
        got = ids(joined["history"]) + received
        assert len(got) == len(set(got)), f"doubled: {joined['seq']=} {got=}"
        assert sorted(got) == sorted(sent), "lost or extra"
        overlapped += bool(joined["history"]) and bool(received)
        await a.close()
    # The join did land among the messages, not before or after them all.
    assert overlapped


# --- Read markers and unread counts --------------------------------------------------


async def test_unread_counts_exclude_own_and_deleted_messages(amake_user, sockets):
    ana, ben = await amake_user("ana"), await amake_user("ben")
    a, b = await sockets(ana), await sockets(ben)
    await a.join("general")
    await b.join("general")
    from_ben = [(await b.say("general", f"b{i}"))["messageId"] for i in range(3)]
    await a.say("general", "a0")
    await a.say("general", "a1")
    assert (await b.request("delete_message", {"id": from_ben[1]}))["status"] == "ok"

    (listed,) = (await a.request("list_rooms"))["rooms"]
    assert listed["room"] == "general" and listed["unread"] == 2
    (listed,) = (await b.request("list_rooms"))["rooms"]
    assert listed["unread"] == 2  # Ana's two

    read = await a.request("mark_read", {"room": "general", "messageId": from_ben[0]})
    assert read == {"status": "ok", "unread": 1}
    (listed,) = (await a.request("list_rooms"))["rooms"]
    assert listed["unread"] == 1 and listed["lastReadId"] == from_ben[0]


async def test_mark_read_with_a_message_of_another_room(amake_user, sockets):
    ana = await amake_user("ana")
    a = await sockets(ana)
    await a.join("general")
    await a.join("random")
    elsewhere = await a.say("random", "over here")

    reply = await a.request(
        "mark_read", {"room": "general", "messageId": elsewhere["messageId"]}
    )
    assert (reply["status"], reply["code"]) == ("error", "not_found")
    reply = await a.request("mark_read", {"room": "general", "messageId": 10**9})
    assert (reply["status"], reply["code"]) == ("error", "not_found")
    assert await events_of(a, "room_read") == []


async def test_a_resync_of_long_messages_comes_in_pages_under_half_a_mebibyte(
    amake_user, sockets
):
    """200 messages of 8 kB would make a 1.6 MB reply, past what WebSocket
    libraries take by default: the resync pages by size too, and loses nothing."""
    ana = await amake_user("ana")
    a = await sockets(ana)
    joined = await a.join("long")
    # Away while they are sent (live, 1.2 MB would wait for a client that does
    # not read: closed with 1013, as it should be).
    await a.request("leave_room", {"room": "long"})
    body = "é" * 4000  # 8,000 bytes of UTF-8, the longest message there is

    @database_sync_to_async
    def fill() -> list[int]:
        return [
            services.message_send(user=ana, room_name="long", body=body).message.pk
            for _ in range(150)
        ]

    sent = await fill()
    got: list[int] = []
    after = joined["seq"]
    while True:
        reply = await a.join("long", after=after)
        assert len(json.dumps(reply, ensure_ascii=False).encode()) < 600_000
        got += [m["id"] for m in reply["history"]]
        after = reply["seq"]
        if not reply["hasMore"]:
            break
    assert got == sent
