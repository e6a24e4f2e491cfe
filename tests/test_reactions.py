"""Reactions over every transport: react, the live reaction_updated, the summary
in history and resync, idempotence, limits, and who may react."""

import pytest
from asgiref.sync import sync_to_async

from chat.domain import services
from chat.domain.services.reactions import DISTINCT_MAX
from chat.models import Membership, Room

from .test_consumers import assert_error

pytestmark = pytest.mark.django_db(transaction=True)

THUMBS = "\U0001f44d"
HEART = "\u2764\ufe0f"


async def two_members(amake_user, sockets):
    ana, ben = await amake_user("ana"), await amake_user("ben")
    a, b = await sockets(ana), await sockets(ben)
    await a.join("general")
    await b.join("general")
    sent = await b.say("general", "lunch?")
    await a.drain()
    await b.drain()
    return a, b, sent


async def test_a_reaction_reaches_every_member_and_says_who(amake_user, sockets):
    a, b, sent = await two_members(amake_user, sockets)
    message_id = sent["messageId"]

    reply = await a.request("react", {"id": message_id, "emoji": THUMBS, "on": True})
    assert reply == {
        "status": "ok",
        "room": "general",
        "id": message_id,
        "emoji": THUMBS,
        "count": 1,
        "users": ["ana"],
        "seq": sent["seq"] + 1,
    }
    expected = {k: v for k, v in reply.items() if k != "status"}
    for socket in (a, b):
        assert await socket.event("reaction_updated") == {
            **expected,
            "by": "ana",
            "on": True,
        }

    # A shortcode is the same emoji as its character.
    reply = await b.request(
        "react", {"id": message_id, "emoji": ":thumbsup:", "on": True}
    )
    assert (reply["emoji"], reply["count"], reply["users"]) == (
        THUMBS,
        2,
        ["ana", "ben"],
    )
    assert (await a.event("reaction_updated"))["by"] == "ben"


async def test_history_and_resync_carry_the_summary_as_each_user_sees_it(
    amake_user, sockets
):
    a, b, sent = await two_members(amake_user, sockets)
    message_id = sent["messageId"]
    for socket, emoji in ((a, THUMBS), (b, THUMBS), (b, HEART)):
        reply = await socket.request(
            "react", {"id": message_id, "emoji": emoji, "on": True}
        )
        assert reply["status"] == "ok", reply

    history = await a.request("get_history", {"room": "general"})
    (message,) = [m for m in history["messages"] if m["id"] == message_id]
    assert message["reactions"] == [
        {"emoji": THUMBS, "count": 2, "users": ["ana", "ben"], "me": True},
        {"emoji": HEART, "count": 1, "users": ["ben"], "me": False},
    ]

    # A client away since the message was sent gets it again, with the reactions.
    cara = await amake_user("cara")
    c = await sockets(cara)
    rejoin = await c.join("general", after=sent["seq"])
    (resynced,) = [m for m in rejoin["history"] if m["id"] == message_id]
    assert [(r["emoji"], r["count"], r["me"]) for r in resynced["reactions"]] == [
        (THUMBS, 2, False),
        (HEART, 1, False),
    ]
    assert resynced["seq"] == sent["seq"] + 3
    assert rejoin["seq"] == sent["seq"] + 3


async def test_reacting_twice_changes_nothing_and_taking_it_off_does(
    amake_user, sockets
):
    a, b, sent = await two_members(amake_user, sockets)
    message_id = sent["messageId"]
    first = await a.request("react", {"id": message_id, "emoji": THUMBS, "on": True})
    await b.event("reaction_updated")
    again = await a.request("react", {"id": message_id, "emoji": THUMBS, "on": True})
    assert again == first
    assert await b.events("reaction_updated") == []

    off = await a.request("react", {"id": message_id, "emoji": THUMBS, "on": False})
    assert (off["count"], off["users"], off["seq"]) == (0, [], first["seq"] + 1)
    update = await b.event("reaction_updated")
    assert (update["count"], update["by"], update["on"]) == (0, "ana", False)
    # Taking off what one never put on is no change either.
    still = await a.request("react", {"id": message_id, "emoji": THUMBS, "on": False})
    assert still["seq"] == off["seq"]
    history = await b.request("get_history", {"room": "general"})
    assert [m["reactions"] for m in history["messages"]] == [[]]


@pytest.mark.parametrize(
    "emoji",
    ["", "thumbs", ":no_such_emoji_name:", THUMBS + THUMBS, THUMBS + " ok", 42, None],
)
async def test_what_is_not_one_emoji_is_refused(amake_user, sockets, emoji):
    a, b, sent = await two_members(amake_user, sockets)
    reply = await a.request(
        "react", {"id": sent["messageId"], "emoji": emoji, "on": True}
    )
    assert_error(reply, "invalid")
    assert await b.events("reaction_updated") == []


async def test_a_message_takes_a_bounded_number_of_distinct_emoji(
    amake_user, sockets, settings
):
    # 21 reactions at once: past the default message budget's burst.
    settings.CHAT_RATE_LIMITS = {**settings.CHAT_RATE_LIMITS, "message": (100, 100)}
    a, b, sent = await two_members(amake_user, sockets)
    message_id = sent["messageId"]
    emoji = [chr(0x1F600 + i) for i in range(DISTINCT_MAX + 1)]
    for one in emoji[:DISTINCT_MAX]:
        reply = await a.request("react", {"id": message_id, "emoji": one, "on": True})
        assert reply["status"] == "ok", reply
    over = await a.request("react", {"id": message_id, "emoji": emoji[-1], "on": True})
    assert_error(over, "invalid")
    # One already there can still be added to by someone else.
    more = await b.request("react", {"id": message_id, "emoji": emoji[0], "on": True})
    assert more["count"] == 2


async def test_a_deleted_message_takes_no_reaction_and_shows_none(amake_user, sockets):
    a, b, sent = await two_members(amake_user, sockets)
    message_id = sent["messageId"]
    await a.request("react", {"id": message_id, "emoji": THUMBS, "on": True})
    assert (await b.request("delete_message", {"id": message_id}))["status"] == "ok"
    reply = await a.request("react", {"id": message_id, "emoji": HEART, "on": True})
    assert_error(reply, "not_found")
    history = await a.request("get_history", {"room": "general"})
    assert [m["reactions"] for m in history["messages"]] == [[]]


async def test_reactions_in_a_direct_conversation_reach_both(amake_user, sockets):
    ana, ben = await amake_user("ana"), await amake_user("ben")
    a, b = await sockets(ana), await sockets(ben)
    sent = await a.request("private_message", {"toUsername": "ben", "message": "hi"})
    assert sent["status"] == "delivered", sent
    reply = await b.request(
        "react", {"id": sent["messageId"], "emoji": ":heart:", "on": True}
    )
    assert (reply["status"], reply["emoji"]) == ("ok", HEART)
    for socket in (a, b):
        update = await socket.event("reaction_updated")
        assert (update["room"], update["by"]) == (sent["room"], "ben")


async def test_an_outsider_hears_of_a_private_message_what_of_a_missing_one(
    amake_user, sockets
):
    owner, eve = await amake_user("owner"), await amake_user("eve")

    @sync_to_async
    def private_message() -> int:
        room = services.room_create(user=owner, name="secret", kind=Room.Kind.PRIVATE)
        assert Membership.objects.filter(room=room, user=owner).exists()
        sent = services.message_send(user=owner, room_name="secret", body="x")
        return sent.message.pk

    message_id = await private_message()
    e = await sockets(eve)
    existing = await e.request("react", {"id": message_id, "emoji": THUMBS, "on": True})
    missing = await e.request(
        "react", {"id": message_id + 1000, "emoji": THUMBS, "on": True}
    )
    assert existing == missing
    assert_error(existing, "not_found")
