"""list_members over every transport: the whole membership, online first, for
members only; roles, the asking user's rights, mutes for moderators, the cap."""

from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from chat.domain import services
from chat.domain.selectors import rooms as room_selectors
from chat.models import Membership, Mute, Room, RoomBan
from chat.realtime import dispatch

from .test_consumers import assert_error

pytestmark = pytest.mark.django_db(transaction=True)


@sync_to_async
def team(make_user, *, kind: str = Room.Kind.PUBLIC) -> dict[str, object]:
    """Room "team": olga owns it, mia moderates it, and ben, cat and dan are
    members; eve is in none of it."""
    people = {n: make_user(n) for n in ("olga", "mia", "ben", "cat", "dan", "eve")}
    room = services.room_create(user=people["olga"], name="team", kind=kind)
    services.membership_add(
        room=room, user=people["mia"], role=Membership.Role.MODERATOR
    )
    for name in ("ben", "cat", "dan"):
        services.membership_add(room=room, user=people[name])
    return people


def names(reply: dict) -> list[tuple[str, str, bool]]:
    return [(m["username"], m["role"], m["online"]) for m in reply["members"]]


async def test_a_member_sees_everyone_online_first_then_by_name(make_user, sockets):
    people = await team(make_user)
    ben = await sockets(people["ben"])
    await sockets(people["mia"])
    await sockets(people["dan"])  # online on the site, not in the room

    reply = await ben.request("list_members", {"room": "team"})

    assert reply["status"] == "ok", reply
    assert (reply["room"], reply["role"], reply["canModerate"]) == (
        "team",
        "member",
        False,
    )
    assert reply["total"] == 5
    assert names(reply) == [
        ("ben", "member", True),
        ("dan", "member", True),
        ("mia", "moderator", True),
        ("cat", "member", False),
        ("olga", "owner", False),
    ]
    # Who is muted is for those who moderate.
    assert all("muted" not in m for m in reply["members"])


async def test_a_moderator_is_told_their_rights_and_who_is_muted(make_user, sockets):
    people = await team(make_user)
    await sync_to_async(Mute.objects.create)(
        room=await _room("team"),
        user=people["cat"],
        expires_at=timezone.now() + timedelta(hours=1),
        created_by=people["olga"],
    )
    mia = await sockets(people["mia"])

    reply = await mia.request("list_members", {"room": "team"})

    assert (reply["role"], reply["canModerate"]) == ("moderator", True)
    muted = {m["username"]: m["muted"] for m in reply["members"]}
    assert muted == {
        "ben": False,
        "cat": True,
        "dan": False,
        "mia": False,
        "olga": False,
    }


async def test_muting_from_the_chat_shows_in_the_list(make_user, sockets):
    people = await team(make_user)
    olga = await sockets(people["olga"])
    reply = await olga.request(
        "mute_user", {"room": "team", "username": "dan", "minutes": 5, "reason": "x"}
    )
    assert reply["status"] == "ok", reply
    listed = await olga.request("list_members", {"room": "team"})
    assert listed["canModerate"] is True and listed["role"] == "owner"
    assert [m["username"] for m in listed["members"] if m["muted"]] == ["dan"]

    kicked = await olga.request("kick_user", {"room": "team", "username": "ben"})
    assert kicked["status"] == "ok", kicked
    after = await olga.request("list_members", {"room": "team"})
    assert "ben" not in [m["username"] for m in after["members"]]
    assert after["total"] == 4


async def test_staff_may_moderate_where_they_are_members(make_user, sockets):
    people = await team(make_user)
    boss = await sync_to_async(make_user)("boss", is_staff=True)
    await sync_to_async(services.membership_add)(room=await _room("team"), user=boss)
    socket = await sockets(boss)
    reply = await socket.request("list_members", {"room": "team"})
    assert (reply["role"], reply["canModerate"]) == ("member", True)
    assert all("muted" in m for m in reply["members"])
    assert people  # the team is there


async def test_an_outsider_hears_of_a_private_room_what_of_no_room(make_user, sockets):
    people = await team(make_user, kind=Room.Kind.PRIVATE)
    eve = await sockets(people["eve"])

    existing = await eve.request("list_members", {"room": "team"})
    missing = await eve.request("list_members", {"room": "nowhere"})

    assert_error(existing, "not_found")
    assert (existing["code"], existing["msg"]) == (missing["code"], missing["msg"])
    # Its members see it as any room.
    ben = await sockets(people["ben"])
    assert (await ben.request("list_members", {"room": "team"}))["total"] == 5


async def test_a_public_rooms_outsider_is_told_to_join_first(make_user, sockets):
    people = await team(make_user)
    eve = await sockets(people["eve"])
    reply = await eve.request("list_members", {"room": "team"})
    assert_error(reply, "forbidden")
    await eve.join("team")
    assert (await eve.request("list_members", {"room": "team"}))["total"] == 6


async def test_a_banned_member_is_refused_and_listed_to_nobody(make_user, sockets):
    people = await team(make_user)
    await sync_to_async(RoomBan.objects.create)(
        room=await _room("team"), user=people["cat"], created_by=people["olga"]
    )
    cat = await sockets(people["cat"])
    assert_error(await cat.request("list_members", {"room": "team"}), "forbidden")

    ben = await sockets(people["ben"])
    reply = await ben.request("list_members", {"room": "team"})
    assert reply["total"] == 4
    assert "cat" not in [m["username"] for m in reply["members"]]


async def test_a_deactivated_member_is_not_listed(make_user, sockets):
    people = await team(make_user)
    dan = people["dan"]
    dan.is_active = False
    await sync_to_async(dan.save)()
    ben = await sockets(people["ben"])
    reply = await ben.request("list_members", {"room": "team"})
    assert [m["username"] for m in reply["members"]] == ["ben", "cat", "mia", "olga"]


async def test_a_group_lists_its_members_and_nobody_moderates_it(make_user, sockets):
    ana, _, boss = await sync_to_async(
        lambda: [make_user("ana"), make_user("ben"), make_user("boss", is_staff=True)]
    )()
    sent = await sync_to_async(services.conversation_message_send)(
        user=ana, to_usernames=["ben", "boss"], body="hi"
    )
    room = sent.message.room.name
    socket = await sockets(boss)
    reply = await socket.request("list_members", {"room": room})
    assert (reply["role"], reply["canModerate"], reply["total"]) == ("member", False, 3)
    assert names(reply) == [
        ("boss", "member", True),
        ("ana", "member", False),
        ("ben", "member", False),
    ]
    assert all("muted" not in m for m in reply["members"])


async def test_the_list_is_capped_and_says_how_many_in_all(
    make_user, sockets, monkeypatch
):
    people = await team(make_user)
    monkeypatch.setattr(room_selectors, "MEMBERS_MAX", 2)
    ben = await sockets(people["ben"])
    reply = await ben.request("list_members", {"room": "team"})
    assert reply["total"] == 5
    assert [m["username"] for m in reply["members"]] == ["ben", "cat"]


async def test_bad_requests_are_invalid(make_user, sockets):
    people = await team(make_user)
    ben = await sockets(people["ben"])
    assert_error(await ben.request("list_members", {}), "invalid")
    assert_error(await ben.request("list_members", {"room": 7}), "invalid")


def test_it_costs_what_list_rooms_costs() -> None:
    assert dispatch.CHARGES["list_members"].of({"room": "team"}) == (
        dispatch.CHARGES["list_rooms"].of({})
    )


@sync_to_async
def _room(name: str) -> Room:
    return Room.objects.get(name=name)
