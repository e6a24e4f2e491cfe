"""Direct messages over the socket: private_message, and the direct room it makes."""

import asyncio

import pytest
from channels.db import database_sync_to_async

from chat.models import Membership, Room

pytestmark = pytest.mark.django_db(transaction=True)


def dm_name(one, other) -> str:
    low, high = sorted((one.pk, other.pk))
    return f"dm:{low}:{high}"


@database_sync_to_async
def room_kind_and_members(name: str) -> tuple[str, list[str]]:
    room = Room.objects.get(name=name)
    members = Membership.objects.filter(room=room).values_list(
        "user__username", flat=True
    )
    return room.kind, sorted(members)


@database_sync_to_async
def direct_room_count() -> int:
    return Room.objects.filter(kind=Room.Kind.DIRECT).count()


async def chatter(socket) -> list[dict]:
    """What arrived apart from presence updates."""
    return [f for f in await socket.drain() if f["event"] != "presence_update"]


async def chatter_each(*sockets) -> dict[str, list[dict]]:
    """`chatter` of several sockets, drained at once; keyed "username#position"."""
    got = await asyncio.gather(*(chatter(s) for s in sockets))
    return {
        f"{s.username}#{i}": frames
        for i, (s, frames) in enumerate(zip(sockets, got, strict=True))
    }


def nothing(*sockets) -> dict[str, list]:
    return {f"{s.username}#{i}": [] for i, s in enumerate(sockets)}


async def dm(socket, to: str, message: str, **extra) -> dict:
    reply = await socket.request(
        "private_message", {"toUsername": to, "message": message, **extra}
    )
    assert reply["status"] == "delivered", reply
    return reply


async def test_private_message_reaches_every_tab_of_both_users(amake_user, sockets):
    ana, ben, carol = [await amake_user(n) for n in ("ana", "ben", "carol")]
    a1, a2 = await sockets(ana), await sockets(ana)
    b1, b2 = await sockets(ben), await sockets(ben)
    c = await sockets(carol)

    ack = await dm(a1, "ben", "hi ben", clientId="dm-1")
    room = dm_name(ana, ben)
    assert ack["room"] == room
    assert isinstance(ack["messageId"], int) and ack["time"]

    for socket, is_self in ((a1, True), (a2, True), (b1, False), (b2, False)):
        got = await socket.event("private_message")
        assert got["id"] == ack["messageId"]
        assert got["room"] == room
        assert got["from"] == "ana" and got["to"] == "ben"
        assert got["message"] == "hi ben"
        assert got["time"] == ack["time"]
        assert got["isSelf"] is is_self, socket.username
    # Exactly once per socket, and nothing for carol.
    assert await chatter_each(a1, a2, b1, b2, c) == nothing(a1, a2, b1, b2, c)

    assert await room_kind_and_members(room) == ("direct", ["ana", "ben"])
    # The reply goes the other way through the same room.
    back = await dm(b2, "ana", "hi ana")
    assert back["room"] == room
    assert (await a2.event("private_message"))["isSelf"] is False
    assert (await b1.event("private_message"))["isSelf"] is True
    assert await direct_room_count() == 1


async def test_private_message_errors(amake_user, sockets, settings):
    ana, ben = await amake_user("ana"), await amake_user("ben")
    a, b = await sockets(ana), await sockets(ben)
    limit = settings.CHAT_MAX_MESSAGE_LENGTH

    cases = [
        ({"toUsername": "nobody", "message": "hi"}, "not_found"),
        ({"toUsername": "ana", "message": "hi me"}, "invalid"),
        ({"toUsername": "ben", "message": ""}, "invalid"),
        ({"toUsername": "ben", "message": "   \n "}, "invalid"),
        ({"toUsername": "ben", "message": "x" * (limit + 1)}, "too_long"),
        ({"message": "hi"}, "invalid"),
        ({"toUsername": "ben"}, "invalid"),
        ({"toUsername": "ben", "message": 42}, "invalid"),
    ]
    for data, code in cases:
        reply = await a.request("private_message", data)
        assert reply["status"] == "error", data
        assert reply["code"] == code, (data, reply)
        assert reply["msg"]

    # Nothing was delivered, and no conversation appeared in anyone's list.
    assert await chatter_each(a, b) == nothing(a, b)
    assert (await b.request("list_rooms"))["rooms"] == []
    assert (await a.request("list_rooms"))["rooms"] == []
    assert await direct_room_count() == 0

    # The longest allowed message goes through.
    await dm(a, "ben", "x" * limit)
    assert (await b.event("private_message"))["message"] == "x" * limit


async def test_offline_recipient_catches_up(amake_user, sockets):
    ana, ben = await amake_user("ana"), await amake_user("ben")
    a = await sockets(ana)
    first = await dm(a, "ben", "are you there?")
    second = await dm(a, "ben", "call me back")
    room = first["room"]

    b1, b2 = await sockets(ben), await sockets(ben)
    rooms = (await b1.request("list_rooms"))["rooms"]
    assert len(rooms) == 1
    listed = rooms[0]
    assert listed["room"] == room and listed["kind"] == "direct"
    assert listed["with"] == "ana"
    assert listed["unread"] == 2
    assert listed["lastMessageId"] == second["messageId"]
    # The sender's own messages are not unread for her.
    (ana_view,) = (await a.request("list_rooms"))["rooms"]
    assert ana_view["with"] == "ben" and ana_view["unread"] == 0

    history = await b1.request("get_history", {"room": room})
    assert history["status"] == "ok" and history["hasMore"] is False
    assert [(m["id"], m["username"], m["message"]) for m in history["messages"]] == [
        (first["messageId"], "ana", "are you there?"),
        (second["messageId"], "ana", "call me back"),
    ]

    read = await b1.request(
        "mark_read", {"room": room, "messageId": first["messageId"]}
    )
    assert read == {"status": "ok", "unread": 1}
    told = await b2.event("room_read")
    assert told == {
        "room": room,
        "lastReadId": first["messageId"],
        "unread": 1,
        "mentions": 0,
    }

    # Badges survive a reload: a new socket sees the same counts.
    await b1.close()
    await b2.close()
    b3 = await sockets(ben)
    (listed,) = (await b3.request("list_rooms"))["rooms"]
    assert listed["unread"] == 1 and listed["lastReadId"] == first["messageId"]

    read = await b3.request(
        "mark_read", {"room": room, "messageId": second["messageId"]}
    )
    assert read["unread"] == 0
    (listed,) = (await b3.request("list_rooms"))["rooms"]
    assert listed["unread"] == 0


async def test_a_third_user_cannot_touch_a_direct_room(amake_user, sockets):
    ana, ben, carol = [await amake_user(n) for n in ("ana", "ben", "carol")]
    a, b, c = await sockets(ana), await sockets(ben), await sockets(carol)
    sent = await dm(a, "ben", "just between us")
    room = sent["room"]
    await a.event("private_message")
    await b.event("private_message")

    # To an outsider the conversation does not exist.
    refused = [
        ("get_history", {"room": room}),
        ("join_room", {"room": room}),
        ("send_message", {"room": room, "message": "let me in"}),
        ("mark_read", {"room": room, "messageId": sent["messageId"]}),
    ]
    for event, data in refused:
        reply = await c.request(event, data)
        assert (reply["status"], reply.get("code")) == ("error", "not_found"), event
    # Changing a message one cannot read looks like it does not exist.
    for event, data in [
        ("edit_message", {"id": sent["messageId"], "message": "hacked"}),
        ("delete_message", {"id": sent["messageId"]}),
    ]:
        reply = await c.request(event, data)
        assert (reply["status"], reply.get("code")) == ("error", "not_found"), event

    # A direct room that does not exist is not found, not created.
    reply = await c.request("join_room", {"room": "dm:999998:999999"})
    assert reply["code"] == "not_found"

    assert await chatter_each(a, b) == nothing(a, b)
    assert await room_kind_and_members(room) == ("direct", ["ana", "ben"])
    history = await b.request("get_history", {"room": room})
    assert [(m["message"], m["deleted"]) for m in history["messages"]] == [
        ("just between us", False)
    ]


async def test_edits_and_deletes_in_a_direct_room_reach_both_users(amake_user, sockets):
    ana, ben, carol = [await amake_user(n) for n in ("ana", "ben", "carol")]
    a1, a2 = await sockets(ana), await sockets(ana)
    b1, b2 = await sockets(ben), await sockets(ben)
    c = await sockets(carol)
    sent = await dm(a1, "ben", "see you at 5")
    room = sent["room"]
    everyone = (a1, a2, b1, b2)
    for socket in everyone:
        await socket.event("private_message")

    # The recipient is not the author.
    reply = await b1.request("edit_message", {"id": sent["messageId"], "message": "x"})
    assert reply["code"] == "forbidden"

    edit = await a2.request(
        "edit_message", {"id": sent["messageId"], "message": "see you at 6"}
    )
    assert edit["status"] == "ok"
    seqs = []
    for socket in everyone:
        got = await socket.event("message_edited")
        assert got["room"] == room and got["id"] == sent["messageId"]
        assert got["message"] == "see you at 6" and got["editedAt"]
        seqs.append(got["seq"])
    assert len(set(seqs)) == 1

    delete = await b1.request("delete_message", {"id": sent["messageId"]})
    assert delete["code"] == "forbidden"
    delete = await a1.request("delete_message", {"id": sent["messageId"]})
    assert delete["status"] == "ok"
    for socket in everyone:
        got = await socket.event("message_deleted")
        assert got["room"] == room and got["id"] == sent["messageId"]
        assert got["seq"] > seqs[0]
    assert await chatter_each(*everyone, c) == nothing(*everyone, c)

    history = await b2.request("get_history", {"room": room})
    (message,) = history["messages"]
    assert message["deleted"] is True and message["message"] == ""


async def test_typing_in_a_direct_room_reaches_only_the_other_user(amake_user, sockets):
    ana, ben, carol = [await amake_user(n) for n in ("ana", "ben", "carol")]
    a1, a2 = await sockets(ana), await sockets(ana)
    b1, b2 = await sockets(ben), await sockets(ben)
    c = await sockets(carol)
    room = (await dm(a1, "ben", "hey"))["room"]
    for socket in (a1, a2, b1, b2):
        await socket.event("private_message")

    joined = await a1.join(room)
    assert joined["room"] == room and joined["kind"] == "direct"
    assert [m["message"] for m in joined["history"]] == ["hey"]
    assert joined["users"] == ["ana", "ben"]  # both online

    reply = await a1.request("typing", {"room": room, "isTyping": True})
    assert reply["status"] == "ok"
    for socket in (b1, b2):
        got = await socket.event("user_typing")
        assert got == {"room": room, "username": "ana", "isTyping": True}
    # Not to her own tabs, and not to anyone else.
    assert await chatter_each(a1, a2, b1, b2, c) == nothing(a1, a2, b1, b2, c)


async def test_direct_message_retry_with_the_same_client_id(amake_user, sockets):
    ana, ben = await amake_user("ana"), await amake_user("ben")
    a1, a2 = await sockets(ana), await sockets(ana)
    b = await sockets(ben)

    first = await dm(a1, "ben", "once only", clientId="retry-1")
    assert first["duplicate"] is False
    again = await dm(a1, "ben", "once only", clientId="retry-1")
    other_tab = await dm(a2, "ben", "once only (tab 2)", clientId="retry-1")
    for retry in (again, other_tab):
        assert retry["messageId"] == first["messageId"]
        assert retry["room"] == first["room"]
        assert retry["duplicate"] is True

    for socket in (a1, a2, b):
        got = await socket.event("private_message")
        assert (got["id"], got["message"]) == (first["messageId"], "once only")
    assert await chatter_each(a1, a2, b) == nothing(a1, a2, b)
    history = await b.request("get_history", {"room": first["room"]})
    assert [m["id"] for m in history["messages"]] == [first["messageId"]]
    (listed,) = (await b.request("list_rooms"))["rooms"]
    assert listed["unread"] == 1
