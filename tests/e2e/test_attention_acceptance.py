"""The attention acceptance test, as the issue puts it: in a real browser, bob
mentions alice in a room she has muted; she gets a badge, a desktop notification
while her tab is hidden, and an email while she is away; when she reads it, her
receipt shows bob that she did. Through the pages, as users do it, with the
server running its notification jobs in its own process (the embedded default's
way) and writing its emails where the test reads them."""

import email
import email.policy
import time

from playwright.sync_api import Page, expect

from .conftest import MAILBOX
from .helpers import (
    click_notification,
    has_class,
    message,
    message_action,
    raised_notifications,
    send_delivered,
    set_hidden,
    wait_connected,
    watch_notifications,
)

MAIL_WAIT = 30.0  # seconds: the job worker polls every second


def _emails_to(address: str) -> list[email.message.EmailMessage]:
    found = []
    for path in sorted(MAILBOX.glob("*.log")) if MAILBOX.exists() else []:
        # One file per connection; messages in it separated by a line of dashes.
        for raw in path.read_text().split("-" * 79 + "\n"):
            if not raw.strip():
                continue
            parsed = email.message_from_string(raw, policy=email.policy.default)
            if address in (parsed["To"] or ""):
                found.append(parsed)
    return found


def _wait_for_email(address: str, text: str) -> email.message.EmailMessage:
    deadline = time.monotonic() + MAIL_WAIT
    while time.monotonic() < deadline:
        for sent in _emails_to(address):
            if text in sent.get_body(("plain",)).get_content():
                return sent
        time.sleep(0.25)
    raise AssertionError(f"no email to {address} with {text!r} in {MAIL_WAIT} s")


def _room_item(page: Page, room: str):
    return page.locator(f"#room-list li.room-item[data-room='{room}']")


def test_a_mention_in_a_muted_room_reaches_alice_and_bob_sees_she_read_it(
    open_as, backend
):
    a, b = backend.users("alice", "bob")
    address = f"{a}@example.com"
    backend.run(
        "from django.contrib.auth import get_user_model\n"
        "get_user_model().objects.filter(username=data['user'])"
        ".update(email=data['address'])\n",
        user=a,
        address=address,
    )
    noisy = backend.room(b, backend.unique("noisy"), members=(a,))
    home = backend.room(a, backend.unique("home"), members=(b,))

    # Alice mutes the room on her settings page.
    alice = open_as(a, None)
    watch_notifications(alice)
    page = alice.goto("/settings/notifications/")
    row = page.locator("#room-levels tr", has_text=f"#{noisy}")
    row.get_by_label(f"Mute #{noisy}").check()
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator(".flash")).to_have_text("Your notification settings are saved.")

    # She is in another room; bob is in the muted one.
    alice.goto(f"/rooms/{home}/")
    bob = open_as(b, f"/rooms/{noisy}/")
    wait_connected(alice.page)
    wait_connected(bob.page)
    item = _room_item(alice.page, noisy)
    expect(item).to_have_class(has_class("room-muted"))

    # Alice's tab goes to the background: bob sees her idle (away).
    set_hidden(alice.page, True)
    expect(bob.page.locator(f"#members li[data-user='{a}']")).to_have_attribute(
        "data-presence", "idle"
    )

    send_delivered(bob.page, "Lunch is here, anyone?")
    text = f"@{a} the release notes need your review"
    sent_id = send_delivered(bob.page, text)

    # A badge for the mention only (the room is muted: no unread count).
    expect(item.locator(".mention-badge")).to_have_text("@1")
    expect(item.locator(".badge")).to_be_hidden()
    # A desktop notification, for the mention only.
    alice.page.wait_for_function("window.__notifications.length >= 1")
    alice.page.wait_for_timeout(500)
    raised = raised_notifications(alice.page)
    assert [n["body"] for n in raised] == [text], raised
    assert b in raised[0]["title"]

    # An email, since she is away and has not read it.
    mail = _wait_for_email(address, "the release notes need your review")
    assert f"{b} mentioned you in #{noisy}" in mail.get_body(("plain",)).get_content()
    assert "List-Unsubscribe" in mail
    assert "Lunch is here" not in mail.get_body(("plain",)).get_content()

    # She comes back and clicks the notification: the message, in its room.
    set_hidden(alice.page, False)
    click_notification(alice.page, 0)
    expect(alice.page).to_have_url(f"{alice.base_url}/rooms/{noisy}/")
    expect(message(alice.page, "the release notes need your review")).to_be_visible()
    expect(item.locator(".mention-badge")).to_be_hidden()

    # Bob asks who has seen his message: alice.
    mine = bob.page.locator(f"#messages li.message[data-id='{sent_id}']")
    message_action(mine, "seen-by-button").click()
    readers = mine.locator(".readers")
    expect(readers).to_contain_text("Seen by 1")
    expect(readers.locator("li")).to_have_text([a])
