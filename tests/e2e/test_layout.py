"""The room view on a phone and a desktop, light and dark; the screenshots in
docs/screenshots/ come from here."""

from playwright.sync_api import Page, expect

from .conftest import DESKTOP, PHONE, SCREENSHOTS
from .helpers import BLANK, horizontal_overflow, message, messages, send_delivered

LONG_WORD = "supercalifragilistic" * 12


def _no_horizontal_scroll(page: Page, width: int) -> None:
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"the page is {scroll_width} px wide at {width} px"
    assert horizontal_overflow(page) <= 0
    assert page.locator("#messages").evaluate(
        "el => el.scrollWidth <= el.clientWidth + 1"
    ), "the message list scrolls sideways"


def test_phone_layout(open_as, backend):
    a, b = backend.users("ana", "ben")
    room = backend.room(a, backend.unique("phone"), topic="Small screens", members=(b,))
    backend.messages(
        room, [(b, "a normal message"), (b, f"an unbroken word: {LONG_WORD}")]
    )
    ana = open_as(a, f"/rooms/{room}/", viewport=PHONE)
    page = ana.page
    expect(message(page, "an unbroken word")).to_be_visible()
    _no_horizontal_scroll(page, PHONE["width"])

    composer = page.locator("#message-input")
    expect(composer).to_be_visible()
    expect(composer).to_be_in_viewport()
    box = composer.bounding_box()
    assert box is not None and box["width"] >= PHONE["width"] * 0.5, box
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box

    composer.tap()
    send_delivered(page, "sent from a phone")
    expect(message(page, "sent from a phone")).to_be_in_viewport()
    _no_horizontal_scroll(page, PHONE["width"])


def test_screenshots(open_as, backend):
    """docs/screenshots/room-{desktop,phone}-{light,dark}.png, of a room with a
    day separator, two people and a typing indicator."""
    ana_name, ben_name = backend.users("ana", "ben", exact=True)
    room = backend.room(
        ana_name,
        "design",
        topic="Pixels, type and colour: the new look",
        members=(ben_name,),
    )
    backend.messages(
        room,
        [
            (ana_name, "Morning! Did yesterday's build go out?"),
            (ben_name, "It did, deployed at 9. Smoke tests are green."),
            (ana_name, "Great, thanks!"),
        ],
        days_ago=1,
    )
    backend.messages(
        room,
        [
            (ben_name, "Can you review the sidebar change? https://example.com/pr/42"),
            (ana_name, "On it. The unread badges look much better."),
            (
                ben_name,
                "Dark mode too: the contrast is fixed, and the phone layout no "
                "longer scrolls sideways.",
            ),
        ],
    )
    ben = open_as(ben_name, f"/rooms/{room}/")
    views = {}
    for device, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        for scheme in ("light", "dark"):
            page = open_as(
                ana_name, f"/rooms/{room}/", viewport=viewport, color_scheme=scheme
            ).page
            expect(messages(page)).to_have_count(6)
            separators = page.locator("#messages li.day-separator")
            expect(separators).to_have_count(2)
            expect(separators.first).to_have_text("Yesterday")
            expect(separators.last).to_have_text("Today")
            expect(page.locator(f"#members li[data-user='{ben_name}']")).to_have_count(
                1
            )
            expect(page.locator("#message-input")).to_be_in_viewport()
            if device == "phone":
                _no_horizontal_scroll(page, viewport["width"])
            page.mouse.move(0, viewport["height"] - 1)
            views[f"room-{device}-{scheme}.png"] = page

    # Ben starts typing; every view shows it, and is photographed.
    typing = ben.page.locator("#message-input")
    typing.press_sequentially("I'll", delay=10)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for name, page in views.items():
        typing.press_sequentially(" ", delay=0)  # still typing
        expect(page.locator("#typing")).to_have_text(f"{ben_name} is typing…")
        page.screenshot(path=str(SCREENSHOTS / name))
    # A real send, and every view has it.
    typing.fill("")
    send_delivered(ben.page, "Looks good on my phone too.")
    for page in views.values():
        expect(message(page, "Looks good on my phone too.")).to_be_visible()
        expect(page.locator("#typing")).to_have_text(BLANK)


def test_the_first_tab_leads_to_the_message_box(open_as, backend):
    """A keyboard user gets past the sidebar's rooms and people in one step: the
    first Tab stop is a skip link to the message box (it was 30 Tabs away)."""
    a, b = backend.users("ana", "ben")
    room = backend.room(a, backend.unique("keys"), members=(b,))
    backend.messages(room, [(b, f"message {i}") for i in range(5)])
    page = open_as(a, f"/rooms/{room}/").page
    expect(message(page, "message 4")).to_be_visible()
    page.keyboard.press("Tab")
    skip = page.locator("a.skip-link")
    expect(skip).to_be_focused()
    expect(skip).to_be_visible()
    page.keyboard.press("Enter")
    expect(page.locator("#message-input")).to_be_focused()
    # The conversation is the page's main landmark; the menu button has a name.
    expect(page.get_by_role("main")).to_have_attribute("id", "conversation")
    expect(page.locator("#sidebar-toggle")).to_have_attribute(
        "aria-label", "Rooms and people"
    )
