"""The notification settings page: opened from the app, saved, and followed by
the user's other open tab; how it looks on a desktop and a phone, light and
dark."""

import json
import re
import time
from typing import Any

from playwright.sync_api import Page, WebSocket, expect

from .conftest import DESKTOP, PHONE, SCREENSHOTS, TIMEOUT_MS
from .helpers import horizontal_overflow, press, screenshot, wait_connected

SETTINGS = "/settings/notifications/"


def conversation_with(backend: Any, user: str, other: str) -> None:
    backend.run(
        "from django.contrib.auth import get_user_model\n"
        "from chat.domain import services\n"
        "User = get_user_model()\n"
        "services.direct_room_get_or_create(\n"
        "    user=User.objects.get(username=data['user']),\n"
        "    other=User.objects.get(username=data['other']),\n"
        ")\n",
        user=user,
        other=other,
    )


def heard_events(page: Page) -> list[dict[str, Any]]:
    """The server events the page's sockets receive from now on, as they come."""
    heard: list[dict[str, Any]] = []

    def watch(socket: WebSocket) -> None:
        def received(payload: str | bytes) -> None:
            if isinstance(payload, str) and payload.startswith("{"):
                heard.append(json.loads(payload))

        socket.on("framereceived", received)

    page.on("websocket", watch)
    return heard


def wait_for_event(
    page: Page, heard: list[dict[str, Any]], name: str, **match: Any
) -> dict[str, Any]:
    """The data of the first `name` event the page heard with these fields."""
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while time.monotonic() < deadline:
        for frame in heard:
            data = frame.get("data") or {}
            if frame.get("event") == name and all(
                data.get(k) == v for k, v in match.items()
            ):
                return data
        page.wait_for_timeout(100)  # lets Playwright deliver what came meanwhile
    raise AssertionError(f"no {name} {match}; heard {[f.get('event') for f in heard]}")


def full_page(page: Page, name: str) -> None:
    """The whole page in one screenshot, taken in a window as tall as the page
    (a full-page capture would leave the sticky Save bar mid-page)."""
    viewport = page.viewport_size or DESKTOP
    height = page.evaluate("document.documentElement.scrollHeight")
    page.set_viewport_size({"width": viewport["width"], "height": height})
    screenshot(page, name)
    page.set_viewport_size(viewport)


def room_row(page: Page, room: str):
    return page.locator(f"#room-levels tr[data-room='{room}']")


def test_settings_saved_on_the_page_reach_another_tab(open_as, backend, server):
    alice, bob = backend.users("alice", "bob")
    room = backend.room(bob, backend.unique("standup"), members=(alice,))
    conversation_with(backend, alice, bob)
    app = open_as(alice, "/")
    wait_connected(app.page)
    # A second tab of her app, listening to what its socket is told.
    other_tab = app.context.new_page()
    heard = heard_events(other_tab)
    other_tab.goto(server.url + "/")
    wait_connected(other_tab)

    page = app.page
    screenshot(page, "app-settings-link-light")
    page.get_by_role("link", name="Notification settings").click()
    expect(page).to_have_url(server.url + SETTINGS)
    expect(page.get_by_role("heading", name="Notification settings")).to_be_visible()
    # What "default" means is said in each row: mentions in a room, every
    # message in a conversation.
    row = room_row(page, room)
    expect(row.locator("select option:checked")).to_have_text("Default (mentions only)")
    direct = page.locator("#room-levels tr", has_text=f"@{bob}")
    expect(direct.locator("option:checked")).to_have_text("Default (all messages)")

    row.get_by_label(f"Notify me of, in #{room}").select_option("mentions")
    row.get_by_label(f"Mute #{room}").check()
    page.get_by_label("For 1 hour").check()
    page.get_by_role("button", name="Save settings").click()

    expect(page.locator(".flash")).to_have_text("Your notification settings are saved.")
    expect(page).to_have_url(server.url + SETTINGS)
    # The page shows what was saved.
    expect(row.locator("select")).to_have_value("mentions")
    expect(row.locator("input[type=checkbox]")).to_be_checked()
    expect(page.locator("#dnd-state")).to_contain_text("On until")
    expect(page.get_by_label("Keep it on until then")).to_be_checked()
    full_page(page, "settings-saved-light")

    # The other tab was told, without a reload.
    state = wait_for_event(other_tab, heard, "room_notify", room=room)
    assert state == {"room": room, "notify": "mentions", "muted": True}
    changed = wait_for_event(other_tab, heard, "settings_changed")
    assert changed["dndUntil"] is not None
    assert app.console_errors == []


def test_the_page_on_a_desktop_and_a_phone_light_and_dark(open_as, backend):
    (alice,) = backend.users("alice")
    backend.room(alice, backend.unique("design"))
    backend.room(alice, backend.unique("a-room-with-a-rather-long-name"))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for device, viewport in (("", DESKTOP), ("-phone", PHONE)):
        for scheme in ("light", "dark"):
            actor = open_as(alice, SETTINGS, viewport=viewport, color_scheme=scheme)
            page = actor.page
            expect(page.locator("#room-levels tbody tr")).to_have_count(2)
            assert horizontal_overflow(page) <= 0, "the page scrolls sideways"
            full_page(page, f"settings-{scheme}{device}")
            # Nothing refused by the Content-Security-Policy, nothing failed.
            assert actor.console_errors == []
    # A mistake is shown next to its field.
    page = open_as(alice, SETTINGS, viewport=PHONE, color_scheme="dark").page
    page.get_by_label("Email after (minutes unread)").fill("0")
    # The browser's own check would stop the form first: the server's is tested.
    page.locator("#notification-settings").evaluate("form => form.noValidate = true")
    press(page.get_by_role("button", name="Save settings"))
    error = page.locator(".setting.number .errorlist")
    expect(error).to_contain_text(re.compile("greater than or equal to 1"))
    full_page(page, "settings-error-dark-phone")


def test_the_apps_link_fits_the_phones_top_bar(open_as, backend):
    (alice,) = backend.users("alice")
    page = open_as(alice, "/", viewport=PHONE).page
    wait_connected(page)
    link = page.get_by_role("link", name="Notification settings")
    expect(link).to_be_visible()
    assert horizontal_overflow(page) <= 0, "the top bar pushes the page sideways"
    screenshot(page, "app-settings-link-light-phone")


def test_the_unsubscribe_link_works_without_logging_in(browser, server, backend):
    (alice,) = backend.users("alice")
    link = backend.run(
        "from urllib.parse import urlsplit\n"
        "from django.contrib.auth import get_user_model\n"
        "from chat.domain.unsubscribe import unsubscribe_url\n"
        "user = get_user_model().objects.get(username=data['name'])\n"
        "result = urlsplit(unsubscribe_url(user)).path\n",
        name=alice,
    )
    context = browser.new_context(viewport=PHONE, color_scheme="dark")
    try:
        page = context.new_page()
        page.goto(server.url + link)
        expect(page.get_by_role("heading")).to_have_text("Stop notification emails?")
        screenshot(page, "unsubscribe-dark-phone")
        page.get_by_role("button", name="Unsubscribe").click()
        expect(page.get_by_role("heading")).to_have_text("Unsubscribed")
        expect(page.get_by_role("status")).to_contain_text(alice)
        screenshot(page, "unsubscribed-dark-phone")
    finally:
        context.close()
    emails_on = backend.run(
        "from chat.models import UserSettings\n"
        "result = UserSettings.objects.get(user__username=data['name'])"
        ".email_notifications\n",
        name=alice,
    )
    assert emails_on is False
