"""Accounts: what a site-banned member may still do, room quotas, log-in lockout,
sign-up throttling and look-alike usernames."""

from datetime import timedelta

import pytest
from django.utils import timezone

from chat import moderation, services
from chat.errors import ChatError
from chat.models import Membership, Room

pytestmark = pytest.mark.django_db


# --- Site bans reach the pages, not only the sockets ----------------------------------


@pytest.fixture
def banned(make_user):
    """ana, banned from the site by staff, who still has a session."""
    ana = make_user("ana")
    moderation.site_ban(actor=make_user("mod", is_staff=True), username="ana")
    return ana


def test_site_banned_member_cannot_create_a_room_by_the_form(client, banned):
    client.force_login(banned)
    response = client.post("/rooms/create/", {"name": "mine", "kind": "public"})
    assert response.status_code == 403
    assert "banned from this site" in response.content.decode()
    assert not Room.objects.filter(name="mine").exists()


def test_site_banned_member_cannot_join_or_open_a_room_by_the_form(
    client, banned, make_user
):
    services.room_create(user=make_user("ben"), name="lobby")
    client.force_login(banned)
    assert client.post("/rooms/join/", {"name": "lobby"}).status_code == 403
    # Nor create one by joining a missing name.
    assert client.post("/rooms/join/", {"name": "fresh"}).status_code == 403
    assert not Membership.objects.filter(user=banned).exists()
    assert not Room.objects.filter(name="fresh").exists()


def test_site_banned_owner_cannot_invite(client, make_user):
    ana, ben = make_user("ana"), make_user("ben")
    services.room_create(user=ana, name="inner", kind=Room.Kind.PRIVATE)
    moderation.site_ban(actor=make_user("mod", is_staff=True), username="ana")
    client.force_login(ana)
    response = client.post("/rooms/inner/invite/", {"username": "ben"})
    assert response.status_code == 403
    assert not Membership.objects.filter(room__name="inner", user=ben).exists()


@pytest.mark.parametrize(
    "call",
    [
        lambda user: services.room_create(user=user, name="mine"),
        lambda user: services.room_join(user=user, name="somewhere"),
        lambda user: services.room_invite(user=user, room_name="x", username="y"),
    ],
    ids=["room_create", "room_join", "room_invite"],
)
def test_services_refuse_a_site_banned_user(banned, call):
    with pytest.raises(ChatError) as info:
        call(banned)
    assert info.value.code == "forbidden"
    assert not Room.objects.exists()


def test_an_expired_site_ban_no_longer_refuses(make_user):
    ana = make_user("ana")
    moderation.site_ban(
        actor=make_user("mod", is_staff=True),
        username="ana",
        expires_at=timezone.now() - timedelta(minutes=1),
    )
    assert services.room_create(user=ana, name="mine").name == "mine"
