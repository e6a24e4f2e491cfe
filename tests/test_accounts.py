"""Accounts: what a site-banned member may still do, room quotas, log-in lockout,
sign-up throttling and look-alike usernames."""

import importlib
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from chat.domain import selectors, services
from chat.domain.errors import ChatError
from chat.domain.services import moderation
from chat.models import Membership, Room, UsernameKey

pytestmark = pytest.mark.django_db


# --- Site bans reach the pages, not only the sockets -------------------------------


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


# --- Room quota ----------------------------------------------------------------------


@pytest.fixture
def quota(settings) -> int:
    settings.CHAT_ROOMS_PER_HOUR = 3
    return 3


def test_room_quota_refuses_the_next_room_within_the_hour(make_user, quota):
    ana = make_user("ana")
    for n in range(quota):
        services.room_create(user=ana, name=f"r{n}")
    with pytest.raises(ChatError) as info:
        services.room_join(user=ana, name="one-more")
    assert info.value.code == "rate_limited"
    assert "at most 3 rooms an hour" in info.value.msg
    assert 3590 < info.value.extra["retryAfter"] <= 3600
    assert not Room.objects.filter(name="one-more").exists()
    # Joining rooms that exist is not creating: still allowed.
    services.room_create(user=make_user("ben"), name="lobby")
    services.room_join(user=ana, name="lobby")


def test_room_quota_counts_only_the_last_hour_and_only_public_or_private_rooms(
    make_user, quota
):
    ana, ben = make_user("ana"), make_user("ben")
    for n in range(quota):
        services.room_create(user=ana, name=f"r{n}")
    Room.objects.filter(name="r0").update(
        created_at=timezone.now() - timedelta(hours=1, seconds=1)
    )
    services.direct_room_get_or_create(user=ana, other=ben)
    assert services.room_create(user=ana, name="r3", kind=Room.Kind.PRIVATE)


def test_room_quota_is_per_member_and_spares_staff(make_user, quota):
    ana, mod = make_user("ana"), make_user("mod", is_staff=True)
    for n in range(quota + 2):
        services.room_create(user=mod, name=f"staff{n}")
    for n in range(quota):
        services.room_create(user=ana, name=f"r{n}")


def test_room_quota_shows_as_a_form_error(client, make_user, quota):
    ana = make_user("ana")
    for n in range(quota):
        services.room_create(user=ana, name=f"r{n}")
    client.force_login(ana)
    response = client.post("/rooms/create/", {"name": "one-more", "kind": "public"})
    assert response.status_code == 429
    assert "at most 3 rooms an hour" in str(response.context["form"].errors["name"])


@pytest.mark.django_db(transaction=True)
async def test_room_quota_answers_join_room_with_an_error(amake_user, sockets, quota):
    ana = await amake_user("ana")
    socket = await sockets(ana)
    for n in range(quota):
        await socket.join(f"r{n}")
    reply = await socket.request("join_room", {"room": "one-more"})
    assert reply["status"] == "error" and reply["code"] == "rate_limited", reply
    assert reply["retryAfter"] > 3500


# --- Log-in lockout (django-axes) -----------------------------------------------------

PASSWORD = "pw-for-tests-1"  # conftest's make_user
ADDRESS, OTHER_ADDRESS = "203.0.113.7", "198.51.100.20"


def log_in(client, username: str, password: str, address: str = ADDRESS):
    return client.post(
        "/accounts/login/",
        {"username": username, "password": password},
        REMOTE_ADDR=address,
    )


def logged_in(response) -> bool:
    return response.status_code == 302 and response["Location"] == "/"


def test_twenty_wrong_passwords_lock_the_name_out_from_that_address(
    client, make_user, settings
):
    make_user("alice")
    for _ in range(20):
        assert log_in(client, "alice", "guess").status_code in (200, 429)
    response = log_in(client, "alice", PASSWORD)
    assert not logged_in(response)
    assert response.status_code == 429
    page = response.content.decode()
    assert "Too many failed log-ins for this name from your address" in page
    assert f"Try again in {settings.AXES_COOLOFF_TIME.seconds // 60} minutes" in page
    # The log-in form is still the page, for after the wait.
    assert 'name="username"' in page and 'value="alice"' in page


def test_lockout_starts_at_the_failure_limit(client, make_user, settings):
    make_user("alice")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert log_in(client, "alice", "guess").status_code == 200
    assert log_in(client, "alice", "guess").status_code == 429
    assert log_in(client, "alice", PASSWORD).status_code == 429


def test_lockout_is_per_name_and_address(client, make_user, settings):
    make_user("alice"), make_user("bob")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, "alice", "guess")
    # alice from her own address, and bob from the guesser's, still get in.
    assert logged_in(log_in(client, "alice", PASSWORD, address=OTHER_ADDRESS))
    client.logout()
    assert logged_in(log_in(client, "bob", PASSWORD))


def test_a_success_before_the_limit_starts_the_count_again(client, make_user, settings):
    make_user("alice")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        log_in(client, "alice", "typo")
    assert logged_in(log_in(client, "alice", PASSWORD))
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        log_in(client, "alice", "typo")
    assert logged_in(log_in(client, "alice", PASSWORD))


def test_lockout_ends_after_the_cool_off(client, make_user, settings):
    make_user("alice")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, "alice", "guess")
    AccessAttempt.objects.update(
        attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1)
    )
    assert logged_in(log_in(client, "alice", PASSWORD))


def test_staff_unlock_a_name_with_the_management_command(client, make_user, settings):
    make_user("alice")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, "alice", "guess")
    call_command("axes_reset_username", "alice")
    assert logged_in(log_in(client, "alice", PASSWORD))


@pytest.mark.django_db(transaction=True)
async def test_lockout_page_under_asgi(async_client, amake_user, settings):
    """Under daphne the axes middleware runs async, and calls our lockout view with
    other arguments than under WSGI."""
    await amake_user("alice")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        await async_client.post(
            "/accounts/login/", {"username": "alice", "password": "guess"}
        )
    response = await async_client.post(
        "/accounts/login/", {"username": "alice", "password": PASSWORD}
    )
    assert response.status_code == 429
    assert "Too many failed log-ins" in response.content.decode()


# --- Sign-up throttle -----------------------------------------------------------------


def sign_up(client, username: str, address: str = ADDRESS, password: str = "x"):
    password = password * 4 + "-long-pass-9"
    return client.post(
        "/accounts/signup/",
        {"username": username, "password1": password, "password2": password},
        REMOTE_ADDR=address,
    )


@pytest.fixture
def signup_limit(settings) -> int:
    settings.CHAT_RATE_LIMITS = {**settings.CHAT_RATE_LIMITS, "signup": (3 / 3600, 3)}
    return 3


def test_sign_ups_from_one_address_are_throttled(client, signup_limit, user_model):
    for n in range(signup_limit):
        assert sign_up(client, f"user{n}").status_code == 302
        client.logout()
    response = sign_up(client, "one-more")
    assert response.status_code == 429
    assert "Too many new accounts from your address; try again in 20 minutes" in (
        response.content.decode()
    )
    assert not user_model.objects.filter(username="one-more").exists()
    # Another address is not held back.
    assert sign_up(client, "one-more", address=OTHER_ADDRESS).status_code == 302


def test_refused_sign_ups_do_not_count(client, signup_limit):
    for _ in range(signup_limit + 2):
        mismatched = client.post(
            "/accounts/signup/",
            {"username": "ana", "password1": "a-long-pass-9", "password2": "typo"},
            REMOTE_ADDR=ADDRESS,
        )
        assert mismatched.status_code == 200
    assert sign_up(client, "ana").status_code == 302


def test_an_ipv6_client_is_counted_by_its_64(client, signup_limit):
    for n in range(signup_limit):
        assert (
            sign_up(client, f"user{n}", address=f"2001:db8:1:2::{n + 1}").status_code
            == 302
        )
        client.logout()
    assert (
        sign_up(client, "one-more", address="2001:db8:1:2:ffff::9").status_code == 429
    )
    assert sign_up(client, "one-more", address="2001:db8:1:3::1").status_code == 302


# --- Look-alike usernames -------------------------------------------------------------

CYRILLIC_A, CYRILLIC_O, GREEK_ALPHA = "\u0430", "\u043e", "\u0391"


@pytest.mark.parametrize(
    "name",
    [
        f"{CYRILLIC_A}lice",
        f"{GREEK_ALPHA}lice",  # Greek capital alpha
        "ALICE",
        "AIice",  # capital I for l
        "a1ice",  # digit one for l
        "alice\u3164",  # an invisible Hangul filler, which is a letter
        "\uff41\uff4c\uff49\uff43\uff45",  # full-width letters
    ],
)
def test_sign_up_refuses_a_name_that_looks_like_a_member(
    client, make_user, user_model, name
):
    make_user("alice")
    response = sign_up(client, name)
    assert response.status_code == 200
    assert response.context["form"].errors["username"], name
    assert user_model.objects.count() == 1


def test_sign_up_refuses_a_look_alike_of_the_staff_account(
    client, make_user, user_model
):
    make_user("moderator", is_staff=True)
    response = sign_up(client, f"m{CYRILLIC_O}derator")
    assert "looks too much like an existing one" in str(
        response.context["form"].errors["username"]
    )
    assert not user_model.objects.filter(username=f"m{CYRILLIC_O}derator").exists()


def test_sign_up_still_takes_distinct_names_in_any_script(client, make_user):
    make_user("alice")
    for name in ("alicia", "alice2", "\u043d\u0430\u0442\u0430\u0448\u0430"):  # наташа
        assert sign_up(client, name).status_code == 302, name
        client.logout()


def test_the_look_alike_check_is_one_indexed_query(
    make_user, django_assert_num_queries
):
    make_user("alice")
    with django_assert_num_queries(1):
        assert selectors.username_looks_taken(f"{CYRILLIC_A}lice")


def test_signup_service_refuses_a_look_alike_that_won_a_race(make_user, monkeypatch):
    """Two look-alikes signing up at once both pass the first check; the keys'
    unique index lets only one through."""
    make_user("alice")
    monkeypatch.setattr(
        services.accounts, "username_looks_taken", lambda username: False
    )
    with pytest.raises(ChatError) as info:
        services.user_signup(username=f"{CYRILLIC_A}lice", password="a-long-pass-9")
    assert info.value.code == "invalid"
    assert not UsernameKey.objects.exclude(user__username="alice").exists()


def test_keys_follow_a_rename_and_not_every_save(make_user):
    ana = make_user("alice")
    ana.username = "ana"
    ana.save()
    assert not selectors.username_looks_taken("alice")
    assert selectors.username_looks_taken(f"{CYRILLIC_A}n{CYRILLIC_A}")
    with CaptureQueriesContext(connection) as queries:
        ana.save(update_fields=["last_login"])  # as every log-in does
    assert not [q for q in queries if UsernameKey._meta.db_table in q["sql"]]


def test_migration_stores_the_keys_of_existing_users(make_user):
    from django.apps import apps

    migration = importlib.import_module("chat.migrations.0004_username_keys")
    make_user("alice"), make_user("bob")
    UsernameKey.objects.all().delete()
    migration.store_keys_of_existing_users(apps, None)
    assert selectors.username_looks_taken(f"{CYRILLIC_A}lice")
    assert selectors.username_looks_taken("B0B")


def test_admin_cannot_add_a_look_alike_either(client, make_user, user_model):
    make_user("alice")
    client.force_login(make_user("root", is_staff=True, is_superuser=True))
    response = client.post(
        "/admin/auth/user/add/",
        {
            "username": f"{CYRILLIC_A}lice",
            "usable_password": "true",
            "password1": "a-long-pass-9",
            "password2": "a-long-pass-9",
        },
    )
    assert response.status_code == 200
    assert "looks too much like an existing one" in response.content.decode()
    assert user_model.objects.count() == 2
