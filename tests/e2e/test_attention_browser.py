"""Attention in the web client: a mention shown as a chip and counted in a
badge of its own (the title and the favicon too), a muted room that only counts
mentions, the composer's @-autocomplete, the Mentions view, desktop
notifications while the page is hidden; light and dark, desktop and phone."""

import re

from playwright.sync_api import Locator, Page, expect

from .helpers import (
    assert_no_sideways_scroll,
    click_notification,
    every_look,
    has_class,
    last_sent,
    message,
    messages,
    named_users,
    open_thread,
    raised_notifications,
    screenshot,
    send_delivered,
    set_hidden,
    thread_pane,
    wait_connected,
    watch_notifications,
)
from .test_threads_browser import _assert_contrast

PLAIN_ICON = re.compile(r"favicon\.svg")
BADGED_ICON = re.compile(r"^data:image/png")
COUNTED_TITLE = re.compile(r"^\(\d+\) ")


def _room_item(page: Page, room: str) -> Locator:
    return page.locator(f"#room-list li.room-item[data-room='{room}']")


def _favicon(page: Page) -> Locator:
    return page.locator("link[rel~='icon']")


def _options(page: Page, box: str = "mention-options") -> Locator:
    return page.locator(f"#{box} [role=option]")


def _store(backend, *posts: tuple) -> list[int]:
    """Posts (room, author, body[, index of an earlier post: a reply in its
    thread]) sent through the domain, mentions and all, in one transaction;
    their ids. One: the notification job each message starts (run by the
    server, on the same SQLite file) finds nothing to do until it commits, so
    the jobs' writes and these never wait on each other."""
    return backend.run(
        "from django.contrib.auth import get_user_model\n"
        "from django.db import transaction\n"
        "from chat.domain import services\n"
        "User = get_user_model()\n"
        "result = []\n"
        "with transaction.atomic():\n"
        "    for room, author, body, *thread in data['posts']:\n"
        "        fields = {'thread_id': result[thread[0]]} if thread else {}\n"
        "        sent = services.message_send(user=User.objects.get(username=author),"
        " room_name=room, body=body, **fields)\n"
        "        result.append(sent.message.id)\n",
        posts=[list(post) for post in posts],
    )


def _mute(backend, username: str, room: str) -> None:
    backend.run(
        "from chat.models import Membership\n"
        "Membership.objects.filter(user__username=data['user'],"
        " room__name=data['room']).update(muted=True)\n",
        user=username,
        room=room,
    )


def _say(page: Page, text: str) -> Locator:
    """Send `text` from the composer; my message, once delivered (found by its
    client id: its rendered text may differ from what was typed)."""
    box = page.locator("#message-input")
    box.fill(text)
    box.press("Enter")
    sent = last_sent(page)
    expect(sent).to_have_attribute("data-state", "delivered")
    return sent


def _wait_for_notifications(page: Page, count: int) -> list[dict]:
    page.wait_for_function(f"window.__notifications.length >= {count}")
    page.wait_for_timeout(500)  # a second one for the same message would be here by now
    return raised_notifications(page)


# --- Mentions: chips and badges ---------------------------------------------------


def test_a_mention_highlighted_and_counted(open_as, backend):
    a, b = backend.users("alice", "bob")
    busy = backend.room(b, backend.unique("busy"), members=(a,))
    quiet = backend.room(a, backend.unique("quiet"), members=(b,))
    alice = open_as(a, f"/rooms/{quiet}/")
    bob = open_as(b, f"/rooms/{busy}/")
    wait_connected(alice.page)
    wait_connected(bob.page)
    expect(_favicon(alice.page)).to_have_attribute("href", PLAIN_ICON)

    send_delivered(bob.page, "Morning all")
    _say(bob.page, f"Use `@{a}` in code, or ping @{a}: the build is red")

    # Alice, in another room: the unread count and, beside it, the mention badge.
    item = _room_item(alice.page, busy)
    expect(item.locator(".badge")).to_have_text("2")
    expect(item.locator(".mention-badge")).to_have_text("@1")
    expect(item).to_have_class(has_class("mentioned"))
    expect(alice.page.locator("#mentions-badge")).to_have_text("@1")
    expect(alice.page).to_have_title(re.compile(r"^\(2\) "))
    expect(_favicon(alice.page)).to_have_attribute("href", BADGED_ICON)

    # Bob sees the chip too, not highlighted as his.
    mine = message(bob.page, "the build is red")
    expect(mine.locator(".body span.mention")).to_have_count(1)
    expect(mine.locator(".body span.mention")).to_have_text(f"@{a}")
    expect(mine.locator(".body span.mention")).not_to_have_class(
        has_class("mention-me")
    )
    expect(mine).not_to_have_class(has_class("mentions-me"))

    # The counts come back with the page (list_rooms).
    alice.page.reload()
    wait_connected(alice.page)
    expect(item.locator(".mention-badge")).to_have_text("@1")
    expect(item.locator(".badge")).to_have_text("2")

    # She opens the room: the chip, her row marked, the code left as written;
    # the badges, the title's count and the favicon's dot clear.
    item.locator("a").click()
    seen = message(alice.page, "the build is red")
    expect(seen).to_have_class(has_class("mentions-me"))
    chips = seen.locator(".body span.mention")
    expect(chips).to_have_count(1)
    expect(chips).to_have_text(f"@{a}")
    expect(chips).to_have_class(has_class("mention-me"))
    expect(seen.locator(".body code")).to_have_text(f"@{a}")
    expect(message(alice.page, "Morning all")).not_to_have_class(
        has_class("mentions-me")
    )
    expect(item.locator(".mention-badge")).to_be_hidden()
    expect(item.locator(".badge")).to_be_hidden()
    expect(alice.page.locator("#mentions-badge")).to_be_hidden()
    expect(alice.page).not_to_have_title(COUNTED_TITLE)
    expect(_favicon(alice.page)).to_have_attribute("href", PLAIN_ICON)


def test_a_muted_room_counts_only_mentions(open_as, backend):
    """Bob writes in a room Alice muted: no bold, no unread count, no
    notification; his mention of her gets a badge and a notification."""
    a, b = backend.users("alice", "bob")
    muted = backend.room(b, backend.unique("noisy"), members=(a,))
    home = backend.room(a, backend.unique("home"), members=(b,))
    _mute(backend, a, muted)
    alice = open_as(a, None)
    watch_notifications(alice)
    alice.goto(f"/rooms/{home}/")
    bob = open_as(b, f"/rooms/{muted}/")
    wait_connected(alice.page)
    wait_connected(bob.page)
    item = _room_item(alice.page, muted)
    expect(item).to_have_class(has_class("room-muted"))
    set_hidden(alice.page, True)

    send_delivered(bob.page, "Chatter one")
    send_delivered(bob.page, "Chatter two")
    send_delivered(bob.page, f"@{a} this one is for you")
    expect(item.locator(".mention-badge")).to_have_text("@1")
    expect(item.locator(".badge")).to_be_hidden()
    expect(item).not_to_have_class(has_class("unread"))
    expect(alice.page).to_have_title(re.compile(r"^\(1\) "))
    raised = _wait_for_notifications(alice.page, 1)
    assert [n["body"] for n in raised] == [f"@{a} this one is for you"], raised


# --- The composer's autocomplete ----------------------------------------------------


def test_autocomplete_by_keyboard_and_mouse(open_as, backend):
    a, b, c = backend.users("alice", "bo", "bonnie")
    room = backend.room(a, backend.unique("plans"), members=(b, c))
    alice = open_as(a, f"/rooms/{room}/")
    wait_connected(alice.page)
    page = alice.page
    box = page.locator("#message-input")
    listbox = page.locator("#mention-options")

    box.press_sequentially("Thanks @Bo", delay=10)
    expect(listbox).to_be_visible()
    expect(listbox).to_have_attribute("role", "listbox")
    expect(_options(page)).to_have_text([f"@{b}", f"@{c}"])
    expect(box).to_have_attribute("aria-activedescendant", "mention-options-0")
    expect(_options(page).nth(0)).to_have_attribute("aria-selected", "true")
    box.press("ArrowDown")
    expect(box).to_have_attribute("aria-activedescendant", "mention-options-1")
    expect(_options(page).nth(1)).to_have_attribute("aria-selected", "true")
    # Enter takes the name, and does not send.
    box.press("Enter")
    expect(listbox).to_be_hidden()
    expect(box).to_have_value(f"Thanks @{c} ")
    expect(box).not_to_have_attribute("aria-activedescendant", re.compile("."))
    expect(messages(page)).to_have_count(0)

    # Tab takes one too; @room and @here are there for a room.
    box.press_sequentially("and @r", delay=10)
    expect(_options(page)).to_have_text([re.compile(r"^@room")])
    box.press("Tab")
    expect(box).to_have_value(f"Thanks @{c} and @room ")
    expect(box).to_be_focused()

    # Escape closes it, the text as typed.
    box.press_sequentially("@", delay=10)
    expect(_options(page)).to_have_count(4)  # bo, bonnie, room, here
    box.press("Escape")
    expect(listbox).to_be_hidden()
    expect(box).to_have_value(f"Thanks @{c} and @room @")

    # A click picks one.
    box.press("Backspace")
    box.press_sequentially("@bon", delay=10)
    _options(page).filter(has_text=f"@{c}").click()
    expect(box).to_have_value(f"Thanks @{c} and @room @{c} ")
    expect(box).to_be_focused()
    box.press("Enter")
    sent = message(page, "Thanks")
    expect(sent).to_have_attribute("data-state", "delivered")
    expect(sent.locator(".body span.mention")).to_have_text([f"@{c}", "@room", f"@{c}"])

    # The thread's composer has one of its own.
    open_thread(sent)
    reply = page.locator("#thread-input")
    reply.press_sequentially("over to @bonn", delay=10)
    expect(_options(page, "thread-mention-options")).to_have_text([f"@{c}"])
    reply.press("Tab")
    expect(reply).to_have_value(f"over to @{c} ")
    # Escape closes the list, not the thread.
    reply.press_sequentially("@", delay=10)
    expect(page.locator("#thread-mention-options")).to_be_visible()
    reply.press("Escape")
    expect(page.locator("#thread-mention-options")).to_be_hidden()
    expect(thread_pane(page)).to_be_visible()


# --- The Mentions view ------------------------------------------------------------


def test_the_mentions_view(open_as, backend):
    a, b = backend.users("alice", "bob")
    old = backend.room(b, backend.unique("archive"), members=(a,))
    talk = backend.room(b, backend.unique("talk"), members=(a,))
    # One more than a page: the oldest is out of both the Mentions view's first
    # page and the room's.
    _store(
        backend,
        *[(old, b, f"@{a} old note {i}") for i in range(51)],
        (talk, b, "A question for the thread"),
        (talk, b, f"In the thread, @{a}", 51),
    )
    alice = open_as(a, "/")
    wait_connected(alice.page)
    page = alice.page
    expect(page.locator("#mentions-badge")).to_have_text("@52")

    page.locator("#mentions-toggle").click()
    expect(page.locator("#mentions-toggle")).to_have_attribute("aria-expanded", "true")
    items = page.locator("#mentions-list li.mention-item")
    expect(items).to_have_count(50)  # a page, the newest first
    first = items.first
    expect(first).to_have_attribute("data-room", talk)
    expect(first).to_have_class(has_class("unread"))
    expect(first.locator(".mention-where")).to_have_text(f"#{talk}")
    expect(first.locator(".author")).to_have_text(b)
    expect(first.locator(".mention-text span.mention-me")).to_have_text(f"@{a}")
    page.locator("#mentions-more").click()
    expect(items).to_have_count(52)
    expect(page.locator("#mentions-more")).to_be_hidden()

    # The oldest, far back in its room: the room opens and pages back to it.
    items.last.locator("button.mention-open").click()
    expect(page.locator("#mentions-panel")).to_be_hidden()
    expect(page).to_have_url(re.compile(f"/rooms/{old}/$"))
    target = message(page, "old note 0")
    expect(target).to_have_class(has_class("spotlight"))
    expect(target).to_be_in_viewport()
    expect(target).to_be_focused()
    expect(_room_item(page, old).locator(".mention-badge")).to_be_hidden()
    expect(page.locator("#mentions-badge")).to_have_text("@1")

    # The one in a thread opens the thread, the reply marked; read now.
    page.locator("#mentions-toggle").click()
    expect(items).to_have_count(50)
    expect(items.nth(1)).not_to_have_class(has_class("unread"))
    items.first.locator("button.mention-open").click()
    expect(thread_pane(page)).to_be_visible()
    reply = page.locator("#thread-messages li.message").filter(has_text="In the thread")
    expect(reply).to_have_class(has_class("spotlight"))
    expect(page.locator("#mentions-badge")).to_be_hidden()


def test_a_push_link_opens_its_message(open_as, backend):
    """A Web Push notification's address (/?room=NAME&message=ID) opens the
    message in its room, or a thread's reply in its thread."""
    a, b = backend.users("alice", "bob")
    room = backend.room(b, backend.unique("ops"), members=(a,))
    ids = _store(
        backend,
        (room, b, f"@{a} the pager is yours"),
        *[(room, b, f"chatter {i}") for i in range(60)],
        (room, b, f"Handover notes, @{a}", 0),
    )
    alice = open_as(a, f"/?room={room}&message={ids[0]}")
    page = alice.page
    expect(page).to_have_url(re.compile(f"/rooms/{room}/$"))
    target = message(page, "the pager is yours")
    expect(target).to_have_class(has_class("spotlight"))
    expect(target).to_be_in_viewport()

    alice.goto(f"/?room={room}&message={ids[-1]}")
    expect(thread_pane(page)).to_be_visible()
    reply = page.locator("#thread-messages li.message").filter(
        has_text="Handover notes"
    )
    expect(reply).to_have_class(has_class("spotlight"))


# --- Desktop notifications --------------------------------------------------------


def test_desktop_notifications_while_hidden(open_as, backend):
    a, b = backend.users("alice", "bob")
    busy = backend.room(b, backend.unique("busy"), members=(a,))
    quiet = backend.room(a, backend.unique("quiet"), members=(b,))
    alice = open_as(a, None)
    watch_notifications(alice)
    alice.goto(f"/rooms/{quiet}/")
    bob = open_as(b, f"/rooms/{busy}/")
    wait_connected(alice.page)
    wait_connected(bob.page)
    page = alice.page
    set_hidden(page, True)

    # A room at its default level: its messages count, but only a mention
    # notifies; told once, though it comes as a message and as `mentioned`.
    send_delivered(bob.page, "Plain chatter, nobody named")
    send_delivered(bob.page, f"@{a} the deploy is blocked on you")
    # A direct message always notifies.
    bob.goto(f"/dm/{a}/")
    wait_connected(bob.page)
    send_delivered(bob.page, "Quick question, when you are back")
    raised = _wait_for_notifications(page, 2)
    assert raised == [
        {
            "title": f"{b} mentioned you in #{busy}",
            "body": f"@{a} the deploy is blocked on you",
            "tag": f"room:{busy}",
            "closed": False,
        },
        {
            "title": b,
            "body": "Quick question, when you are back",
            "tag": raised[1]["tag"],
            "closed": False,
        },
    ], raised
    assert raised[1]["tag"].startswith("room:dm:"), raised

    # A click opens the mention where it was said.
    click_notification(page, 0)
    expect(page).to_have_url(re.compile(f"/rooms/{busy}/$"))
    expect(page.locator("#conversation")).to_have_attribute("data-room", busy)
    target = message(page, "the deploy is blocked")
    expect(target).to_have_class(has_class("spotlight"))
    expect(target).to_have_class(has_class("mentions-me"))
    assert raised_notifications(page)[0]["closed"]

    # In front again: nothing more is raised, even for a mention.
    set_hidden(page, False)
    bob.goto(f"/rooms/{busy}/")
    wait_connected(bob.page)
    send_delivered(bob.page, f"@{a} thanks!")
    expect(message(page, "thanks!")).to_have_class(has_class("mentions-me"))
    assert len(raised_notifications(page)) == 2


def _save_settings(settings: Page, room: str | None = None, **choices) -> None:
    """On the settings page: `notify`/`muted` for `room`, `desktop` (on/off),
    `dnd` (a choice's value); saved."""
    settings.reload()
    if room is not None:
        row = settings.locator(f"#room-levels tr[data-room='{room}']")
        if "notify" in choices:
            row.locator("select").select_option(choices["notify"])
        if "muted" in choices:
            row.locator("input[type=checkbox]").set_checked(choices["muted"])
    if "desktop" in choices:
        settings.locator("#id_desktop_notifications").set_checked(choices["desktop"])
    if "dnd" in choices:
        settings.locator(f"input[name=dnd][value='{choices['dnd']}']").check()
    settings.get_by_role("button", name="Save settings").click()
    expect(settings.locator(".errorlist")).to_have_count(0)


def _direct_message_seen(alice, bob, text: str) -> None:
    """Bob writes to Alice directly; her sidebar has counted it."""
    send_delivered(bob.page, text)
    item = alice.page.locator(f"#dm-list li.dm-item[data-user='{bob.username}']")
    expect(item.locator(".badge")).to_be_visible()


def test_levels_and_settings_followed_live(open_as, backend):
    """The settings page, in another tab: a room set to "all" notifies of every
    message, a muted one goes quiet at once; do-not-disturb and desktop
    notifications turned off silence even a direct message."""
    a, b = backend.users("alice", "bob")
    busy = backend.room(b, backend.unique("busy"), members=(a,))
    home = backend.room(a, backend.unique("home"), members=(b,))
    alice = open_as(a, None)
    watch_notifications(alice)
    alice.goto(f"/rooms/{home}/")
    settings = alice.context.new_page()
    settings.goto(alice.base_url + "/settings/notifications/")
    bob = open_as(b, f"/rooms/{busy}/")
    wait_connected(alice.page)
    wait_connected(bob.page)
    set_hidden(alice.page, True)

    _save_settings(settings, busy, notify="all")
    send_delivered(bob.page, "Every word counts here now")
    raised = _wait_for_notifications(alice.page, 1)
    assert raised[0]["title"] == f"{b} in #{busy}", raised
    assert raised[0]["body"] == "Every word counts here now", raised

    # Muted: no bold, no count, and only mentions notify, at once.
    _save_settings(settings, busy, muted=True)
    item = _room_item(alice.page, busy)
    expect(item).to_have_class(has_class("room-muted"))
    expect(item.locator(".badge")).to_be_hidden()
    send_delivered(bob.page, "Muttering to myself")
    expect(alice.page).not_to_have_title(COUNTED_TITLE)

    # Do not disturb, then desktop notifications off: not even a direct message.
    bob.goto(f"/dm/{a}/")
    wait_connected(bob.page)
    _save_settings(settings, dnd="60")
    _direct_message_seen(alice, bob, "Are you there?")
    _save_settings(settings, dnd="off", desktop=False)
    _direct_message_seen(alice, bob, "Still there?")
    alice.page.wait_for_timeout(500)
    assert len(raised_notifications(alice.page)) == 1, raised_notifications(alice.page)

    # Back on: a direct message notifies again.
    _save_settings(settings, desktop=True)
    send_delivered(bob.page, "Now?")
    raised = _wait_for_notifications(alice.page, 2)
    assert raised[1]["title"] == b, raised


def test_the_prompt_to_enable_notifications(open_as, backend):
    """Shown while the browser has not been asked; "Not now" hides it for good
    on this browser. With the permission granted it is not shown."""
    (a,) = backend.users("alice")
    alice = open_as(a, "/")
    wait_connected(alice.page)
    prompt = alice.page.locator("#notify-prompt")
    expect(prompt).to_be_visible()
    expect(prompt.locator("#notify-enable")).to_have_text("🔔 Enable notifications")
    prompt.locator("#notify-dismiss").click()
    expect(prompt).to_be_hidden()
    alice.page.reload()
    wait_connected(alice.page)
    expect(prompt).to_be_hidden()

    granted = open_as(a, None)
    watch_notifications(granted)
    granted.goto("/")
    wait_connected(granted.page)
    expect(granted.page.locator("#notify-prompt")).to_be_hidden()


# --- Screenshots ------------------------------------------------------------------

CONTRASTED = (
    ".mention, .mention-badge, #mentions-badge, .mention-where, "
    "#mentions-list .author, #mentions-list time, .mention-text, .unread-mark, "
    ".mention-options .option-name"
)


def test_attention_screenshots(open_as, backend):
    """test-artifacts (or docs/screenshots with UPDATE_SCREENSHOTS=1):
    attention-{light,dark}[-phone].png, a room with mentions of the reader and
    the sidebar's badges; attention-mentions-*.png, the Mentions view;
    attention-autocomplete-*.png, the composer's list."""
    maya, leo, ines = named_users(backend, "maya", "leo", "ines")
    room = backend.room(leo, "release", topic="Release train", members=(maya, ines))
    ops = backend.room(leo, "ops", members=(maya, ines))
    _store(
        backend,
        (room, leo, "Branch cut is at 14:00."),
        (room, ines, f"@{maya} can you sign off the changelog?"),
        (room, leo, f"@{ines} the `@{maya}` in code stays as typed"),
        (room, leo, "@here last call for the release notes"),
        (ops, leo, "Disk alert on db-2"),
        (ops, ines, f"@{maya} the pager is yours"),
    )
    shots = []
    for page, look in every_look(open_as, maya, f"/rooms/{room}/"):
        item = _room_item(page, ops)
        expect(item.locator(".mention-badge")).to_have_text("@1")
        expect(item.locator(".mention-badge")).to_be_visible()
        expect(message(page, "sign off")).to_have_class(has_class("mentions-me"))
        assert_no_sideways_scroll(page)
        if "phone" in look:
            page.locator("#sidebar-toggle").click()
            expect(page.locator("#mentions-toggle")).to_be_in_viewport()
            page.wait_for_timeout(300)  # the drawer's slide (0.2 s) over
            screenshot(page, f"attention-sidebar-{look}")
            page.locator("#sidebar-toggle").click()
        _assert_contrast(page, CONTRASTED, look)
        screenshot(page, f"attention-{look}")

        box = page.locator("#message-input")
        box.press_sequentially("Thanks @", delay=10)
        expect(page.locator("#mention-options")).to_be_visible()
        _assert_contrast(page, CONTRASTED, f"{look}, autocomplete")
        screenshot(page, f"attention-autocomplete-{look}")
        box.press("Escape")
        box.fill("")

        page.locator("#mentions-toggle").evaluate("el => el.click()")
        expect(page.locator("#mentions-list li.mention-item").first).to_be_visible()
        _assert_contrast(page, CONTRASTED, f"{look}, Mentions")
        screenshot(page, f"attention-mentions-{look}")
        shots.append(look)
    assert shots == ["light", "dark", "light-phone", "dark-phone"]
