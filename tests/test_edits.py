"""Edit history over every transport: get_edits, the edit window, and that an
edit to the same text is no change."""

from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from chat.models import Membership, Message, Room

from .test_consumers import assert_error

pytestmark = pytest.mark.django_db(transaction=True)


async def test_every_earlier_text_is_kept_and_shown_to_members(amake_user, sockets):
    a = await sockets(await amake_user("ana"))
    b = await sockets(await amake_user("ben"))
    await a.join("general")
    await b.join("general")
    sent = await a.say("general", "lunch at 12")
    message_id = sent["messageId"]
    assert (await b.request("get_edits", {"id": message_id}))["edits"] == []

    for text in ("lunch at **1**", "lunch at 2"):
        reply = await a.request("edit_message", {"id": message_id, "message": text})
        assert reply["status"] == "ok", reply
    reply = await b.request("get_edits", {"id": message_id})
    assert reply["id"] == message_id
    first, second = reply["edits"]
    assert (first["message"], first["html"]) == ("lunch at 12", "<p>lunch at 12</p>")
    assert (second["message"], second["html"]) == (
        "lunch at **1**",
        "<p>lunch at <strong>1</strong></p>",
    )
    assert first["time"] == sent["time"]
    assert first["replacedAt"] == second["time"]
    assert first["replacedBy"] == second["replacedBy"] == "ana"
    history = await b.request("get_history", {"room": "general"})
    assert history["messages"][0]["message"] == "lunch at 2"


async def test_the_same_text_again_is_no_edit(amake_user, sockets):
    a = await sockets(await amake_user("ana"))
    b = await sockets(await amake_user("ben"))
    await a.join("general")
    await b.join("general")
    sent = await a.say("general", "hello")
    await b.drain()
    reply = await a.request(
        "edit_message", {"id": sent["messageId"], "message": "hello"}
    )
    assert (reply["status"], reply["seq"]) == ("ok", sent["seq"])
    assert await b.events("message_edited") == []
    assert (await b.request("get_edits", {"id": sent["messageId"]}))["edits"] == []
    history = await b.request("get_history", {"room": "general"})
    assert history["messages"][0]["editedAt"] is None


async def test_authors_edit_within_the_window_and_moderators_after_it(
    amake_user, sockets, settings
):
    settings.CHAT_EDIT_WINDOW = 120
    ana, mod = await amake_user("ana"), await amake_user("mod")
    a, m = await sockets(ana), await sockets(mod)
    await m.join("general")  # made the room: its owner
    await a.join("general")
    sent = await a.say("general", "typo")
    reply = await a.request("edit_message", {"id": sent["messageId"], "message": "ok"})
    assert reply["status"] == "ok"

    @sync_to_async
    def three_minutes_old() -> None:
        created = timezone.now() - timedelta(minutes=3)
        Message.objects.filter(pk=sent["messageId"]).update(created_at=created)

    await three_minutes_old()
    late = await a.request("edit_message", {"id": sent["messageId"], "message": "x"})
    assert_error(late, "forbidden")
    assert "2 minutes" in late["msg"]
    by_mod = await m.request("edit_message", {"id": sent["messageId"], "message": "y"})
    assert by_mod["status"] == "ok"
    edits = (await a.request("get_edits", {"id": sent["messageId"]}))["edits"]
    assert [(e["message"], e["replacedBy"]) for e in edits] == [
        ("typo", "ana"),
        ("ok", "mod"),
    ]


async def test_who_may_read_the_history_of_edits(amake_user, sockets):
    owner, eve, ana = (
        await amake_user("owner"),
        await amake_user("eve"),
        await amake_user("ana"),
    )
    o = await sockets(owner)
    await o.join("general")
    public = await o.say("general", "public")

    @sync_to_async
    def private_room() -> None:
        room = Room.objects.create(name="secret", kind=Room.Kind.PRIVATE)
        Membership.objects.create(room=room, user=owner, role=Membership.Role.OWNER)

    await private_room()
    private = await o.say("secret", "private")
    e = await sockets(eve)
    # A public room's non-member: join first. A private room: no such message.
    assert_error(await e.request("get_edits", {"id": public["messageId"]}), "forbidden")
    hidden = await e.request("get_edits", {"id": private["messageId"]})
    missing = await e.request("get_edits", {"id": private["messageId"] + 1000})
    assert hidden == missing
    assert_error(hidden, "not_found")
    # Staff read it without joining.
    await sync_to_async(type(ana).objects.filter(pk=ana.pk).update)(is_staff=True)
    s = await sockets(ana)
    assert (await s.request("get_edits", {"id": private["messageId"]}))[
        "status"
    ] == "ok"
    # A deleted message has no history to show.
    await o.request("delete_message", {"id": public["messageId"]})
    await o.join("general")
    assert_error(await o.request("get_edits", {"id": public["messageId"]}), "not_found")
