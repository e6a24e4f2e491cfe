"""Read receipts over every transport: read_receipt in direct and group
conversations, join_room's receipts, get_read_receipts in any room, and the
setting that turns a user's receipts off."""

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model

from chat.domain import services
from chat.domain.selectors import receipts as receipts_selectors
from chat.domain.services import threads
from chat.models import RoomBan, UserSettings

from .test_consumers import assert_error
from .test_direct_messages import chatter_each, dm, nothing
from .test_group_messages import group

pytestmark = pytest.mark.django_db(transaction=True)


@sync_to_async
def receipts_off(username: str) -> None:
    user = get_user_model().objects.get(username=username)
    UserSettings.objects.update_or_create(
        user=user, defaults={"send_read_receipts": False}
    )


@sync_to_async
def user_named(username: str):
    return get_user_model().objects.get(username=username)


async def read(socket, room: str, message_id: int) -> None:
    reply = await socket.request("mark_read", {"room": room, "messageId": message_id})
    assert reply["status"] == "ok", reply


# --- Direct and group conversations ---------------------------------------------------


async def test_the_sender_sees_that_the_other_read_their_message(amake_user, sockets):
    ana, ben, cara = [await amake_user(n) for n in ("ana", "ben", "cara")]
    a, b, c = await sockets(ana), await sockets(ben), await sockets(cara)
    first = await dm(a, "ben", "are you there?")
    second = await dm(a, "ben", "lunch?")
    room = second["room"]
    await chatter_each(a, b, c)

    await read(b, room, second["messageId"])
    seen = {"room": room, "username": "ben", "messageId": second["messageId"]}
    assert await a.event("read_receipt") == seen
    # Ben's own sockets hear it too (their clients ignore their own).
    assert await b.event("read_receipt") == seen
    assert await chatter_each(c) == nothing(c)

    # Reading no further tells nobody anything.
    await read(b, room, first["messageId"])
    await read(b, room, second["messageId"])
    frames = await chatter_each(a, b)
    assert [f["event"] for f in frames["ana#0"]] == []
    assert {f["event"] for f in frames["ben#1"]} == {"room_read"}

    # Ana, coming back, learns how far Ben has read; Ben, that Ana never marked.
    assert (await a.join(room))["receipts"] == {"ben": second["messageId"]}
    assert (await b.join(room))["receipts"] == {}


async def test_every_member_of_a_group_sees_who_read(amake_user, sockets):
    ana, ben, cara, dan = [await amake_user(n) for n in ("ana", "ben", "cara", "dan")]
    a, b, c, d = [await sockets(u) for u in (ana, ben, cara, dan)]
    sent = await group(a, ["ben", "cara"], "standup at ten")
    room = sent["room"]
    await chatter_each(a, b, c, d)

    await read(c, room, sent["messageId"])
    seen = {"room": room, "username": "cara", "messageId": sent["messageId"]}
    for socket in (a, b, c):
        assert await socket.event("read_receipt") == seen
    assert await chatter_each(d) == nothing(d)

    await read(b, room, sent["messageId"])
    joined = await a.join(room)
    assert joined["receipts"] == {
        "ben": sent["messageId"],
        "cara": sent["messageId"],
    }
    # The same, asked for one message (any room's members may).
    readers = await a.request(
        "get_read_receipts", {"room": room, "messageId": sent["messageId"]}
    )
    assert readers == {
        "status": "ok",
        "room": room,
        "messageId": sent["messageId"],
        "readBy": ["ben", "cara"],
        "total": 2,
    }


async def test_a_reader_who_turned_receipts_off_is_not_seen(amake_user, sockets):
    ana, ben, cara = [await amake_user(n) for n in ("ana", "ben", "cara")]
    a, b = await sockets(ana), await sockets(ben)
    sent = await group(a, ["ben", "cara"], "who is coming?")
    room = sent["room"]
    await receipts_off("ben")
    await chatter_each(a, b)

    await read(b, room, sent["messageId"])
    # Ben's own devices still clear their badge; nobody hears of his reading.
    frames = await chatter_each(a, b)
    assert frames["ana#0"] == []
    assert [f["event"] for f in frames["ben#1"]] == ["room_read"]
    assert (await a.join(room))["receipts"] == {}
    readers = await a.request(
        "get_read_receipts", {"room": room, "messageId": sent["messageId"]}
    )
    assert (readers["readBy"], readers["total"]) == ([], 0)
    # Those who send receipts still see others' (the setting is about oneself).
    c = await sockets(cara)
    await read(c, room, sent["messageId"])
    assert (await b.event("read_receipt"))["username"] == "cara"


# --- Rooms: on demand ---------------------------------------------------------------


@sync_to_async
def busy_room(make_user) -> tuple[str, int]:
    """#general: owner's message, read by ana, ben, dan (banned since), eve
    (deactivated since) and fay (receipts off); cara has not read it, and gus
    read only up to an older one."""
    names = ("owner", "ana", "ben", "cara", "dan", "eve", "fay", "gus")
    users = {name: make_user(name) for name in names}
    room = services.room_create(user=users["owner"], name="general")
    for name in names[1:]:
        services.membership_add(room=room, user=users[name])
    older = services.message_send(user=users["owner"], room_name="general", body="a")
    sent = services.message_send(user=users["owner"], room_name="general", body="b")
    message_id = sent.message.pk
    for name in ("owner", "ana", "ben", "dan", "eve", "fay"):
        services.room_mark_read(
            user=users[name], room_name="general", message_id=message_id
        )
    services.room_mark_read(
        user=users["gus"], room_name="general", message_id=older.message.pk
    )
    RoomBan.objects.create(room=room, user=users["dan"], created_by=users["owner"])
    type(users["eve"]).objects.filter(username="eve").update(is_active=False)
    UserSettings.objects.create(user=users["fay"], send_read_receipts=False)
    return room.name, message_id


async def test_a_member_asks_who_read_a_message_in_a_room(make_user, sockets):
    room, message_id = await busy_room(make_user)
    ask = {"room": room, "messageId": message_id}
    expected = {
        "status": "ok",
        "room": "general",
        "messageId": message_id,
        # Not its author, nor banned, deactivated or quiet members.
        "readBy": ["ana", "ben"],
        "total": 2,
    }
    owner = await sockets(await user_named("owner"))
    cara = await sockets(await user_named("cara"))
    assert await owner.request("get_read_receipts", ask) == expected
    assert await cara.request("get_read_receipts", ask) == expected
    # A room's reads are asked for, never announced.
    await owner.join(room)
    ben = await sockets(await user_named("ben"))
    newer = await ben.say(room, "c")
    await read(cara, room, newer["messageId"])
    frames = await owner.drain()
    assert "read_receipt" not in [f["event"] for f in frames]


@sync_to_async
def thread_reply_read_by_the_room_only(make_user) -> tuple[str, int]:
    """In #general, ben's reply in the thread of owner's message, only in the
    thread; ana read the thread, cara only the room, past the reply."""
    users = {name: make_user(name) for name in ("owner", "ana", "ben", "cara")}
    room = services.room_create(user=users["owner"], name="general")
    for name in ("ana", "ben", "cara"):
        services.membership_add(room=room, user=users[name])
    root = services.message_send(user=users["owner"], room_name="general", body="q")
    reply = services.message_send(
        user=users["ben"], room_name="general", body="a", thread_id=root.message.pk
    )
    later = services.message_send(user=users["owner"], room_name="general", body="z")
    services.room_mark_read(
        user=users["cara"], room_name="general", message_id=later.message.pk
    )
    threads.thread_mark_read(
        user=users["ana"], root_id=root.message.pk, message_id=reply.message.pk
    )
    return room.name, reply.message.pk


async def test_a_thread_reply_was_read_by_those_who_read_the_thread(make_user, sockets):
    room, reply_id = await thread_reply_read_by_the_room_only(make_user)
    owner = await sockets(await user_named("owner"))
    readers = await owner.request(
        "get_read_receipts", {"room": room, "messageId": reply_id}
    )
    assert (readers["readBy"], readers["total"]) == (["ana"], 1)


async def test_a_long_list_of_readers_is_cut_and_counted(
    make_user, sockets, monkeypatch
):
    monkeypatch.setattr(receipts_selectors, "READERS_MAX", 2)
    room, message_id = await busy_room(make_user)
    await sync_to_async(services.room_mark_read)(
        user=await user_named("cara"), room_name=room, message_id=message_id
    )
    owner = await sockets(await user_named("owner"))
    readers = await owner.request(
        "get_read_receipts", {"room": room, "messageId": message_id}
    )
    assert (readers["readBy"], readers["total"]) == (["ana", "ben"], 3)


async def test_only_a_message_of_the_room_has_readers(make_user, sockets):
    room, _ = await busy_room(make_user)
    owner = await sockets(await user_named("owner"))
    await owner.join("elsewhere")
    elsewhere = await owner.say("elsewhere", "not general's")
    gone = await owner.say(room, "soon deleted")
    await owner.request("delete_message", {"id": gone["messageId"]})
    for wrong in (elsewhere["messageId"], gone["messageId"], 999_999):
        reply = await owner.request(
            "get_read_receipts", {"room": room, "messageId": wrong}
        )
        assert_error(reply, "not_found")
    for bad in ({"room": room}, {"room": room, "messageId": 0}, {"messageId": 1}):
        assert_error(await owner.request("get_read_receipts", bad), "invalid")
