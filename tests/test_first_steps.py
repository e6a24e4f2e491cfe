"""What a new user meets: the default rooms they are in from the start, and a
directory that neither offers nor counts rooms and members under a ban."""

from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from chat.domain import selectors, services
from chat.models import Membership, Room, RoomBan

pytestmark = pytest.mark.django_db


def test_a_new_account_starts_in_the_default_rooms(settings):
    settings.CHAT_DEFAULT_ROOMS = ["general", "Random", "not a name!"]
    first = services.user_signup(username="first", password="pw-for-tests-1")
    second = services.user_signup(username="second", password="pw-for-tests-1")
    for name in ("general", "random"):
        room = Room.objects.get(name=name)
        assert room.kind == Room.Kind.PUBLIC
        assert room.created_by is None  # nobody owns it: staff moderate it
        members = Membership.objects.filter(room=room)
        assert set(members.values_list("user", "role")) == {
            (first.pk, Membership.Role.MEMBER),
            (second.pk, Membership.Role.MEMBER),
        }
    assert Room.objects.count() == 2


def test_a_private_room_of_a_default_name_is_left_alone(settings, make_user):
    owner = make_user("owner")
    services.room_create(user=owner, name="general", kind=Room.Kind.PRIVATE)
    newcomer = services.user_signup(username="newcomer", password="pw-for-tests-1")
    assert not Membership.objects.filter(user=newcomer).exists()


def test_no_default_rooms_when_none_are_set(settings):
    settings.CHAT_DEFAULT_ROOMS = []
    user = services.user_signup(username="alone", password="pw-for-tests-1")
    assert not Membership.objects.filter(user=user).exists()


def test_the_directory_hides_a_room_from_those_banned_and_counts_no_banned_member(
    make_user,
):
    owner, ana, bob = make_user("owner"), make_user("ana"), make_user("bob")
    room = services.room_create(user=owner, name="lobby")
    for user in (ana, bob):
        services.membership_add(room=room, user=user)
    RoomBan.objects.create(room=room, user=bob, created_by=owner)
    expired = timezone.now() - timedelta(minutes=1)
    RoomBan.objects.create(room=room, user=ana, created_by=owner, expires_at=expired)

    for_ana = selectors.room_directory(user=ana)
    assert [(r["name"], r["members"], r["is_member"]) for r in for_ana] == [
        ("lobby", 2, True)  # the owner and ana (her ban is over); not bob
    ]
    assert selectors.room_directory(user=bob) == []


@pytest.mark.django_db(transaction=True)
async def test_someone_added_to_a_private_room_hears_it_at_once(amake_user, sockets):
    owner, ana = await amake_user("owner"), await amake_user("ana")
    a = await sockets(ana)

    @sync_to_async
    def invite() -> None:
        services.room_create(
            user=owner, name="plans", kind=Room.Kind.PRIVATE, topic="Q3"
        )
        services.room_invite(user=owner, room_name="plans", username="ana")

    await invite()
    added = await a.event("room_added")
    assert added == {"room": "plans", "kind": "private", "topic": "Q3", "by": "owner"}
    assert (await a.join("plans"))["room"] == "plans"
    # Adding again (already a member) says nothing.
    await sync_to_async(services.room_invite)(
        user=owner, room_name="plans", username="ana"
    )
    assert await a.events("room_added") == []


@pytest.mark.django_db(transaction=True)
async def test_leaving_a_room_for_good_hands_it_over(amake_user, sockets):
    """An owner leaves: every socket of theirs leaves the room and hears room_left,
    the room leaves their list, and its longest-standing moderator owns it."""
    olga, ben, mo = (
        await amake_user("olga"),
        await amake_user("ben"),
        await amake_user("mo"),
    )

    @sync_to_async
    def scene() -> None:
        room = services.room_create(user=olga, name="club", kind=Room.Kind.PRIVATE)
        services.membership_add(room=room, user=ben)
        services.membership_add(room=room, user=mo, role=Membership.Role.MODERATOR)

    await scene()
    phone, laptop = await sockets(olga), await sockets(olga)
    b = await sockets(ben)
    for socket in (phone, laptop, b):
        await socket.join("club")
    reply = await phone.request("leave_conversation", {"room": "club"})
    assert reply == {"status": "ok", "room": "club"}
    for socket in (phone, laptop):
        assert await socket.event("room_left") == {"room": "club"}
    assert (await b.event("user_left"))["username"] == "olga"
    rooms = (await laptop.request("list_rooms"))["rooms"]
    assert "club" not in [r["room"] for r in rooms]
    # Nothing more of the room reaches her, and a private room is closed to her.
    await b.say("club", "still here")
    assert await laptop.events("receive_message") == []
    refused = await laptop.request("get_history", {"room": "club"})
    assert (refused["status"], refused["code"]) == ("error", "not_found")

    @sync_to_async
    def roles() -> dict[str, str]:
        members = Membership.objects.filter(room__name="club")
        return dict(members.values_list("user__username", "role"))

    assert await roles() == {"ben": "member", "mo": "owner"}
