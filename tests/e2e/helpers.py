"""What a user does and sees on the app page, by the DOM contract
(docs/UI-CONTRACT.md)."""

import re
from collections.abc import Iterator
from typing import Any

from playwright.sync_api import Locator, Page, expect

from ..servers import PASSWORD

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


# --- Reactions, the emoji picker, the composer, the network ------------------------


def on_phone(page: Page) -> bool:
    """Whether the page is on a phone-sized (touch) viewport."""
    return (page.viewport_size or {"width": 1280})["width"] < 600


def press(target: Locator) -> None:
    """A tap on a phone, a click elsewhere."""
    if on_phone(target.page):
        target.tap()
    else:
        target.click()


def reaction(item: Locator, emoji: str) -> Locator:
    """The pill of `emoji` under the message `item`."""
    return item.locator(f".reactions button.reaction[data-emoji='{emoji}']")


def emoji_picker(page: Page) -> Locator:
    return page.locator("[role=dialog]")


def message_action(item: Locator, name: str) -> Locator:
    """The message's `button.NAME` (react, reply-thread, save, pin, edit, ...),
    brought into view as a user would: a hover, or on a phone a tap on the
    message."""
    if on_phone(item.page):
        item.locator(".body").tap(position={"x": 2, "y": 2})
    else:
        item.hover()
    button = item.locator(f".actions button.{name}")
    expect(button).to_be_visible()
    return button


def react_button(item: Locator) -> Locator:
    """The message's React button, brought into view as a user would."""
    return message_action(item, "react")


def edit_message(item: Locator, text: str) -> None:
    """Edit my message `item` to `text` from its Edit button; Enter saves."""
    press(message_action(item, "edit"))
    editor = item.locator("textarea.edit-input")
    editor.fill(text)
    editor.press("Enter")
    expect(editor).to_have_count(0)


def open_emoji_picker(item: Locator) -> Locator:
    """The picker opened from the message's React button, its search focused."""
    press(react_button(item))
    picker = emoji_picker(item.page)
    expect(picker).to_be_visible()
    expect(picker.locator("input")).to_be_focused()
    return picker


def emoji_button(scope: Locator, name: str) -> Locator:
    """The picker's shown button for the emoji called `name` (titled `:name:`);
    the first, where it is in more than one section."""
    title = re.compile(rf"^:?{re.escape(name)}:?$")
    return scope.get_by_title(title).filter(visible=True).first


def type_lines(page: Page, *lines: str) -> Locator:
    """Type `lines` into the composer as a user does (Shift+Enter between them),
    without sending; the box."""
    box = page.locator("#message-input")
    box.fill("")
    for i, line in enumerate(lines):
        if i:
            box.press("Shift+Enter")
        box.press_sequentially(line)
    return box


def go_offline(page: Page) -> None:
    """The page's network is cut, and the page finds out. Chromium's offline mode
    stops an open socket's frames but does not close it, so the page sees a
    silent socket, which it gives up after 25 s without a frame and a ping
    unanswered for 10 s (static/chat/transport/websocket.js): its clock, installed
    before it loaded (page.clock.install()), is moved on past both."""
    page.context.set_offline(True)
    page.clock.fast_forward(26_000)  # silent for too long: a ping
    page.wait_for_timeout(200)
    page.clock.fast_forward(11_000)  # unanswered: the socket is given up
    expect(page.locator("#connection-banner")).to_be_visible()


def go_online(page: Page) -> None:
    """The network is back: the page reconnects at once (the `online` event),
    and resyncs."""
    page.context.set_offline(False)
    wait_connected(page)


def named_users(backend: Any, *names: str) -> list[str]:
    """Users called exactly `names` (for screenshots), made unless they exist."""
    backend.run(
        "from django.contrib.auth import get_user_model\n"
        "from django.contrib.auth.hashers import make_password\n"
        "hashed = make_password(data['password'])\n"
        "for name in data['names']:\n"
        "    get_user_model().objects.get_or_create(\n"
        "        username=name, defaults={'password': hashed}\n"
        "    )\n",
        names=list(names),
        password=PASSWORD,
    )
    return list(names)


def last_sent(page: Page) -> Locator:
    """My newest message (sending or sent), by its client id, which it keeps."""
    newest = page.locator("#messages li.message.mine").last
    expect(newest).to_have_attribute("data-client-id", re.compile(r"."))
    client_id = newest.get_attribute("data-client-id")
    return page.locator(f"#messages li.message[data-client-id='{client_id}']")


def assert_no_sideways_scroll(page: Page) -> None:
    """Neither the page nor the message list scrolls sideways."""
    assert horizontal_overflow(page) <= 0, "the page scrolls sideways"
    assert page.locator("#messages").evaluate(
        "el => el.scrollWidth <= el.clientWidth + 1"
    ), "the message list scrolls sideways"


def every_look(open_as: Any, username: str, path: str) -> Iterator[tuple[Page, str]]:
    """`username` at `path` on a desktop and a phone, light and dark, each
    connected: (page, its screenshot suffix: "light", "dark-phone", ...)."""
    from .conftest import DESKTOP, PHONE, SCREENSHOTS

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for device, viewport in (("", DESKTOP), ("-phone", PHONE)):
        for scheme in ("light", "dark"):
            page = open_as(username, path, viewport=viewport, color_scheme=scheme).page
            wait_connected(page)
            yield page, f"{scheme}{device}"


def screenshot(page: Page, name: str) -> None:
    """docs/screenshots/NAME.png (or test-artifacts', conftest.SCREENSHOTS), the
    pointer moved off the messages so that no hover shows."""
    from .conftest import SCREENSHOTS

    page.mouse.move(0, page.viewport_size["height"] - 1)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


# --- Threads ------------------------------------------------------------------------


def thread_pane(page: Page) -> Locator:
    return page.locator("#thread-pane")


def thread_replies(page: Page) -> Locator:
    """The replies shown in the thread pane (not its root), oldest first."""
    return page.locator("#thread-messages li.message:not(.thread-root)")


def open_thread(item: Locator) -> None:
    """ "Reply in thread" from the message's actions: the pane opens."""
    press(message_action(item, "reply-thread"))
    expect(thread_pane(item.page)).to_be_visible()


def reply_in_thread(page: Page, text: str, *, also_to_room: bool = False) -> Locator:
    """Type a reply into the open thread pane and press Enter; the reply, once
    delivered (found by its client id, which it keeps)."""
    box = page.locator("#thread-input")
    if also_to_room:
        page.locator("#thread-also").check()
    box.fill(text)
    box.press("Enter")
    newest = page.locator("#thread-messages li.message.mine").last
    expect(newest).to_have_attribute("data-client-id", re.compile(r"."))
    client_id = newest.get_attribute("data-client-id")
    sent = page.locator(f"#thread-messages li.message[data-client-id='{client_id}']")
    expect(sent).to_have_attribute("data-state", "delivered")
    expect(sent).to_have_attribute("data-id", NUMBER)
    return sent


# --- Attention: desktop notifications while the page is hidden ---------------------

# Before the app's scripts: the page's visibility ours to set (window.__setHidden),
# and every Notification the page raises recorded (window.__notifications), its
# onclick ours to call. The permission stays the browser's (granted by the test).
NOTIFICATION_SPY = """(() => {
  let hidden = false;
  Object.defineProperty(document, "visibilityState", {
    configurable: true, get: () => (hidden ? "hidden" : "visible"),
  });
  Object.defineProperty(document, "hidden", { configurable: true, get: () => hidden });
  window.__setHidden = (value) => {
    hidden = value;
    document.dispatchEvent(new Event("visibilitychange"));
  };
  const Real = window.Notification;
  const raised = (window.__notifications = []);
  class Spy {
    constructor(title, options = {}) {
      Object.assign(this, { title, body: options.body || "", tag: options.tag || "",
        closed: false, onclick: null, onclose: null });
      raised.push(this);
    }
    close() { this.closed = true; if (this.onclose) this.onclose(); }
    static get permission() { return Real ? Real.permission : "denied"; }
    static requestPermission(...args) { return Real.requestPermission(...args); }
  }
  window.Notification = Spy;
})();"""


def watch_notifications(actor: Any) -> None:
    """From the actor's next page load: notifications allowed for the site, each
    one raised recorded, and the page's visibility set by set_hidden()."""
    actor.context.grant_permissions(["notifications"], origin=actor.base_url)
    actor.context.add_init_script(NOTIFICATION_SPY)


def set_hidden(page: Page, hidden: bool) -> None:
    """The page hidden (another tab in front) or shown again, as it hears it."""
    page.evaluate("hidden => window.__setHidden(hidden)", hidden)


def raised_notifications(page: Page) -> list[dict[str, Any]]:
    """The notifications the page raised: title, body, tag, closed."""
    return page.evaluate(
        "window.__notifications.map(n => "
        "({title: n.title, body: n.body, tag: n.tag, closed: n.closed}))"
    )


def click_notification(page: Page, index: int) -> None:
    """A click on notification `index` (in the order raised)."""
    page.evaluate("i => window.__notifications[i].onclick()", index)
