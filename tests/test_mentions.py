"""Mentions over every transport: who a message names (@username, @room, @here),
who may use @room, the `mentioned` event, unread mention counts and how reading
clears them, edits, threads, and list_mentions."""

import pytest
from asgiref.sync import sync_to_async

from chat.domain import mentions
from chat.models import Membership, Mention, Room, RoomBan

from .test_consumers import assert_error

pytestmark = pytest.mark.django_db(transaction=True)


# --- What a text names (no database) ----------------------------------------------


@pytest.mark.parametrize(
    ("body", "names", "wildcard"),
    [
        ("hi @alice", {("alice", "alice")}, None),
        ("thanks @alice.", {("alice.", "alice")}, None),
        ("@ana.b, @cara-", {("ana.b", "ana.b"), ("cara-", "cara")}, None),
        ("mail bob@example.com", set(), None),
        ("`@alice` in code", set(), None),
        ("```\n@alice\n```\n@bob", {("bob", "bob")}, None),
        ("@here and @room", set(), "@room"),
        ("@Here now", set(), "@here"),
        ("no one", set(), None),
    ],
)
def test_names_in_a_text(body, names, wildcard) -> None:
    named = mentions.names_in(body)
    assert set(named.candidates) == names
    assert named.wildcard == wildcard


# --- Over the protocol --------------------------------------------------------------


async def trio(amake_user, sockets):
    """alice, bob and carol, each with a socket in #general (a default room)."""
    people = []
    for name in ("alice", "bob", "carol"):
        socket = await sockets(await amake_user(name))
        await socket.join("general")
        people.append(socket)
    return people


async def room_entry(socket, room="general"):
    rooms = (await socket.request("list_rooms"))["rooms"]
    return next(r for r in rooms if r["room"] == room)


async def test_a_mention_is_told_counted_and_read(amake_user, sockets):
    alice, bob, carol = await trio(amake_user, sockets)
    sent = await bob.say("general", "@alice can you look? cc @nobody")
    live = await carol.event("receive_message", id=sent["messageId"])
    assert live["mentions"] == ["alice"]

    told = await alice.event("mentioned", id=sent["messageId"])
    assert (told["room"], told["username"], told["kind"]) == ("general", "bob", "user")
    assert told["message"] == "@alice can you look? cc @nobody"
    assert (await room_entry(alice))["mentions"] == 1
    # Neither the author nor someone not named is mentioned.
    assert (await room_entry(bob))["mentions"] == 0
    assert (await room_entry(carol))["mentions"] == 0
    assert await carol.events("mentioned") == []

    await alice.request(
        "mark_read", {"room": "general", "messageId": sent["messageId"]}
    )
    read = await alice.event("room_read", room="general")
    assert read["mentions"] == 0
    assert (await room_entry(alice))["mentions"] == 0


async def test_a_mention_of_a_non_member_names_nobody(amake_user, sockets):
    alice, bob, _ = await trio(amake_user, sockets)
    dave = await sockets(await amake_user("dave"))
    await bob.request("join_room", {"room": "lobby"})  # created, bob alone there
    sent = await bob.say("lobby", "@dave @alice hello")
    assert await dave.events("mentioned") == []
    assert await alice.events("mentioned") == []
    message = await sync_to_async(Mention.objects.filter)(message_id=sent["messageId"])
    assert await sync_to_async(message.count)() == 0


async def test_a_name_matches_ignoring_case_and_trailing_punctuation(
    amake_user, sockets
):
    alice, bob, _ = await trio(amake_user, sockets)
    sent = await bob.say("general", "ask ALICE... no, @Alice.")
    told = await alice.event("mentioned", id=sent["messageId"])
    assert told["kind"] == "user"


async def test_room_mentions_everyone_and_here_only_those_online(amake_user, sockets):
    alice, bob, carol = await trio(amake_user, sockets)
    await amake_user("dave")  # a member of #general, offline
    await sync_to_async(_join_default_room)("dave")

    everyone = await bob.say("general", "@room standup in 5")
    for socket in (alice, carol):
        told = await socket.event("mentioned", id=everyone["messageId"])
        assert told["kind"] == "room"
    assert await _mentioned_users(everyone["messageId"]) == ["alice", "carol", "dave"]

    here = await bob.say("general", "@here who is around?")
    assert await _mentioned_users(here["messageId"]) == ["alice", "carol"]
    live = await alice.event("receive_message", id=here["messageId"])
    assert live["mentions"] == ["@here"]


async def test_in_a_big_room_only_moderators_may_mention_room(
    amake_user, sockets, settings
):
    settings.CHAT_ROOM_MENTION_MAX_MEMBERS = 2
    alice, bob, carol = await trio(amake_user, sockets)
    refused = await bob.request(
        "send_message", {"room": "general", "message": "@room hello"}
    )
    assert_error(refused, "forbidden")
    assert "moderators" in refused["msg"]
    # Nothing was stored: nobody hears of it.
    assert await alice.events("receive_message") == []

    await sync_to_async(_make_moderator)("bob", "general")
    sent = await bob.say("general", "@room hello")
    assert (await alice.event("mentioned", id=sent["messageId"]))["kind"] == "room"
    # @here is not restricted.
    assert (await carol.say("general", "@here hi"))["status"] == "delivered"


async def test_a_banned_member_is_not_mentioned(amake_user, sockets):
    _alice, bob, _carol = await trio(amake_user, sockets)
    await sync_to_async(_ban)("carol", "general")
    sent = await bob.say("general", "@carol @alice @room")
    assert await _mentioned_users(sent["messageId"]) == ["alice"]


async def test_an_edit_mentions_the_newly_named_and_unmentions_the_dropped(
    amake_user, sockets
):
    alice, bob, carol = await trio(amake_user, sockets)
    sent = await bob.say("general", "@alice see this")
    await alice.event("mentioned", id=sent["messageId"])
    edited = await bob.request(
        "edit_message", {"id": sent["messageId"], "message": "@carol see this"}
    )
    assert edited["status"] == "ok"
    change = await alice.event("message_edited", id=sent["messageId"])
    assert change["mentions"] == ["carol"]
    assert (await carol.event("mentioned", id=sent["messageId"]))["kind"] == "user"
    assert (await room_entry(alice))["mentions"] == 0
    assert (await room_entry(carol))["mentions"] == 1


async def test_a_mention_in_a_thread_follows_it_and_reading_the_thread_clears_it(
    amake_user, sockets
):
    _alice, bob, carol = await trio(amake_user, sockets)
    root = await bob.say("general", "release plan")
    sent = await bob.say("general", "@carol thoughts?", threadId=root["messageId"])
    told = await carol.event("mentioned", id=sent["messageId"])
    assert told["threadId"] == root["messageId"]
    followed = await carol.event("thread_followed", id=root["messageId"])
    assert followed["following"] is True
    assert (await room_entry(carol))["mentions"] == 1

    # Reading the room does not read a reply it does not show ...
    await carol.request(
        "mark_read", {"room": "general", "messageId": root["messageId"]}
    )
    assert (await room_entry(carol))["mentions"] == 1
    # ... reading the thread does, and the room's count follows.
    await carol.request(
        "mark_thread_read", {"id": root["messageId"], "messageId": sent["messageId"]}
    )
    read = await carol.event("room_read", room="general", mentions=0)
    assert read["unread"] == 0


async def test_a_direct_message_mentions_its_reader(amake_user, sockets):
    alice, bob, _ = await trio(amake_user, sockets)
    sent = await bob.request(
        "private_message", {"toUsername": "alice", "message": "@alice ping"}
    )
    told = await alice.event("mentioned", id=sent["messageId"])
    assert told["room"] == sent["room"]
    live = await alice.event("private_message", id=sent["messageId"])
    assert live["mentions"] == ["alice"]


async def test_list_mentions_pages_newest_first_with_read_state(amake_user, sockets):
    alice, bob, _ = await trio(amake_user, sockets)
    ids = [(await bob.say("general", f"@alice #{n}"))["messageId"] for n in range(3)]
    await bob.say("general", "not for alice")
    await alice.request("mark_read", {"room": "general", "messageId": ids[0]})

    page = await alice.request("list_mentions", {"limit": 2})
    assert [m["id"] for m in page["mentions"]] == [ids[2], ids[1]]
    assert page["hasMore"] is True
    assert {m["read"] for m in page["mentions"]} == {False}
    rest = await alice.request("list_mentions", {"before": ids[1]})
    assert [(m["id"], m["read"], m["kind"]) for m in rest["mentions"]] == [
        (ids[0], True, "user")
    ]
    assert rest["hasMore"] is False

    # A deleted message leaves the list; so do rooms the user was banned from.
    await bob.request("delete_message", {"id": ids[2]})
    await sync_to_async(_ban)("alice", "general")
    assert (await alice.request("list_mentions"))["mentions"] == []


async def test_list_mentions_refuses_a_bad_page(amake_user, sockets):
    alice = await sockets(await amake_user("alice"))
    assert_error(await alice.request("list_mentions", {"limit": 0}), "invalid")
    assert_error(await alice.request("list_mentions", {"before": "x"}), "invalid")


# --- Helpers --------------------------------------------------------------------------


async def _mentioned_users(message_id: int) -> list[str]:
    rows = Mention.objects.filter(message_id=message_id).values_list(
        "user__username", flat=True
    )
    return sorted(await sync_to_async(list)(rows))


def _join_default_room(username: str) -> None:
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(username=username)
    Membership.objects.get_or_create(room=Room.objects.get(name="general"), user=user)


def _make_moderator(username: str, room: str) -> None:
    Membership.objects.filter(user__username=username, room__name=room).update(
        role=Membership.Role.MODERATOR
    )


def _ban(username: str, room: str) -> None:
    from django.contrib.auth import get_user_model

    RoomBan.objects.create(
        room=Room.objects.get(name=room),
        user=get_user_model().objects.get(username=username),
    )
