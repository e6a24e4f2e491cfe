"""Saved messages over every transport: save_message, message_saved to the
user's other sockets, the `saved` flag, list_saved and what it leaves out."""

import pytest
from asgiref.sync import sync_to_async

from chat.domain import services
from chat.domain.selectors.messages import SAVED_PAGE
from chat.models import Membership, Room, RoomBan

from .test_consumers import assert_error

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_save_reaches_my_other_devices_and_no_one_else(amake_user, sockets):
    ana, ben = await amake_user("ana"), await amake_user("ben")
    phone, laptop, b = await sockets(ana), await sockets(ana), await sockets(ben)
    for socket in (phone, laptop, b):
        await socket.join("general")
    sent = await b.say("general", "read this later")
    message_id = sent["messageId"]
    await b.drain()

    reply = await phone.request("save_message", {"id": message_id, "saved": True})
    assert reply == {"status": "ok", "room": "general", "id": message_id, "saved": True}
    for socket in (phone, laptop):
        assert await socket.event("message_saved") == {
            "room": "general",
            "id": message_id,
            "saved": True,
        }
    assert await b.events("message_saved") == []
    # Saving is the user's own: no room seq moves, others see nothing saved.
    history = await b.request("get_history", {"room": "general"})
    assert [(m["saved"], m["seq"]) for m in history["messages"]] == [
        (False, sent["seq"])
    ]
    mine = await laptop.request("get_history", {"room": "general"})
    assert [m["saved"] for m in mine["messages"]] == [True]

    again = await laptop.request("save_message", {"id": message_id, "saved": True})
    assert again["saved"] is True
    assert await phone.events("message_saved") == []
    listed = await laptop.request("list_saved")
    assert [(m["id"], m["room"], m["saved"]) for m in listed["messages"]] == [
        (message_id, "general", True)
    ]
    assert listed["next"] is None

    await phone.request("save_message", {"id": message_id, "saved": False})
    assert (await laptop.event("message_saved"))["saved"] is False
    assert (await laptop.request("list_saved"))["messages"] == []


async def test_the_saved_list_pages_and_keeps_only_what_i_may_still_read(
    amake_user, sockets, settings
):
    settings.CHAT_RATE_LIMITS = {**settings.CHAT_RATE_LIMITS, "message": (500, 500)}
    ana, olga = await amake_user("ana"), await amake_user("olga")

    @sync_to_async
    def scene() -> tuple[list[int], int, int, int]:
        services.room_join(user=olga, name="general")
        services.room_join(user=ana, name="general")
        ids = [
            services.message_send(
                user=olga, room_name="general", body=f"m{i}"
            ).message.pk
            for i in range(SAVED_PAGE + 2)
        ]
        secret = services.room_create(user=olga, name="secret", kind=Room.Kind.PRIVATE)
        services.membership_add(room=secret, user=ana)
        hidden = services.message_send(user=olga, room_name="secret", body="s").message
        banned_room = services.room_join(user=olga, name="banned-here")
        services.room_join(user=ana, name="banned-here")
        banned = services.message_send(user=olga, room_name="banned-here", body="b")
        return ids, hidden.pk, banned.message.pk, banned_room.pk

    ids, hidden, banned, banned_room = await scene()
    a = await sockets(ana)
    for message_id in [*ids, hidden, banned]:
        reply = await a.request("save_message", {"id": message_id, "saved": True})
        assert reply["status"] == "ok", reply

    @sync_to_async
    def leave_ban_and_delete() -> None:
        Membership.objects.filter(user=ana, room__name="secret").delete()
        RoomBan.objects.create(room_id=banned_room, user=ana, created_by=olga)
        services.message_delete(user=olga, message_id=ids[0])

    await leave_ban_and_delete()
    first = await a.request("list_saved")
    assert [m["id"] for m in first["messages"]] == ids[::-1][:SAVED_PAGE]
    second = await a.request("list_saved", {"before": first["next"]})
    assert [m["id"] for m in second["messages"]] == [ids[1]]
    assert second["next"] is None


async def test_only_what_one_may_read_can_be_saved(amake_user, sockets):
    olga, eve = await amake_user("olga"), await amake_user("eve")

    @sync_to_async
    def private_message() -> int:
        services.room_create(user=olga, name="secret", kind=Room.Kind.PRIVATE)
        return services.message_send(user=olga, room_name="secret", body="x").message.pk

    message_id = await private_message()
    e = await sockets(eve)
    hidden = await e.request("save_message", {"id": message_id, "saved": True})
    missing = await e.request("save_message", {"id": message_id + 99, "saved": True})
    assert hidden == missing
    assert_error(hidden, "not_found")
