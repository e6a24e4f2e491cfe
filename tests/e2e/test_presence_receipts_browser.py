"""Read receipts and presence in the browser: "Seen by" under a direct message
once it is read, a room message's readers on demand, and a person's dot going
idle when their page is hidden or left alone, offline with "last seen"."""

import time

from playwright.sync_api import Page, expect

from .conftest import SCREENSHOTS
from .helpers import message, message_action, send_delivered, wait_connected

# document.visibilityState and document.hidden as the test says (headless
# Chromium's page is always "visible"): window.setHidden(true) hides the page.
VISIBILITY = """
(() => {
  let hidden = false;
  Object.defineProperty(Document.prototype, "visibilityState", {
    configurable: true, get: () => (hidden ? "hidden" : "visible"),
  });
  Object.defineProperty(Document.prototype, "hidden", {
    configurable: true, get: () => hidden,
  });
  window.setHidden = (value) => {
    hidden = value;
    document.dispatchEvent(new Event("visibilitychange"));
  };
})();
"""
IDLE_SECONDS = 6  # the page's wait before idle (?idle=), 5 minutes by default


def read_up_to(backend, room: str, username: str) -> int:
    """The id of the latest message `username` has marked read in `room` (0:
    none), once their browser has told the server (it waits a moment)."""
    for _ in range(50):
        marker = backend.run(
            "from chat.models import Membership\n"
            "result = Membership.objects.filter(room__name=data['room'],"
            " user__username=data['user']).values_list('last_read_id', flat=True)"
            ".first()\n",
            room=room,
            user=username,
        )
        if marker:
            return marker
        time.sleep(0.2)
    return 0


def dm_item(page: Page, username: str):
    return page.locator(f"#dm-list li.dm-item[data-user='{username}']")


def test_seen_by_and_idle_in_a_direct_conversation(open_as, backend):
    alice, bob = backend.users("alice", "bob")
    bob_ = open_as(bob, f"/dm/{alice}/")
    alice_ = open_as(alice, None)
    alice_.context.add_init_script(VISIBILITY)
    alice_.goto(f"/?idle={IDLE_SECONDS}")
    page = bob_.page
    wait_connected(page)
    wait_connected(alice_.page)

    # Bob writes; nothing says it was seen while Alice has not opened it.
    first = send_delivered(page, "Are you free at noon?")
    mine = message(page, "Are you free at noon?")
    expect(mine.locator(".seen-by")).to_have_count(0)

    # Alice opens the conversation: Bob sees "Seen by alice" under his message.
    dm_item(alice_.page, bob).locator("a").click()
    expect(message(alice_.page, "Are you free at noon?")).to_be_visible()
    expect(mine.locator(".seen-by")).to_have_text(f"Seen by {alice}")
    # It moves down to the latest message she has read, not one of her own.
    send_delivered(alice_.page, "Yes, see you there")
    second = send_delivered(page, "Great")
    expect(message(alice_.page, "Great")).to_be_visible()
    expect(message(page, "Great").locator(".seen-by")).to_have_text(f"Seen by {alice}")
    expect(page.locator("#messages .seen-by")).to_have_count(1)
    assert int(second) > int(first)
    page.screenshot(path=str(SCREENSHOTS / "receipts-seen-by.png"))

    # Alice hides her page: her dot goes idle for Bob; back, active again.
    alice_.page.evaluate("window.setHidden(true)")
    expect(dm_item(page, alice)).to_have_attribute("data-presence", "idle")
    expect(dm_item(page, alice).locator("a")).to_have_attribute(
        "title", f"{alice}: idle"
    )
    expect(page.locator(f"#members li[data-user='{alice}']")).to_have_attribute(
        "data-presence", "idle"
    )
    page.screenshot(path=str(SCREENSHOTS / "presence-idle.png"))
    alice_.page.evaluate("window.setHidden(false)")
    expect(dm_item(page, alice)).to_have_attribute("data-presence", "active")

    # Left alone for IDLE_SECONDS, idle again; a key press, active.
    expect(dm_item(page, alice)).to_have_attribute(
        "data-presence", "idle", timeout=(IDLE_SECONDS + 6) * 1000
    )
    alice_.page.keyboard.press("Shift")
    expect(dm_item(page, alice)).to_have_attribute("data-presence", "active")

    # Alice leaves: offline, last seen just now, in the list and the member pane.
    alice_.close()
    expect(dm_item(page, alice)).to_have_attribute("data-presence", "offline")
    expect(dm_item(page, alice).locator("a")).to_have_attribute(
        "title", f"{alice}: offline, last seen just now"
    )
    row = page.locator(f"#members li[data-user='{alice}']")
    expect(row.locator(".presence-text")).to_have_text("last seen just now")
    page.screenshot(path=str(SCREENSHOTS / "presence-offline.png"))


def test_who_has_seen_a_room_message(open_as, backend):
    ana, ben, cat = backend.users("ana", "ben", "cat")
    room = backend.room(ana, backend.unique("team"), members=(ben, cat))
    ana_ = open_as(ana, f"/rooms/{room}/")
    ben_ = open_as(ben, f"/rooms/{room}/")
    page = ana_.page
    wait_connected(page)
    wait_connected(ben_.page)

    sent = send_delivered(page, "Release at five")
    item = message(page, "Release at five")
    expect(message(ben_.page, "Release at five")).to_be_visible()  # Ben reads it
    assert read_up_to(backend, room, ben) == int(sent)
    expect(item.locator(".seen-by")).to_have_count(0)  # rooms: asked, not shown

    message_action(item, "seen-by-button").click()
    readers = item.locator(".readers")
    expect(readers).to_contain_text("Seen by 1")
    expect(readers.locator("li")).to_have_text([ben])
    page.screenshot(path=str(SCREENSHOTS / "receipts-room.png"))
    message_action(item, "seen-by-button").click()
    expect(readers).to_have_count(0)
