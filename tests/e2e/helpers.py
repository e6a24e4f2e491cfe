"""What a user does and sees on the app page, by the DOM contract
(docs/UI-CONTRACT.md)."""

import re

from playwright.sync_api import Locator, Page, expect

NOT_EMPTY = re.compile(r"\S")
BLANK = re.compile(r"^\s*$")
NUMBER = re.compile(r"^\d+$")


def has_class(name: str) -> re.Pattern:
    return re.compile(rf"(^|\s){re.escape(name)}(\s|$)")


def messages(page: Page) -> Locator:
    return page.locator("#messages li.message")


def message(page: Page, text: str) -> Locator:
    """The message whose text contains `text` (tests use unique texts)."""
    return messages(page).filter(has_text=text)


def message_by_id(page: Page, message_id: str) -> Locator:
    return page.locator(f"#messages li.message[data-id='{message_id}']")


def send(page: Page, text: str) -> Locator:
    """Type into the composer and press Enter; the (own) message element."""
    box = page.locator("#message-input")
    box.fill(text)
    box.press("Enter")
    return message(page, text)


def send_delivered(page: Page, text: str) -> str:
    """Send and wait for the ack; the message's id."""
    mine = send(page, text)
    expect(mine).to_have_attribute("data-state", "delivered")
    expect(mine).to_have_attribute("data-id", NUMBER)
    return mine.get_attribute("data-id") or ""


def message_ids(page: Page) -> list[str]:
    return page.eval_on_selector_all(
        "#messages li.message", "els => els.map(e => e.dataset.id || '')"
    )


def bodies(page: Page) -> list[str]:
    return page.eval_on_selector_all(
        "#messages li.message .body", "els => els.map(e => e.textContent.trim())"
    )


def assert_no_duplicates(page: Page) -> list[str]:
    ids = [i for i in message_ids(page) if i]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    assert not duplicates, f"message ids shown twice: {duplicates}"
    return ids


def wait_connected(page: Page) -> None:
    """The app has its socket: the banner is hidden and I am listed online."""
    expect(page.locator("#connection-banner")).to_be_hidden()
    me = page.locator("#app").get_attribute("data-me")
    expect(page.locator(f"#people li.person[data-user='{me}']")).to_have_count(1)


def horizontal_overflow(page: Page) -> int:
    """How far the page is wider than the viewport, in CSS pixels."""
    return page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
