"""Notification preferences: the user's own settings and each room's level and
mute, through the services, the settings page, set_room_notify over every
transport, and the one-click unsubscribe link of emails."""

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from asgiref.sync import sync_to_async
from django.contrib.messages import get_messages
from django.core import signing
from django.test import Client
from django.utils import timezone

from chat.domain import events, payloads, selectors, services, unsubscribe
from chat.models import Membership, Notify, Room, RoomBan, UserSettings

from .test_consumers import assert_error
from .test_services import chat_error

pytestmark = pytest.mark.django_db

SETTINGS_URL = "/settings/notifications/"


def settings_row(user) -> UserSettings:
    return UserSettings.objects.get(user=user)


def membership(user, room: str) -> Membership:
    return Membership.objects.get(user=user, room__name=room)


# --- The user's own settings ----------------------------------------------------------


def test_a_user_without_settings_has_the_defaults(make_user, settings):
    settings.CHAT_EMAIL_DELAY = 10
    ana = make_user("ana")
    current = selectors.user_settings_of(ana)
    assert current.pk is None  # nothing stored for a read
    assert payloads.settings_object(current) == {
        "desktopNotifications": True,
        "emailNotifications": True,
        "emailDelay": 10,
        "dndUntil": None,
        "readReceipts": True,
    }
    assert not UserSettings.objects.exists()


def test_a_change_is_saved_and_told_to_every_socket_of_the_user(
    make_user, broadcasts, committed
):
    ana = make_user("ana")
    until = timezone.now() + timedelta(hours=1)
    with committed():
        services.user_settings_update(
            user=ana,
            email_delay=30,
            dnd_until=until,
            send_read_receipts=False,
        )
    stored = settings_row(ana)
    assert (stored.email_delay, stored.dnd_until, stored.send_read_receipts) == (
        30,
        until,
        False,
    )
    # The settings, and (do not disturb changed) who is online announced again.
    sent, announce = broadcasts
    assert (announce.group, announce.action) == (events.user_group(ana.pk), "presence")
    assert (sent.group, sent.event) == (events.user_group(ana.pk), "settings_changed")
    assert sent.data == {
        "desktopNotifications": True,
        "emailNotifications": True,
        "emailDelay": 30,
        "dndUntil": payloads.iso(until),
        "readReceipts": False,
    }

    # Asking for what is set already changes nothing and tells nobody.
    with committed():
        services.user_settings_update(user=ana, email_delay=30, dnd_until=until)
    assert len(broadcasts) == 2


def test_no_email_delay_is_the_sites(make_user, broadcasts, committed, settings):
    settings.CHAT_EMAIL_DELAY = 25
    ana = make_user("ana")
    services.user_settings_update(user=ana, email_delay=5)
    with committed():
        services.user_settings_update(user=ana, email_delay=None)
    assert settings_row(ana).email_delay is None
    assert broadcasts[-1].data["emailDelay"] == 25


def test_a_past_do_not_disturb_time_turns_it_off(make_user):
    ana = make_user("ana")
    services.user_settings_update(
        user=ana, dnd_until=timezone.now() + timedelta(minutes=30)
    )
    services.user_settings_update(
        user=ana, dnd_until=timezone.now() - timedelta(minutes=1)
    )
    assert settings_row(ana).dnd_until is None


def test_a_stored_do_not_disturb_that_has_ended_is_shown_as_off(make_user):
    ana = make_user("ana")
    ended = timezone.now() - timedelta(minutes=1)
    UserSettings.objects.create(user=ana, dnd_until=ended)
    shown = payloads.settings_object(selectors.user_settings_of(ana))
    assert shown["dndUntil"] is None


@pytest.mark.parametrize(
    "fields",
    [
        {"email_delay": 0},
        {"email_delay": 1441},
        {"email_delay": "5"},
        {"email_delay": True},
        {"dnd_until": datetime(2030, 1, 1, 9, 0)},  # no time zone
        {"dnd_until": "2030-01-01T09:00:00Z"},
        {"desktop_notifications": "yes"},
        {"email_notifications": None},
        {"last_seen_at": None},  # not the user's to set
        {"volume": 11},
    ],
)
def test_bad_settings_are_refused_and_nothing_changes(make_user, fields):
    ana = make_user("ana")
    with chat_error("invalid"):
        services.user_settings_update(user=ana, **fields)
    assert not UserSettings.objects.exists()


def test_the_email_delay_takes_a_minute_to_a_day(make_user):
    ana = make_user("ana")
    for minutes in (1, 1440):
        services.user_settings_update(user=ana, email_delay=minutes)
        assert settings_row(ana).email_delay == minutes


# --- Each room's level and mute -------------------------------------------------------


def test_a_member_sets_a_rooms_level_and_mute(make_user, broadcasts, committed):
    ana = make_user("ana")
    services.room_join(user=ana, name="general")
    with committed():
        state = services.room_notify_set(
            user=ana, room_name="General", notify="nothing"
        )
    assert state == {"room": "general", "notify": "nothing", "muted": False}
    (sent,) = broadcasts
    assert (sent.group, sent.event, sent.data) == (
        events.user_group(ana.pk),
        "room_notify",
        state,
    )

    with committed():
        state = services.room_notify_set(user=ana, room_name="general", muted=True)
    assert state == {"room": "general", "notify": "nothing", "muted": True}
    stored = membership(ana, "general")
    assert (stored.notify, stored.muted) == (Notify.NOTHING, True)

    # The same again: nothing to tell.
    with committed():
        services.room_notify_set(
            user=ana, room_name="general", notify="nothing", muted=True
        )
    assert len(broadcasts) == 2


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({}, "invalid"),  # neither
        ({"notify": "loud"}, "invalid"),
        ({"notify": "ALL"}, "invalid"),
    ],
)
def test_room_notify_set_refuses(make_user, change, code):
    ana = make_user("ana")
    services.room_join(user=ana, name="general")
    with chat_error(code):
        services.room_notify_set(user=ana, room_name="general", **change)
    stored = membership(ana, "general")
    assert (stored.notify, stored.muted) == (Notify.DEFAULT, False)


def test_only_a_member_sets_a_rooms_level(make_user):
    ana, ben = make_user("ana"), make_user("ben")
    services.room_create(user=ana, name="hush", kind=Room.Kind.PRIVATE)
    services.room_create(user=ana, name="plaza")
    with chat_error("not_found"):  # as a room that does not exist
        services.room_notify_set(user=ben, room_name="hush", notify="all")
    with chat_error("not_found"):
        services.room_notify_set(user=ben, room_name="nowhere", notify="all")
    with chat_error("forbidden"):  # join first
        services.room_notify_set(user=ben, room_name="plaza", notify="all")
    room = services.room_join(user=ben, name="plaza")
    RoomBan.objects.create(room=room, user=ben, created_by=ana)
    with chat_error("forbidden"):
        services.room_notify_set(user=ben, room_name="plaza", muted=True)
    assert not membership(ben, "plaza").muted


def test_the_page_lists_rooms_then_conversations_with_what_default_means(make_user):
    ana, ben, cara = make_user("ana"), make_user("ben"), make_user("cara")
    services.room_join(user=ana, name="zoo")
    services.room_join(user=ana, name="Art")
    services.room_create(user=ben, name="gone")
    services.room_join(user=ana, name="gone")
    RoomBan.objects.create(room=Room.objects.get(name="gone"), user=ana)
    services.direct_room_get_or_create(user=ana, other=ben)
    services.conversation_get_or_create(user=ana, others=[ben, cara])
    services.room_notify_set(user=ana, room_name="zoo", notify="all", muted=True)

    rows = selectors.room_notify_levels(user=ana)
    assert [(r.label, r.kind, r.notify, r.default, r.muted) for r in rows] == [
        ("#art", "public", "default", "mentions", False),
        ("#zoo", "public", "all", "mentions", True),
        ("@ben", "direct", "default", "all", False),
        ("ben, cara", "group", "default", "all", False),
    ]


def test_the_pages_save_is_all_or_nothing(make_user, broadcasts, committed):
    ana = make_user("ana")
    services.room_join(user=ana, name="general")
    with committed(), chat_error("not_found"):
        services.notification_preferences_save(
            user=ana,
            settings={"email_notifications": False},
            rooms=[
                services.RoomNotifyChange(room="general", notify="all"),
                services.RoomNotifyChange(room="left-meanwhile", muted=True),
            ],
        )
    assert selectors.user_settings_of(ana).email_notifications is True
    assert membership(ana, "general").notify == Notify.DEFAULT
    assert broadcasts == []


# --- The settings page ----------------------------------------------------------------


@pytest.fixture
def ana_logged_in(make_user, client):
    ana = make_user("ana")
    client.force_login(ana)
    return ana


def page_form(client) -> dict[str, str]:
    """The page's form as the browser would post it unchanged."""
    response = client.get(SETTINGS_URL)
    assert response.status_code == 200
    context = response.context
    data = {"dnd": context["form"]["dnd"].initial, "time_zone": "UTC"}
    form = context["form"]
    for name in ("desktop_notifications", "email_notifications", "send_read_receipts"):
        if form[name].initial:
            data[name] = "on"
    if form["email_delay"].initial is not None:
        data["email_delay"] = str(form["email_delay"].initial)
    for room in context["rooms"]:
        data[room.add_prefix("notify")] = room["notify"].initial
        if room["muted"].initial:
            data[room.add_prefix("muted")] = "on"
    return data


def room_field(room: Room, name: str) -> str:
    return f"room-{room.pk}-{name}"


def test_the_page_is_for_logged_in_users(client):
    response = client.get(SETTINGS_URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_page_shows_the_settings_and_the_rooms(
    client, ana_logged_in, make_user, settings
):
    settings.CHAT_EMAIL_DELAY = 10
    ana, ben = ana_logged_in, make_user("ben")
    services.room_join(user=ana, name="general")
    services.direct_room_get_or_create(user=ana, other=ben)
    services.user_settings_update(user=ana, send_read_receipts=False)

    page = client.get(SETTINGS_URL).content.decode()
    assert "Blank: the site&#x27;s default, 10 minutes." in page
    assert re.search(r'<input[^>]*name="send_read_receipts"(?![^>]*checked)', page)
    assert re.search(r'<input[^>]*name="email_notifications"[^>]*checked', page)
    general = Room.objects.get(name="general")
    assert '<option value="default" selected>Default (mentions only)</option>' in page
    assert "Default (all messages)" in page  # the direct conversation's
    assert f'name="{room_field(general, "notify")}"' in page
    assert "#general" in page and "@ben" in page
    assert 'value="off"' in page and "checked" in page


def test_saving_goes_through_the_services_and_redirects(client, ana_logged_in):
    ana = ana_logged_in
    general = services.room_join(user=ana, name="general")
    data = page_form(client)
    del data["email_notifications"]  # unticked
    data.update(
        {
            "email_delay": "45",
            "dnd": "60",
            room_field(general, "notify"): "mentions",
            room_field(general, "muted"): "on",
        }
    )
    response = client.post(SETTINGS_URL, data)
    assert (response.status_code, response["Location"]) == (302, SETTINGS_URL)
    stored = settings_row(ana)
    assert (stored.email_notifications, stored.email_delay) == (False, 45)
    ends_in = stored.dnd_until - timezone.now()
    assert timedelta(minutes=59) < ends_in <= timedelta(minutes=60)
    assert (membership(ana, "general").notify, membership(ana, "general").muted) == (
        "mentions",
        True,
    )
    shown = client.get(SETTINGS_URL)
    assert [str(m) for m in get_messages(shown.wsgi_request)] == [
        "Your notification settings are saved."
    ]
    assert "Your notification settings are saved." in shown.content.decode()
    assert "Keep it on until then" in shown.content.decode()


def test_do_not_disturb_until_tomorrow_morning_in_the_browsers_zone(
    client, ana_logged_in
):
    data = {**page_form(client), "dnd": "tomorrow", "time_zone": "Europe/Paris"}
    assert client.post(SETTINGS_URL, data).status_code == 302
    paris = ZoneInfo("Europe/Paris")
    until = settings_row(ana_logged_in).dnd_until.astimezone(paris)
    assert (until.hour, until.minute) == (9, 0)
    assert until.date() == timezone.now().astimezone(paris).date() + timedelta(days=1)


def test_do_not_disturb_until_a_chosen_time(client, ana_logged_in):
    zone = ZoneInfo("America/New_York")
    later = (timezone.now() + timedelta(days=2)).astimezone(zone)
    wall = later.strftime("%Y-%m-%dT%H:%M")
    data = {
        **page_form(client),
        "dnd": "custom",
        "dnd_custom": wall,
        "time_zone": "America/New_York",
    }
    assert client.post(SETTINGS_URL, data).status_code == 302
    until = settings_row(ana_logged_in).dnd_until.astimezone(zone)
    assert until.strftime("%Y-%m-%dT%H:%M") == wall


def test_keeping_do_not_disturb_leaves_it_as_it_is(client, ana_logged_in):
    until = timezone.now() + timedelta(hours=3)
    services.user_settings_update(user=ana_logged_in, dnd_until=until)
    data = page_form(client)
    assert data["dnd"] == "keep"
    data.pop("send_read_receipts")
    assert client.post(SETTINGS_URL, data).status_code == 302
    stored = settings_row(ana_logged_in)
    assert (stored.dnd_until, stored.send_read_receipts) == (until, False)
    # …and "Off" turns it off.
    assert client.post(SETTINGS_URL, {**data, "dnd": "off"}).status_code == 302
    assert settings_row(ana_logged_in).dnd_until is None


def test_keeping_a_do_not_disturb_that_ended_since_is_no_error(client, ana_logged_in):
    services.user_settings_update(
        user=ana_logged_in, dnd_until=timezone.now() + timedelta(minutes=5)
    )
    data = page_form(client)
    UserSettings.objects.update(dnd_until=timezone.now() - timedelta(minutes=1))
    assert client.post(SETTINGS_URL, data).status_code == 302
    page = client.get(SETTINGS_URL).content.decode()
    assert "Keep it on until then" not in page
    assert re.search(r'<p id="dnd-state"[^>]*>\s*Off\.', page)


@pytest.mark.parametrize(
    ("change", "field", "error"),
    [
        ({"email_delay": "0"}, "email_delay", "greater than or equal to 1"),
        ({"email_delay": "2000"}, "email_delay", "less than or equal to 1440"),
        ({"email_delay": "soon"}, "email_delay", "Enter a whole number."),
        ({"dnd": "custom"}, "dnd_custom", "Pick the day and time it ends."),
        (
            {"dnd": "custom", "dnd_custom": "2001-01-01T09:00"},
            "dnd_custom",
            "Pick a time in the future.",
        ),
        ({"dnd": "forever"}, "dnd", "Select a valid choice."),
    ],
)
def test_errors_show_next_to_their_field_and_nothing_is_saved(
    client, ana_logged_in, change, field, error
):
    general = services.room_join(user=ana_logged_in, name="general")
    data = {**page_form(client), room_field(general, "muted"): "on", **change}
    response = client.post(SETTINGS_URL, data)
    assert response.status_code == 400
    assert any(error in e for e in response.context["form"].errors[field])
    page = response.content.decode()
    assert 'class="errorlist' in page and error.replace("'", "&#x27;") in page
    assert not UserSettings.objects.exists()
    assert membership(ana_logged_in, "general").muted is False


def test_a_bad_level_shows_in_its_rooms_row(client, ana_logged_in):
    general = services.room_join(user=ana_logged_in, name="general")
    data = {**page_form(client), room_field(general, "notify"): "loud"}
    response = client.post(SETTINGS_URL, data)
    assert response.status_code == 400
    (row,) = response.context["rooms"]
    assert row.errors["notify"]


def test_a_room_joined_since_the_page_was_shown_is_left_as_it_is(client, ana_logged_in):
    data = page_form(client)
    services.room_join(user=ana_logged_in, name="newer")
    assert client.post(SETTINGS_URL, data).status_code == 302
    assert membership(ana_logged_in, "newer").notify == Notify.DEFAULT


def test_a_room_banned_from_since_the_page_was_shown_is_left_alone(
    client, ana_logged_in
):
    room = services.room_join(user=ana_logged_in, name="brief")
    data = {**page_form(client), room_field(room, "notify"): "all"}
    RoomBan.objects.create(room=room, user=ana_logged_in)
    response = client.post(SETTINGS_URL, data)
    # No longer hers: not listed, and not changed.
    assert response.status_code == 302
    assert membership(ana_logged_in, "brief").notify == Notify.DEFAULT


def test_the_app_page_carries_the_settings_and_links_to_the_page(
    client, ana_logged_in, settings
):
    settings.CHAT_EMAIL_DELAY = 10
    services.user_settings_update(user=ana_logged_in, desktop_notifications=False)
    page = client.get("/").content.decode()
    assert (
        '<script id="chat-settings" type="application/json">'
        '{"desktopNotifications": false, "emailNotifications": true, '
        '"emailDelay": 10, "dndUntil": null, "readReceipts": true}</script>'
    ) in page
    assert f'href="{SETTINGS_URL}"' in page and "Notification settings" in page


# --- Unsubscribing from emails --------------------------------------------------------


def test_an_unsubscribe_link_is_absolute_and_signed(make_user, settings):
    settings.CHAT_SITE_URL = "https://chat.example.org/"
    ana = make_user("ana")
    url = unsubscribe.unsubscribe_url(ana)
    assert url.startswith("https://chat.example.org/notifications/unsubscribe/")
    token = url.removeprefix("https://chat.example.org/notifications/unsubscribe/")
    assert unsubscribe.user_for_token(token.rstrip("/")) == ana
    assert unsubscribe.unsubscribe_headers(ana) == {
        "List-Unsubscribe": f"<{url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def tampered(token: str, user_id: int) -> str:
    """`token` saying `user_id` instead, under the same signature."""
    _, rest = token.split(":", 1)
    return signing.b64_encode(str(user_id).encode()).decode() + ":" + rest


def test_only_a_good_token_unsubscribes(make_user):
    ana, ben = make_user("ana"), make_user("ben")
    token = unsubscribe.unsubscribe_token(ana)
    forged = [
        "nonsense",
        token[:-2] + ("AA" if not token.endswith("AA") else "BB"),  # altered signature
        tampered(token, ben.pk),  # another user's id under ana's signature
        signing.dumps(ben.pk),  # signed for something else
        signing.dumps("ana", salt=unsubscribe.SALT),  # not an id
    ]
    for bad in forged:
        with chat_error("not_found"):
            unsubscribe.user_for_token(bad)
    ana.is_active = False
    ana.save()
    with chat_error("not_found"):
        unsubscribe.user_for_token(token)


def unsubscribe_path(user) -> str:
    return f"/notifications/unsubscribe/{unsubscribe.unsubscribe_token(user)}/"


def one_click(path: str):
    """What a mail client sends (RFC 8058): no cookie, no CSRF token."""
    return Client(enforce_csrf_checks=True).post(
        path,
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )


def test_the_link_asks_first(client, make_user):
    ana = make_user("ana")
    response = client.get(unsubscribe_path(ana))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Stop notification emails?" in page and "<strong>ana</strong>" in page
    assert 'name="List-Unsubscribe" value="One-Click"' in page
    assert selectors.user_settings_of(ana).email_notifications is True


def test_one_click_turns_emails_off_without_logging_in(make_user):
    ana = make_user("ana")
    response = one_click(unsubscribe_path(ana))
    assert response.status_code == 200
    assert "No more notification emails" in response.content.decode()
    assert settings_row(ana).email_notifications is False
    # Again: still off, still fine (mail clients retry).
    assert one_click(unsubscribe_path(ana)).status_code == 200
    page = Client().get(unsubscribe_path(ana)).content.decode()
    assert "Email notifications are off" in page


def test_a_bad_link_or_request_changes_nothing(client, make_user):
    ana, ben = make_user("ana"), make_user("ben")
    assert client.get("/notifications/unsubscribe/nonsense/").status_code == 404
    assert one_click("/notifications/unsubscribe/nonsense/").status_code == 404
    forged = tampered(unsubscribe.unsubscribe_token(ana), ben.pk)
    assert one_click(f"/notifications/unsubscribe/{forged}/").status_code == 404
    response = Client(enforce_csrf_checks=True).post(unsubscribe_path(ana))
    assert response.status_code == 400  # a POST that is no unsubscribe request
    assert client.put(unsubscribe_path(ana)).status_code == 405
    assert selectors.user_settings_of(ana).email_notifications is True
    assert selectors.user_settings_of(ben).email_notifications is True


# --- Over the transports --------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_set_room_notify_is_told_to_the_users_other_sockets(amake_user, sockets):
    ana, ben = await amake_user("ana"), await amake_user("ben")
    phone, laptop = await sockets(ana), await sockets(ana)
    other = await sockets(ben)
    await phone.join("general")
    await other.join("general")

    reply = await phone.request(
        "set_room_notify", {"room": "general", "notify": "mentions", "muted": True}
    )
    expected = {"room": "general", "notify": "mentions", "muted": True}
    assert reply == {"status": "ok", **expected}
    # Every socket of hers, the one that asked included; nobody else's.
    assert await laptop.event("room_notify") == expected
    assert await phone.event("room_notify") == expected
    assert await other.events("room_notify") == []

    reply = await laptop.request("set_room_notify", {"room": "general", "muted": False})
    assert reply == {"status": "ok", **expected, "muted": False}
    assert (await phone.event("room_notify", muted=False))["notify"] == "mentions"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "data",
    [
        {"room": "general"},
        {"room": "general", "notify": "loud"},
        {"room": "general", "muted": "yes"},
        {"room": "general", "notify": 3},
        {"notify": "all"},
    ],
)
async def test_set_room_notify_refuses_what_is_not_a_change(amake_user, sockets, data):
    socket = await sockets(await amake_user("ana"))
    await socket.join("general")
    assert_error(await socket.request("set_room_notify", data), "invalid")


@pytest.mark.django_db(transaction=True)
async def test_saving_the_page_reaches_the_users_open_app(amake_user, sockets):
    ana = await amake_user("ana")
    app = await sockets(ana)
    await app.join("general")

    def save_on_the_page() -> None:
        client = Client()
        client.force_login(ana)
        general = Room.objects.get(name="general")
        data = {
            **page_form(client),
            "dnd": "60",
            room_field(general, "notify"): "nothing",
        }
        assert client.post(SETTINGS_URL, data).status_code == 302

    await sync_to_async(save_on_the_page)()
    changed = await app.event("settings_changed")
    assert changed["dndUntil"] is not None
    assert (changed["emailNotifications"], changed["readReceipts"]) == (True, True)
    assert await app.event("room_notify") == {
        "room": "general",
        "notify": "nothing",
        "muted": False,
    }


@pytest.mark.django_db(transaction=True)
async def test_one_click_unsubscribe_reaches_the_users_open_app(amake_user, sockets):
    ana = await amake_user("ana")
    app = await sockets(ana)
    path = await sync_to_async(unsubscribe_path)(ana)
    assert (await sync_to_async(one_click)(path)).status_code == 200
    assert (await app.event("settings_changed"))["emailNotifications"] is False


def test_the_page_sets_the_address_emails_go_to(client, make_user):
    ana = make_user("ana")
    client.force_login(ana)
    page = client.get(SETTINGS_URL)
    assert b'name="email"' in page.content
    form = {
        "desktop_notifications": "on",
        "email_notifications": "on",
        "email": "ana@example.com",
        "dnd": "off",
    }
    answer = client.post(SETTINGS_URL, form)
    assert answer.status_code == 302, answer.content.decode()[:2000]
    ana.refresh_from_db()
    assert ana.email == "ana@example.com"
    # A bad address is refused next to the field, and nothing is saved.
    refused = client.post(SETTINGS_URL, {**form, "email": "not an address"})
    assert refused.status_code == 400
    assert "Enter a valid email address." in refused.content.decode()
    ana.refresh_from_db()
    assert ana.email == "ana@example.com"
