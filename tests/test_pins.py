"""Pins over every transport: who may pin, message_pinned, the join reply's pins,
get_pins, the limit, and a deletion unpinning."""

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from chat.domain.services import PINS_MAX
from chat.models import Message

from .test_consumers import assert_error

pytestmark = pytest.mark.django_db(transaction=True)


async def owner_and_member(amake_user, sockets):
    o = await sockets(await amake_user("olga"))
    m = await sockets(await amake_user("max"))
    await o.join("general")  # made it: its owner
    await m.join("general")
    return o, m


async def test_the_owner_pins_and_everyone_sees_it(amake_user, sockets):
    o, m = await owner_and_member(amake_user, sockets)
    sent = await m.say("general", "the agenda")
    message_id = sent["messageId"]

    refused = await m.request("pin_message", {"id": message_id, "pinned": True})
    assert_error(refused, "forbidden")
    reply = await o.request("pin_message", {"id": message_id, "pinned": True})
    assert reply == {
        "status": "ok",
        "id": message_id,
        "pinned": True,
        "seq": sent["seq"] + 1,
    }
    for socket in (o, m):
        assert await socket.event("message_pinned") == {
            "room": "general",
            "id": message_id,
            "pinned": True,
            "by": "olga",
            "seq": sent["seq"] + 1,
        }
    pins = await m.request("get_pins", {"room": "general"})
    assert [(p["id"], p["pinned"], p["message"]) for p in pins["messages"]] == [
        (message_id, True, "the agenda")
    ]
    # A client back from away: the join reply lists the pins, and the resync
    # carries the message as pinned.
    rejoin = await m.join("general", after=sent["seq"])
    assert rejoin["pins"] == [message_id]
    assert [(h["id"], h["pinned"]) for h in rejoin["history"]] == [(message_id, True)]

    again = await o.request("pin_message", {"id": message_id, "pinned": True})
    assert again["seq"] == reply["seq"]  # no change
    assert await m.events("message_pinned") == []
    off = await o.request("pin_message", {"id": message_id, "pinned": False})
    assert (off["pinned"], off["seq"]) == (False, reply["seq"] + 1)
    assert (await m.event("message_pinned"))["pinned"] is False
    assert (await m.join("general"))["pins"] == []


async def test_the_latest_pinned_comes_first_and_a_deletion_unpins(amake_user, sockets):
    o, m = await owner_and_member(amake_user, sockets)
    first = await m.say("general", "first")
    second = await m.say("general", "second")
    for sent in (second, first):
        reply = await o.request(
            "pin_message", {"id": sent["messageId"], "pinned": True}
        )
        assert reply["status"] == "ok"
    assert (await m.join("general"))["pins"] == [
        first["messageId"],
        second["messageId"],
    ]
    await m.request("delete_message", {"id": first["messageId"]})
    assert (await m.join("general"))["pins"] == [second["messageId"]]
    pins = await o.request("get_pins", {"room": "general"})
    assert [p["id"] for p in pins["messages"]] == [second["messageId"]]
    assert_error(
        await o.request("pin_message", {"id": first["messageId"], "pinned": True}),
        "not_found",
    )


async def test_either_member_pins_in_a_direct_conversation(amake_user, sockets):
    ana, ben = await amake_user("ana"), await amake_user("ben")
    a, b = await sockets(ana), await sockets(ben)
    sent = await a.request("private_message", {"toUsername": "ben", "message": "hi"})
    reply = await b.request("pin_message", {"id": sent["messageId"], "pinned": True})
    assert reply["status"] == "ok", reply
    for socket in (a, b):
        assert (await socket.event("message_pinned"))["by"] == "ben"


async def test_a_room_holds_a_bounded_number_of_pins(amake_user, sockets):
    o, _ = await owner_and_member(amake_user, sockets)
    sent = await o.say("general", "one more")
    olga = await sync_to_async(
        lambda: Message.objects.get(pk=sent["messageId"]).author
    )()

    @sync_to_async
    def fill() -> None:
        room = Message.objects.get(pk=sent["messageId"]).room
        Message.objects.bulk_create(
            Message(
                room=room,
                author=olga,
                body=f"pin {i}",
                seq=0,
                changed_seq=0,
                pinned_at=timezone.now(),
            )
            for i in range(PINS_MAX)
        )

    await fill()
    over = await o.request("pin_message", {"id": sent["messageId"], "pinned": True})
    assert_error(over, "invalid")
