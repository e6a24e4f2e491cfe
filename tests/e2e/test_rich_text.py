"""Rich text: a message's Markdown shown as the server rendered it (`.body.rich`),
markup in it shown as text, the text as typed while it is on its way, edits
rendered again; the composer's :shortcode: emoji; and the screenshots."""

import json
import re

from playwright.sync_api import Locator, Page, WebSocketRoute, expect

from .conftest import PHONE
from .helpers import (
    assert_no_sideways_scroll,
    every_look,
    has_class,
    last_sent,
    message,
    message_by_id,
    named_users,
    press,
    screenshot,
    send_delivered,
    type_lines,
    wait_connected,
)

INLINE = "**bold** _it_ ~~gone~~ `code` and https://example.com"
FENCE = ("```python", "for i in range(3):", "    print(i)", "```")
QUOTE_AND_LIST = ("> Ship it on Friday?", "- tests pass", "- docs updated")
MARKUP = "<img src=x onerror=alert(1)> <script>alert(2)</script>"


def _both_here(ana, ben) -> None:
    for me, other in ((ana, ben), (ben, ana)):
        wait_connected(me.page)
        expect(
            me.page.locator(f"#members li[data-user='{other.username}']")
        ).to_have_count(1)


def _send_lines(page: Page, *lines: str) -> str:
    """Type `lines` (Shift+Enter between them), send, wait for the ack; the id."""
    type_lines(page, *lines).press("Enter")
    mine = last_sent(page)
    expect(mine).to_have_attribute("data-state", "delivered")
    return mine.get_attribute("data-id") or ""


def _rich_body(page: Page, message_id: str) -> Locator:
    body = message_by_id(page, message_id).locator(".body")
    expect(body).to_have_class(has_class("rich"))
    return body


def test_markdown_is_shown_rich(open_as, backend):
    a, b = backend.users("ana", "ben")
    room = backend.room(a, backend.unique("rich"), members=(b,))
    ana = open_as(a, f"/rooms/{room}/")
    ben = open_as(b, f"/rooms/{room}/", viewport=PHONE, color_scheme="dark")
    _both_here(ana, ben)

    inline = _send_lines(ana.page, INLINE)
    fence = _send_lines(ana.page, *FENCE)
    quote = _send_lines(ana.page, *QUOTE_AND_LIST)
    # The composer sent the lines as typed: Shift+Enter made new lines.
    stored = backend.run(
        "from chat.models import Message\n"
        "result = Message.objects.get(pk=data['id']).body\n",
        id=int(fence),
    )
    assert stored == "\n".join(FENCE)

    for actor in (ben, ana):
        page = actor.page
        body = _rich_body(page, inline)
        expect(body.locator("strong")).to_have_text("bold")
        expect(body.locator("em")).to_have_text("it")
        expect(body.locator("code")).to_have_text("code")
        expect(body).to_have_text("bold it gone code and https://example.com")
        link = body.locator("a")
        expect(link).to_have_count(1)
        expect(link).to_have_attribute("href", "https://example.com")
        expect(link).to_have_text("https://example.com")
        expect(link).to_have_attribute("target", "_blank")
        rel = (link.get_attribute("rel") or "").split()
        assert {"noopener", "noreferrer", "nofollow"} <= set(rel), rel
        # No Markdown left over as text.
        expect(body).not_to_contain_text("**")
        expect(body).not_to_contain_text("`")

        body = _rich_body(page, fence)
        code = body.locator("pre > code")
        expect(code).to_have_count(1)
        expect(code).to_have_class(has_class("language-python"))
        assert code.text_content() == "for i in range(3):\n    print(i)\n"
        expect(body).not_to_contain_text("```")

        body = _rich_body(page, quote)
        expect(body.locator("blockquote")).to_have_text("Ship it on Friday?")
        items = body.locator("ul > li")
        expect(items).to_have_count(2)
        expect(items.first).to_have_text("tests pass")
        expect(items.last).to_have_text("docs updated")
        expect(body).not_to_contain_text(">")

    # The phone shows the code block inside the screen (it scrolls by itself).
    assert_no_sideways_scroll(ben.page)
    # A reload renders the history the same way.
    ben.page.reload()
    expect(_rich_body(ben.page, inline).locator("strong")).to_have_text("bold")
    expect(_rich_body(ben.page, fence).locator("pre > code")).to_have_count(1)
    expect(_rich_body(ben.page, quote).locator("ul > li")).to_have_count(2)


def test_strikethrough_is_a_del_element(open_as, backend):
    """docs/UI-CONTRACT.md and docs/PROTOCOL.md: ~~text~~ is a `del`."""
    a, b = backend.users("ana", "ben")
    room = backend.room(a, backend.unique("strike"), members=(b,))
    ana = open_as(a, f"/rooms/{room}/")
    ben = open_as(b, f"/rooms/{room}/")
    _both_here(ana, ben)
    message_id = _send_lines(ana.page, "plans: ~~Friday~~ Saturday")
    body = _rich_body(ben.page, message_id)
    expect(body).to_have_text("plans: Friday Saturday")
    expect(body.locator("del")).to_have_text("Friday")


def test_markup_in_a_message_is_text(open_as, backend):
    a, b = backend.users("ana", "ben")
    room = backend.room(a, backend.unique("markup"), members=(b,))
    ana = open_as(a, f"/rooms/{room}/", color_scheme="dark")
    ben = open_as(b, f"/rooms/{room}/")
    _both_here(ana, ben)
    markup = send_delivered(ana.page, MARKUP)
    js_link = _send_lines(ana.page, "[click me](javascript:alert(3)) please")
    for actor in (ben, ana):
        page = actor.page
        expect(_rich_body(page, markup)).to_have_text(MARKUP)
        expect(page.locator("#messages img")).to_have_count(0)
        expect(page.locator("#messages script")).to_have_count(0)
        body = _rich_body(page, js_link)
        expect(body.locator("a")).to_have_count(0)
        expect(body).to_contain_text("click me")
    ben.page.reload()
    expect(_rich_body(ben.page, markup)).to_have_text(MARKUP)
    expect(ben.page.locator("#messages img, #messages script")).to_have_count(0)
    ben.page.wait_for_timeout(300)  # an onerror would have fired by now
    assert ana.dialogs == [] and ben.dialogs == []


class HeldSends:
    """The page's send_message frames kept back until release(), the rest of
    its socket's traffic passed through: its message stays "sending"."""

    def __init__(self, page: Page) -> None:
        self.holding = True
        self.held: list[str] = []
        self.upstream: WebSocketRoute | None = None
        page.route_web_socket(re.compile(r"/ws/chat/"), self.route)

    def route(self, ws: WebSocketRoute) -> None:
        upstream = ws.connect_to_server()
        self.upstream = upstream

        def from_page(text: str | bytes) -> None:
            if self.holding and json.loads(text).get("event") == "send_message":
                self.held.append(str(text))
            else:
                upstream.send(text)

        ws.on_message(from_page)
        upstream.on_message(lambda text: ws.send(text))

    def wait_held(self, page: Page, count: int = 1) -> None:
        for _ in range(100):
            if len(self.held) >= count:
                return
            page.wait_for_timeout(50)
        raise AssertionError(f"{len(self.held)} send_message held, not {count}")

    def release(self) -> None:
        self.holding = False
        assert self.upstream is not None
        for text in self.held:
            self.upstream.send(text)
        self.held.clear()


def test_text_as_typed_while_sending_then_rich_and_edits_rich(open_as, backend):
    a, b = backend.users("ana", "ben")
    room = backend.room(a, backend.unique("sending"), members=(b,))
    ana = open_as(a, None, viewport=PHONE)
    sends = HeldSends(ana.page)
    ana.goto(f"/rooms/{room}/")
    ben = open_as(b, f"/rooms/{room}/", color_scheme="dark")
    _both_here(ana, ben)

    box = ana.page.locator("#message-input")
    box.fill("**held** back")
    box.press("Enter")
    mine = message(ana.page, "held")
    expect(mine).to_have_attribute("data-state", "sending")
    expect(mine.locator(".body")).to_have_text("**held** back")
    expect(mine.locator(".body")).not_to_have_class(has_class("rich"))
    expect(mine.locator(".body strong")).to_have_count(0)
    sends.wait_held(ana.page)
    expect(message(ben.page, "held")).to_have_count(0)

    sends.release()
    expect(mine).to_have_attribute("data-state", "delivered")
    message_id = mine.get_attribute("data-id") or ""
    for page in (ana.page, ben.page):
        body = _rich_body(page, message_id)
        expect(body.locator("strong")).to_have_text("held")
        expect(body).to_have_text("held back")
    assert_no_sideways_scroll(ana.page)

    # An edit (on the phone: a tap shows the message's buttons) is rendered again.
    mine = message_by_id(ana.page, message_id)
    mine.locator(".body").tap()
    press(mine.locator("button.edit"))
    editor = mine.locator("textarea.edit-input")
    expect(editor).to_have_value("**held** back")
    editor.fill("*new*")
    editor.press("Enter")
    expect(editor).to_have_count(0)
    for page in (ana.page, ben.page):
        item = message_by_id(page, message_id)
        expect(item).to_have_class(has_class("edited"))
        body = _rich_body(page, message_id)
        expect(body.locator("em")).to_have_text("new")
        expect(body).to_have_text("new")
        expect(body.locator("strong")).to_have_count(0)
    ben.page.reload()
    expect(_rich_body(ben.page, message_id).locator("em")).to_have_text("new")


def test_composer_turns_a_shortcode_into_its_emoji(open_as, backend):
    a, b = backend.users("ana", "ben")
    room = backend.room(a, backend.unique("shortcode"), members=(b,))
    ana = open_as(a, f"/rooms/{room}/", viewport=PHONE, color_scheme="dark")
    ben = open_as(b, f"/rooms/{room}/")
    _both_here(ana, ben)

    box = ana.page.locator("#message-input")
    box.tap()
    box.press_sequentially("hi :tada", delay=20)
    expect(box).to_have_value("hi :tada")  # not closed yet
    box.press_sequentially(":", delay=20)
    expect(box).to_have_value("hi 🎉")
    # The caret is after the emoji: typing goes on from there.
    box.press_sequentially(" at 10:30 :nope_not_an_emoji: ok :+1:", delay=10)
    expect(box).to_have_value("hi 🎉 at 10:30 :nope_not_an_emoji: ok 👍")
    box.press("Enter")
    expect(box).to_have_value("")
    text = "hi 🎉 at 10:30 :nope_not_an_emoji: ok 👍"
    theirs = message(ben.page, "hi 🎉")
    expect(theirs).to_have_count(1)
    expect(theirs.locator(".body")).to_have_text(text)
    mine = message(ana.page, "hi 🎉")
    expect(mine).to_have_attribute("data-state", "delivered")
    expect(mine.locator(".body")).to_have_text(text)


def test_composer_leaves_shortcodes_in_code_as_typed(open_as, backend):
    """emoji.js replaceShortcodes: "anything inside `code` or ```code blocks```
    stays as written", as typed too: the code span is not closed yet when the
    shortcode's colon is typed."""
    (a,) = backend.users("ana")
    room = backend.room(a, backend.unique("codecolon"))
    ana = open_as(a, f"/rooms/{room}/")
    wait_connected(ana.page)
    # The emoji index is loaded (on the first colon typed) and in use.
    box = type_lines(ana.page, "warm :fire:")
    expect(box).to_have_value("warm 🔥")
    box = type_lines(ana.page, "type `:tada:` for a party")
    expect(box).to_have_value("type `:tada:` for a party")
    box = type_lines(ana.page, "```", "party = ':tada:'", "```")
    expect(box).to_have_value("```\nparty = ':tada:'\n```")


def test_rich_text_screenshots(open_as, backend):
    """docs/screenshots/rich-text-{light,dark}[-phone].png: a room with a message
    of every kind of rich text."""
    ana, ben = named_users(backend, "maya", "leo")
    room = backend.room(ana, "releases", topic="Shipping 2.4", members=(ben,))
    backend.messages(
        room,
        [
            (ana, "Release notes are up: https://example.com/releases/2.4"),
            (
                ben,
                "Thanks! Two things:\n- the **migration** is _not_ optional\n"
                "- run `manage.py migrate` ~~after~~ before the deploy",
            ),
            (
                ana,
                "> Does the new config need a restart?\n\n"
                "Yes, once. The snippet:\n"
                "```python\nCHAT_RATE_MESSAGES_PER_SECOND = 5  "
                "# per user, across every worker\nCHAT_RATE_MESSAGES_BURST = 10\n```",
            ),
            (ben, "1. deploy\n2. migrate\n3. **celebrate** 🎉"),
        ],
    )
    for page, look in every_look(open_as, ana, f"/rooms/{room}/"):
        expect(page.locator("#messages .body.rich")).to_have_count(4)
        expect(page.locator("#messages .body.rich pre code")).to_have_count(1)
        expect(page.locator("#messages .body.rich ol > li")).to_have_count(3)
        assert_no_sideways_scroll(page)
        screenshot(page, f"rich-text-{look}")
