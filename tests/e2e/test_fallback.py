"""Where WebSockets are refused, the app falls back to long-polling by itself
(static/chat/transport/fallback.js), everything works as on a socket, and it
moves back when WebSockets get through again."""

import re
import time

from playwright.sync_api import Page, WebSocket, WebSocketRoute, expect

from .conftest import PHONE, SCREENSHOTS
from .helpers import (
    BLANK,
    assert_no_duplicates,
    bodies,
    has_class,
    horizontal_overflow,
    message,
    message_by_id,
    send_delivered,
    wait_connected,
)


class WebSocketGate:
    """The page's WebSocket handshakes refused while `refusing` (closed with
    1006, never open, as when a proxy strips Upgrade), let through otherwise."""

    def __init__(self, page: Page) -> None:
        self.refusing = True
        self.refused = 0
        self.passed = 0
        page.route_web_socket(re.compile(r"/ws/chat/"), self.route)

    def route(self, ws: WebSocketRoute) -> None:
        if self.refusing:
            self.refused += 1
            ws.close(code=1006, reason="refused")
        else:
            self.passed += 1
            ws.connect_to_server()


def indicator(page: Page):
    return page.locator("#transport-indicator")


def sockets_of(page: Page) -> list[WebSocket]:
    """The WebSockets the page opens from now on."""
    opened: list[WebSocket] = []
    page.on("websocket", lambda ws: opened.append(ws))
    return opened


def _both_online(ana, ben) -> None:
    for me, other in ((ana, ben), (ben, ana)):
        wait_connected(me.page)
        expect(
            me.page.locator(f"#people li.person[data-user='{other.username}']")
        ).to_have_count(1)


def test_transport_poll_in_the_url_forces_long_polling(open_as, backend):
    a, b = backend.users("ana", "ben")
    room = backend.room(a, backend.unique("forced"), members=(b,))
    ana = open_as(a, f"/rooms/{room}/")
    ben = open_as(b, None)
    sockets = sockets_of(ben.page)
    ben.goto(f"/rooms/{room}/?transport=poll&probe=1")
    _both_online(ana, ben)
    expect(indicator(ben.page)).to_be_visible()
    expect(indicator(ben.page)).to_have_text("Long-polling")
    expect(indicator(ben.page)).to_have_attribute("data-transport", "longpoll")
    expect(indicator(ana.page)).to_be_hidden()

    send_delivered(ben.page, "polled hello")
    expect(message(ana.page, "polled hello")).to_have_count(1)
    send_delivered(ana.page, "socket hello")
    expect(message(ben.page, "socket hello")).to_have_count(1)
    # Forced: no WebSocket is tried, not even by a probe.
    ben.page.wait_for_timeout(2500)
    assert sockets == []
    expect(indicator(ben.page)).to_be_visible()


def test_one_on_websocket_one_on_polling_chat_type_dm_edit_and_delete(open_as, backend):
    a, b = backend.users("ana", "ben")
    room = backend.room(a, backend.unique("mixed"), members=(b,))
    ana = open_as(a, f"/rooms/{room}/")
    ben = open_as(b, None)
    gate = WebSocketGate(ben.page)
    ben.goto(f"/rooms/{room}/")
    expect(indicator(ben.page)).to_be_visible()
    _both_online(ana, ben)
    expect(indicator(ana.page)).to_be_hidden()
    assert gate.refused >= 1 and gate.passed == 0
    expect(ana.page.locator(f"#members li[data-user='{b}']")).to_have_count(1)
    expect(ben.page.locator(f"#members li[data-user='{a}']")).to_have_count(1)

    # Typing and sending, both ways.
    for me, other in ((ana, ben), (ben, ana)):
        text = f"{me.username} types here"
        me.page.locator("#message-input").press_sequentially(text, delay=15)
        expect(other.page.locator("#typing")).to_have_text(f"{me.username} is typing…")
        me.page.locator("#message-input").press("Enter")
        seen = message(other.page, text)
        expect(seen).to_have_attribute("data-author", me.username)
        expect(other.page.locator("#typing")).to_have_text(BLANK)
        mine = message(me.page, text)
        expect(mine).to_have_attribute("data-state", "delivered")
        expect(mine).to_have_attribute("data-id", seen.get_attribute("data-id") or "-")

    # Edits and deletions, each by one and seen live by the other.
    for me, other in ((ben, ana), (ana, ben)):
        message_id = send_delivered(me.page, f"{me.username} teh typo")
        mine = message_by_id(me.page, message_id)
        theirs = message_by_id(other.page, message_id)
        expect(theirs.locator(".body")).to_have_text(f"{me.username} teh typo")
        mine.hover()
        mine.locator("button.edit").click()
        mine.locator("textarea.edit-input").fill(f"{me.username} fixed")
        mine.locator("textarea.edit-input").press("Enter")
        expect(theirs.locator(".body")).to_have_text(f"{me.username} fixed")
        expect(theirs).to_have_class(has_class("edited"))
        mine.hover()
        delete = mine.locator("button.delete")
        delete.click()  # asks first: nothing deleted yet
        expect(delete).to_have_text("Delete for everyone?")
        expect(theirs).not_to_have_class(has_class("deleted"))
        delete.click()
        expect(theirs).to_have_class(has_class("deleted"))
        expect(mine).to_have_class(has_class("deleted"))

    # Direct messages, both ways: Ana starts one from "Online now"; Ben opens it
    # from his sidebar (the app navigates without reloading: still polling).
    ana.page.locator(f"#people li.person[data-user='{b}'] a").click()
    expect(ana.page).to_have_url(re.compile(rf"/dm/{b}/$"))
    send_delivered(ana.page, "psst, on the side")
    item = ben.page.locator(f"#dm-list li.dm-item[data-user='{a}']")
    expect(item.locator(".badge")).to_have_text("1")
    item.locator("a").click()
    expect(message(ben.page, "psst, on the side")).to_be_visible()
    send_delivered(ben.page, "heard you")
    expect(message(ana.page, "heard you")).to_have_attribute("data-author", b)
    expect(indicator(ben.page)).to_be_visible()
    assert gate.passed == 0
    assert_no_duplicates(ana.page)
    assert_no_duplicates(ben.page)

    # Ben closes his tab: his session ends with it (not at the server's idle
    # limit), and Ana sees him go.
    ben.page.close(run_before_unload=True)
    expect(ana.page.locator(f"#people li.person[data-user='{b}']")).to_have_count(0)


def test_a_refused_websocket_falls_back_and_moves_back_when_it_passes(open_as, backend):
    a, b = backend.users("ana", "ben")
    room = backend.room(a, backend.unique("probe"), members=(b,))
    ana = open_as(a, f"/rooms/{room}/")
    ben = open_as(b, None)
    gate = WebSocketGate(ben.page)
    started = time.monotonic()
    ben.goto(f"/rooms/{room}/?probe=1")
    expect(indicator(ben.page)).to_be_visible(timeout=5000)
    _both_online(ana, ben)
    assert time.monotonic() - started < 6, "the fallback took too long"
    expect(indicator(ben.page)).to_have_attribute("title", re.compile("long-polling"))
    send_delivered(ben.page, "said on the fallback")
    send_delivered(ana.page, "heard on the fallback")
    expect(message(ben.page, "heard on the fallback")).to_have_count(1)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    ben.page.screenshot(path=str(SCREENSHOTS / "room-desktop-light-fallback.png"))

    # Probes are refused too, and it stays on the fallback meanwhile.
    refused = gate.refused
    ben.page.wait_for_timeout(2500)
    assert gate.refused > refused, "no probe"
    expect(indicator(ben.page)).to_be_visible()

    # WebSockets get through again while Ana keeps talking: the next probe moves
    # Ben back, and he misses nothing and sees nothing twice.
    gate.refusing = False
    sent = []
    for i in range(1, 7):
        sent.append(f"during the move {i}")
        send_delivered(ana.page, sent[-1])
        ana.page.wait_for_timeout(250)
    expect(indicator(ben.page)).to_be_hidden(timeout=5000)
    assert gate.passed >= 1
    wait_connected(ben.page)
    send_delivered(ben.page, "back on a socket")
    expect(message(ana.page, "back on a socket")).to_have_count(1)
    send_delivered(ana.page, "after the move")
    expected = [
        "said on the fallback",
        "heard on the fallback",
        *sent,
        "back on a socket",
        "after the move",
    ]
    expect(message(ben.page, "after the move")).to_have_count(1)
    assert bodies(ben.page) == expected
    ids = assert_no_duplicates(ben.page)
    assert ids == sorted(ids, key=int)


def test_on_the_fallback_a_restarted_server_is_caught_up_with(open_as, backend, server):
    a, b = backend.users("ana", "ben")
    room = backend.room(a, backend.unique("pollrestart"), members=(b,))
    ana = open_as(a, f"/rooms/{room}/")
    ben = open_as(b, f"/rooms/{room}/?transport=poll")
    _both_online(ana, ben)
    send_delivered(ana.page, "before the restart")
    expect(message(ben.page, "before the restart")).to_have_count(1)

    server.stop()
    banner = ben.page.locator("#connection-banner")
    expect(banner).to_have_text(re.compile("Reconnecting…"))
    backend.messages(room, [(a, f"while down {i}") for i in range(1, 4)])
    server.start()

    # His polls failed while it was down: he opens a new session and resyncs.
    expect(banner).to_be_hidden()
    expected = ["before the restart", *(f"while down {i}" for i in range(1, 4))]
    expect(message(ben.page, "while down 3")).to_have_count(1)
    send_delivered(ben.page, "back on the fallback")
    expect(message(ana.page, "back on the fallback")).to_have_count(1)
    assert bodies(ben.page) == [*expected, "back on the fallback"]
    assert_no_duplicates(ben.page)
    expect(indicator(ben.page)).to_be_visible()


def test_on_the_fallback_logged_out_elsewhere_goes_to_login(open_as, backend, server):
    (b,) = backend.users("ben")
    room = backend.room(b, backend.unique("pollauth"))
    ben = open_as(b, f"/rooms/{room}/?transport=poll")
    wait_connected(ben.page)

    other = ben.context.new_page()
    other.goto(server.url + "/rooms/")
    other.locator("form#logout-form [type=submit]").click()
    expect(other).to_have_url(re.compile(r"/accounts/login/"))
    other.close()

    # Its session ends with 4401 (410 to the waiting poll, or 401 to a new one).
    expect(ben.page).to_have_url(re.compile(r"/accounts/login/"))


# A WebSocket that never opens nor fails, as behind a proxy that holds the
# Upgrade request: installed before the page's scripts.
HANGING_WEBSOCKET = """
window.WebSocket = class {
  static CONNECTING = 0;
  static OPEN = 1;
  static CLOSING = 2;
  static CLOSED = 3;
  constructor(url) { this.url = url; this.readyState = 0; }
  addEventListener() {}
  send() { throw new Error("not open"); }
  close() { this.readyState = 3; }
};
"""


def test_a_websocket_that_never_opens_gives_way_after_three_seconds(open_as, backend):
    (b,) = backend.users("ben")
    room = backend.room(b, backend.unique("hang"))
    ben = open_as(b, None, viewport=PHONE)
    ben.page.add_init_script(HANGING_WEBSOCKET)
    started = time.monotonic()
    ben.goto(f"/rooms/{room}/")
    expect(indicator(ben.page)).to_be_visible(timeout=8000)
    elapsed = time.monotonic() - started
    assert 2.5 < elapsed < 7, elapsed
    wait_connected(ben.page)
    send_delivered(ben.page, "through the fallback")
    # The note fits the phone's top bar.
    assert horizontal_overflow(ben.page) <= 0
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    ben.page.screenshot(path=str(SCREENSHOTS / "room-phone-light-fallback.png"))
