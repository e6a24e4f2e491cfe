"""Group conversations in the browser: started from the sidebar's "New message",
seen live by everyone in it, kept across a reload, left from the header."""

import re

from playwright.sync_api import Page, expect

from .conftest import PHONE, SCREENSHOTS
from .helpers import has_class, message, send_delivered

GROUP_URL = re.compile(r"/rooms/group%3A[0-9a-f]{40}/$")


def group_item(page: Page, *others: str):
    return page.locator(
        f"#dm-list li.group-item[data-members='{','.join(sorted(others))}']"
    )


def test_a_group_conversation_of_three(open_as, backend):
    a, b, c = backend.users("ana", "ben", "cara")
    ben = open_as(b, "/")
    cara = open_as(c, "/")
    ana = open_as(a, "/")
    page = ana.page

    # Ana starts it from the sidebar (naming herself too is forgiven).
    page.click("#new-message")
    page.fill("#new-group-to", f"{c}, {b}, {a}")
    page.press("#new-group-to", "Enter")
    expect(page).to_have_url(re.compile(r"/dm/\?to="))
    conversation = page.locator("#conversation")
    expect(conversation).to_have_attribute("data-group", ",".join(sorted((b, c))))
    expect(page.locator("#room-title")).to_have_text(", ".join(sorted((b, c))))
    expect(page.locator("#add-people")).to_be_visible()
    expect(group_item(page, b, c)).to_have_class(has_class("active"))

    send_delivered(page, "Lunch at noon?")
    expect(page).to_have_url(GROUP_URL)
    room = conversation.get_attribute("data-room") or ""
    assert room.startswith("group:"), room
    expect(page.locator("#leave-conversation")).to_be_visible()
    expect(page.locator("#room-list li")).to_have_count(0)  # not a room

    # Both others see it appear live, named by the other two, unread.
    for actor, others in ((ben, (a, c)), (cara, (a, b))):
        item = group_item(actor.page, *others)
        expect(item.locator(".label")).to_have_text(", ".join(sorted(others)))
        expect(item.locator(".badge")).to_have_text("1")
        expect(item).to_have_class(has_class("unread"))

    # Cara opens it and answers; Ana sees the reply at once, Ben as unread.
    group_item(cara.page, a, b).locator("a").click()
    expect(cara.page).to_have_url(GROUP_URL)
    expect(message(cara.page, "Lunch at noon?")).to_be_visible()
    expect(cara.page.locator("#room-title")).to_have_text(", ".join(sorted((a, b))))
    send_delivered(cara.page, "Noon works for me")
    expect(message(page, "Noon works for me")).to_have_attribute("data-author", c)
    expect(group_item(ben.page, a, c).locator(".badge")).to_have_text("2")

    # A reload keeps it: in the sidebar, and open at its address.
    ben.page.reload()
    item = group_item(ben.page, a, c)
    expect(item.locator(".badge")).to_have_text("2")
    item.locator("a").click()
    expect(message(ben.page, "Noon works for me")).to_be_visible()
    expect(message(ben.page, "Lunch at noon?")).to_be_visible()
    page.reload()
    expect(message(page, "Noon works for me")).to_be_visible()
    expect(page.locator("#room-title")).to_have_text(", ".join(sorted((b, c))))
    send_delivered(ben.page, "See you there 🍜")
    expect(message(page, "See you there")).to_be_visible()

    # The screenshots: Ana on a desktop, Cara on a phone in the dark.
    phone = open_as(c, f"/rooms/{room}/", viewport=PHONE, color_scheme="dark").page
    expect(message(phone, "See you there")).to_be_visible()
    expect(phone.locator("#message-input")).to_be_in_viewport()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.mouse.move(0, 799)
    page.screenshot(path=str(SCREENSHOTS / "group-dm-light.png"))
    phone.screenshot(path=str(SCREENSHOTS / "group-dm-dark-phone.png"))

    # Ben leaves: gone from his sidebar; the others see two of them left.
    ben.page.click("#leave-conversation")
    expect(ben.page).to_have_url(re.compile(r"/$"))
    expect(ben.page.locator("#dm-list li.group-item")).to_have_count(0)
    expect(group_item(page, c)).to_have_count(1)
    expect(page.locator("#room-title")).to_have_text(c)
    send_delivered(page, "Just us then")
    expect(message(cara.page, "Just us then")).to_be_visible()
    ben.page.reload()
    expect(ben.page.locator("#dm-list li.group-item")).to_have_count(0)


def test_a_bad_name_is_a_clear_error(open_as, backend):
    (a,) = backend.users("ana")
    ana = open_as(a, "/dm/?to=nobody-at-all,someone-else")
    expect(ana.page.locator("body")).to_contain_text("No user named 'nobody-at-all'.")
