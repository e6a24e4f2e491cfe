"""Threads in the web client: a thread started on someone's message, seen live
("N replies"), replied to in the pane (also to the room), typing in it, the
Threads view's unread counts; a reload and a dropped connection; the pane on a
phone; light and dark; and the screenshots of it."""

import re

from playwright.sync_api import Locator, Page, expect

from .conftest import PHONE
from .helpers import (
    assert_no_sideways_scroll,
    emoji_button,
    every_look,
    go_offline,
    go_online,
    message,
    message_by_id,
    messages,
    named_users,
    open_emoji_picker,
    open_thread,
    press,
    reaction,
    reply_in_thread,
    screenshot,
    send_delivered,
    thread_pane,
    thread_replies,
    wait_connected,
)


def _reply(page: Page, text: str) -> Locator:
    return thread_replies(page).filter(has_text=text)


def _summary(item: Locator) -> Locator:
    return item.locator("button.thread-summary")


def _threads_badge(page: Page) -> Locator:
    return page.locator("#threads-badge")


def _both_here(one, other) -> None:
    for me, them in ((one, other), (other, one)):
        wait_connected(me.page)
        expect(
            me.page.locator(f"#members li[data-user='{them.username}']")
        ).to_have_count(1)


def test_thread_started_replied_and_followed_live(open_as, backend):
    a, b = backend.users("alice", "bob")
    room = backend.room(b, backend.unique("lunch"), members=(a,))
    alice = open_as(a, f"/rooms/{room}/")
    bob = open_as(b, f"/rooms/{room}/")
    _both_here(alice, bob)
    root_id = send_delivered(bob.page, "Who is up for lunch?")
    expect(_threads_badge(bob.page)).to_be_hidden()

    # Alice starts a thread on Bob's message: the pane opens, its composer focused.
    at_alice = message_by_id(alice.page, root_id)
    open_thread(at_alice)
    pane = thread_pane(alice.page)
    expect(pane).to_have_attribute("aria-labelledby", "thread-title")
    expect(pane.locator("#thread-title")).to_have_text("Thread")
    expect(alice.page.locator("#thread-input")).to_be_focused()
    expect(pane.locator(f"li.thread-root[data-id='{root_id}']")).to_contain_text(
        "Who is up for lunch?"
    )
    expect(alice.page.locator("#thread-also-label")).to_have_text(
        f"Also send to #{room}"
    )
    reply_in_thread(alice.page, "Me! Where to?")
    # A reply stays out of the room's list, on both sides.
    for page in (alice.page, bob.page):
        expect(message(page, "Me! Where to?")).to_have_count(0)

    # Bob sees "1 reply" live, by Alice, and follows the thread (his message).
    at_bob = message_by_id(bob.page, root_id)
    summary = _summary(at_bob)
    expect(summary.locator(".reply-count")).to_have_text("1 reply")
    expect(summary.locator(".repliers")).to_have_text(a)
    expect(summary.locator("time.last-reply")).to_have_text(re.compile(r"last reply"))
    expect(_summary(at_alice).locator(".reply-count")).to_have_text("1 reply")
    expect(_threads_badge(bob.page)).to_have_text("1")

    # He opens it: Alice's reply after a "New" divider, and it is read.
    summary.click()
    expect(thread_pane(bob.page)).to_be_visible()
    expect(bob.page.locator("#thread-input")).to_be_focused()
    expect(_reply(bob.page, "Me! Where to?")).to_have_count(1)
    expect(bob.page.locator("#thread-messages li.new-divider")).to_have_count(1)
    order = bob.page.eval_on_selector_all(
        "#thread-messages > li",
        "els => els.map(e => e.classList.contains('new-divider') ? 'NEW' "
        ": (e.querySelector('.body')?.textContent || '').trim())",
    )
    assert order.index("NEW") == order.index("Me! Where to?") - 1, order
    expect(_threads_badge(bob.page)).to_be_hidden()
    expect(bob.page.locator("#thread-follow")).to_have_text("Unfollow")

    # Typing in the thread shows in its pane only, not in the room's line.
    alice.page.locator("#thread-input").press_sequentially("Hm", delay=20)
    expect(bob.page.locator("#thread-typing")).to_have_text(f"{a} is typing…")
    expect(bob.page.locator("#typing")).to_have_text("")
    alice.page.locator("#thread-input").fill("")

    # Bob answers, to the room too: in both panes and both room lists, marked.
    reply_in_thread(bob.page, "Noon, at the usual place", also_to_room=True)
    expect(_reply(alice.page, "Noon, at the usual place")).to_have_count(1)
    for page in (alice.page, bob.page):
        in_room = message(page, "Noon, at the usual place")
        expect(in_room).to_have_count(1)
        expect(in_room.locator("button.thread-link")).to_have_text(
            "replied to a thread"
        )
        expect(
            _summary(message_by_id(page, root_id)).locator(".reply-count")
        ).to_have_text("2 replies")
    expect(bob.page.locator("#thread-typing")).to_have_text("")
    # "replied to a thread" on his own (tinted) message is legible.
    _assert_contrast(bob.page, "#messages li.mine .thread-link", "own reply")

    # Escape closes the pane, and focus goes back to what opened it.
    bob.page.locator("#thread-input").press("Escape")
    expect(thread_pane(bob.page)).to_be_hidden()
    expect(
        bob.page.locator(f"#messages li.message[data-id='{root_id}'] .thread-summary")
    ).to_be_focused()

    # A reply while his pane is closed: counted in Threads, once.
    reply_in_thread(alice.page, "I'll book a table")
    expect(_threads_badge(bob.page)).to_have_text("1")
    expect(
        _summary(message_by_id(bob.page, root_id)).locator(".repliers")
    ).to_have_text(f"{a}, {b}")
    reply_in_thread(alice.page, "For four")
    expect(_threads_badge(bob.page)).to_have_text("2")

    # The Threads view lists it with its count; a click opens it and reads it.
    bob.page.locator("#threads-toggle").click()
    item = bob.page.locator(f"#threads-list li.thread-item[data-id='{root_id}']")
    expect(item).to_have_attribute("data-room", room)
    expect(item.locator(".reply-count")).to_have_text("4 replies")
    expect(item.locator(".badge")).to_have_text("2")
    expect(item.locator(".thread-root-text")).to_have_text("Who is up for lunch?")
    item.locator("button.thread-open").click()
    expect(bob.page.locator("#threads-panel")).to_be_hidden()
    expect(thread_pane(bob.page)).to_be_visible()
    expect(thread_replies(bob.page)).to_have_count(4)
    expect(_threads_badge(bob.page)).to_be_hidden()
    bob.page.locator("#thread-close").click()
    expect(bob.page.locator("#threads-toggle")).to_be_focused()

    # Kept: after a reload the room hides the thread's own replies, shows the one
    # sent to the room too, and nothing is unread.
    bob.page.reload()
    wait_connected(bob.page)
    at_bob = message_by_id(bob.page, root_id)
    expect(_summary(at_bob).locator(".reply-count")).to_have_text("4 replies")
    expect(message(bob.page, "Noon, at the usual place")).to_have_count(1)
    expect(message(bob.page, "For four")).to_have_count(0)
    expect(_threads_badge(bob.page)).to_be_hidden()
    _summary(at_bob).click()
    expect(thread_replies(bob.page)).to_have_count(4)
    expect(bob.page.locator("#thread-messages li.new-divider")).to_have_count(0)

    # Unfollowing: Alice's next reply is not counted for him.
    bob.page.locator("#thread-follow").click()
    expect(bob.page.locator("#thread-follow")).to_have_text("Follow")
    bob.page.locator("#thread-close").click()
    reply_in_thread(alice.page, "Booked")
    expect(
        _summary(message_by_id(bob.page, root_id)).locator(".reply-count")
    ).to_have_text("5 replies")
    expect(_threads_badge(bob.page)).to_be_hidden()


def test_replies_missed_while_offline_arrive_in_their_thread(open_as, backend):
    a, b = backend.users("alice", "bob")
    room = backend.room(a, backend.unique("resync"), members=(b,))
    backend.messages(room, [(a, "Plan for Friday")])
    alice = open_as(a, f"/rooms/{room}/")
    bob = open_as(b, None)
    bob.page.clock.install()  # for go_offline
    bob.goto(f"/rooms/{room}/")
    _both_here(alice, bob)
    root = message(bob.page, "Plan for Friday")
    root_id = root.get_attribute("data-id")

    go_offline(bob.page)
    open_thread(message_by_id(alice.page, root_id))
    reply_in_thread(alice.page, "Only in the thread")
    reply_in_thread(alice.page, "Also in the room", also_to_room=True)
    go_online(bob.page)

    # The resync brings both: the root's count, the room's copy of one.
    expect(_summary(root).locator(".reply-count")).to_have_text("2 replies")
    expect(message(bob.page, "Also in the room")).to_have_count(1)
    expect(message(bob.page, "Only in the thread")).to_have_count(0)
    _summary(root).click()
    expect(thread_replies(bob.page)).to_have_count(2)
    expect(thread_replies(bob.page).first).to_contain_text("Only in the thread")


def test_thread_pane_on_a_phone(open_as, backend):
    a, b = backend.users("alice", "bob")
    room = backend.room(a, backend.unique("phone"), members=(b,))
    backend.messages(room, [(a, "Anyone seen the keys?")])
    bob = open_as(b, f"/rooms/{room}/", viewport=PHONE, color_scheme="dark")
    wait_connected(bob.page)
    root = message(bob.page, "Anyone seen the keys?")
    open_thread(root)
    pane = thread_pane(bob.page)
    box = pane.bounding_box()
    assert box and box["width"] >= PHONE["width"] - 1, box
    expect(bob.page.locator("#thread-back")).to_be_visible()
    expect(bob.page.locator("#thread-close")).to_be_hidden()
    reply_in_thread(bob.page, "On the hook by the door")
    assert_no_sideways_scroll(bob.page)
    expect(bob.page.locator("#thread-input")).to_be_in_viewport()
    bob.page.locator("#thread-back").tap()
    expect(pane).to_be_hidden()
    expect(messages(bob.page).first).to_be_visible()
    expect(_summary(root).locator(".reply-count")).to_have_text("1 reply")


# WCAG AA: 4.5:1 for text (what the thread UI adds, on its real background).
CONTRAST_JS = """els => els.filter(e => e.offsetParent !== null).map(e => {
  const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number)
    .map((v, i) => (c.startsWith("color(") && i < 3 ? v * 255 : v));
  const lum = ([r, g, b]) => [r, g, b].map(v => {
    v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  }).reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);
  let node = e, bg = null;
  while (node && node.nodeType === 1) {
    const c = rgb(getComputedStyle(node).backgroundColor);
    if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) { bg = c; break; }
    node = node.parentElement;
  }
  bg = bg || [255, 255, 255];
  const [l1, l2] = [lum(rgb(getComputedStyle(e).color)), lum(bg)].sort((x, y) => y - x);
  return [e.className || e.id || e.tagName, (l1 + 0.05) / (l2 + 0.05)];
})"""

CONTRASTED = (
    ".thread-summary .reply-count, .thread-summary .repliers, "
    ".thread-summary .last-reply, .thread-link, #thread-title, #thread-room, "
    "#thread-follow, .new-divider span, .thread-divider span, .also, "
    "#thread-messages .body, #thread-typing"
)


def _assert_contrast(page: Page, selector: str, label: str) -> None:
    low = [
        (name, round(ratio, 2))
        for name, ratio in page.eval_on_selector_all(selector, CONTRAST_JS)
        if ratio < 4.5
    ]
    assert not low, f"{label}: contrast below 4.5:1: {low}"


THREADS_VIEW = (
    "#threads-panel h2, .thread-where, #threads-list .author, "
    "#threads-list .reply-count, #threads-list time, .thread-root-text"
)


def _unread_again(backend, username: str, root_id: str) -> None:
    """The thread unread again for `username` (each look opens it, reading it)."""
    backend.run(
        "from chat.models import ThreadFollow\n"
        "ThreadFollow.objects.filter(user__username=data['user'], root_id=data['root'])"
        ".update(last_read_id=0)\n",
        user=username,
        root=int(root_id),
    )


def test_thread_screenshots(open_as, backend):
    """docs/screenshots/thread-pane-{light,dark}[-phone].png: a room with a
    thread open beside it, one reply new, someone typing in it."""
    maya, leo, ines = named_users(backend, "maya", "leo", "ines")
    room = backend.room(maya, "launch", topic="Launch week", members=(leo, ines))
    backend.messages(
        room,
        [
            (maya, "Launch checklist is in the doc. Anything missing?"),
            (leo, "The status page needs the new region."),
            (maya, "Good catch, adding it."),
        ],
    )
    writer = open_as(leo, f"/rooms/{room}/")
    wait_connected(writer.page)
    root = message(writer.page, "Launch checklist")
    root_id = root.get_attribute("data-id")
    open_thread(root)
    reply_in_thread(writer.page, "Release notes: **draft** is up, reviews welcome")
    reply_in_thread(writer.page, "And the rollback plan?", also_to_room=True)
    typer = open_as(ines, f"/rooms/{room}/")
    wait_connected(typer.page)
    _summary(message_by_id(typer.page, root_id)).click()
    reply_in_thread(typer.page, "Rollback is step 7, tested on staging")

    shots = []
    for page, look in every_look(open_as, maya, f"/rooms/{room}/"):
        at_root = message_by_id(page, root_id)
        expect(_summary(at_root).locator(".reply-count")).to_have_text("3 replies")
        expect(_threads_badge(page)).to_have_text("3")
        press(_summary(at_root))
        expect(thread_replies(page)).to_have_count(3)
        typer.page.locator("#thread-input").press_sequentially("x", delay=0)
        expect(page.locator("#thread-typing")).to_have_text(f"{ines} is typing…")
        assert_no_sideways_scroll(page)
        _assert_contrast(page, CONTRASTED, look)
        screenshot(page, f"thread-pane-{look}")
        shots.append(look)
        # The Threads view too (over the room; the pane stays).
        page.locator("#threads-toggle").evaluate("el => el.click()")
        expect(page.locator("#threads-list li.thread-item")).to_have_count(1)
        _assert_contrast(page, THREADS_VIEW, f"{look}, Threads")
        typer.page.locator("#thread-input").fill("")
        typer.page.wait_for_timeout(
            1700
        )  # "stopped typing" sent: the next look hears it start
        _unread_again(backend, maya, root_id)
    assert shots == ["light", "dark", "light-phone", "dark-phone"]


def _replies_stored(backend, room: str, root_id: int, author: str, count: int) -> None:
    """`count` replies by `author` under `root_id`, stored the quick way."""
    backend.run(
        "from django.contrib.auth import get_user_model\n"
        "from chat.domain import services\n"
        "user = get_user_model().objects.get(username=data['author'])\n"
        "for i in range(data['count']):\n"
        "    services.message_send(user=user, room_name=data['room'],"
        " body=f'reply {i + 1}', thread_id=data['root'])\n",
        room=room,
        root=root_id,
        author=author,
        count=count,
    )


def test_a_long_thread_of_an_old_message(open_as, backend):
    """A thread whose root is older than the room's first page, opened from the
    Threads view: its replies page back as the pane is scrolled up, and the root
    shows in the room's list only once its history is scrolled back to it."""
    a, b = backend.users("alice", "bob")
    room = backend.room(a, backend.unique("long"), members=(b,))
    (root_id,) = backend.messages(room, [(a, "The old question")])
    backend.messages(room, [(b, f"chatter {i}") for i in range(55)])
    _replies_stored(backend, room, root_id, b, 60)
    alice = open_as(a, "/")
    wait_connected(alice.page)
    expect(_threads_badge(alice.page)).to_have_text("60")

    # From the Threads view with no room open: the room opens, and the thread.
    alice.page.locator("#threads-toggle").click()
    alice.page.locator(
        f"#threads-list li.thread-item[data-id='{root_id}'] button.thread-open"
    ).click()
    expect(alice.page).to_have_url(re.compile(rf"/rooms/{room}/$"))
    expect(alice.page.locator("#room-title")).to_have_text(f"#{room}")
    expect(thread_replies(alice.page)).to_have_count(50)
    expect(thread_replies(alice.page).last).to_have_text(re.compile("reply 60"))
    expect(_threads_badge(alice.page)).to_be_hidden()
    # The room's list is as it was: the old root is not stuck on top of it.
    expect(message_by_id(alice.page, str(root_id))).to_have_count(0)
    expect(messages(alice.page)).to_have_count(50)

    # Scrolled up, the pane brings the older replies, in order.
    alice.page.locator("#thread-messages").evaluate("el => { el.scrollTop = 0; }")
    expect(thread_replies(alice.page)).to_have_count(60)
    texts = alice.page.eval_on_selector_all(
        "#thread-messages li.message:not(.thread-root) .body",
        "els => els.map(e => e.textContent.trim())",
    )
    assert texts == [f"reply {i + 1}" for i in range(60)], texts

    # The room's list, scrolled back, reaches the root: shown once, in its place.
    for _ in range(3):
        alice.page.locator("#messages").evaluate("el => { el.scrollTop = 0; }")
        alice.page.wait_for_timeout(300)
    expect(messages(alice.page)).to_have_count(56)
    expect(messages(alice.page).first).to_have_attribute("data-id", str(root_id))
    expect(
        _summary(message_by_id(alice.page, str(root_id))).locator(".reply-count")
    ).to_have_text("60 replies")


def test_replies_are_reacted_to_edited_saved_and_deleted_in_the_pane(open_as, backend):
    a, b = backend.users("alice", "bob")
    room = backend.room(a, backend.unique("acts"), members=(b,))
    (root_id,) = backend.messages(room, [(a, "Retro notes")])
    alice = open_as(a, f"/rooms/{room}/")
    bob = open_as(b, f"/rooms/{room}/", color_scheme="dark")
    _both_here(alice, bob)
    open_thread(message_by_id(bob.page, str(root_id)))
    open_thread(message_by_id(alice.page, str(root_id)))
    # Typing in the room's composer shows in the room's line only.
    bob.page.locator("#message-input").press_sequentially("So", delay=20)
    expect(alice.page.locator("#typing")).to_have_text(f"{b} is typing…")
    expect(alice.page.locator("#thread-typing")).to_have_text("")
    bob.page.locator("#message-input").fill("")
    mine = reply_in_thread(bob.page, "We should ship smaller")
    reply_id = mine.get_attribute("data-id")
    at_alice = alice.page.locator(f"#thread-messages li.message[data-id='{reply_id}']")
    expect(at_alice).to_contain_text("We should ship smaller")

    # Alice reacts in her pane; both panes show the pill.
    picker = open_emoji_picker(at_alice)
    picker.locator("input").fill("thumbs")
    emoji_button(picker, "thumbs_up").click()
    expect(reaction(at_alice, "👍")).to_have_attribute("aria-pressed", "true")
    expect(reaction(mine, "👍").locator(".reaction-count")).to_have_text("1")

    # She saves it: it is in her Saved list, from the thread.
    at_alice.hover()
    at_alice.locator("button.save").click()
    expect(at_alice.locator("button.save")).to_have_attribute("aria-pressed", "true")

    # Bob edits his reply in the pane; Alice sees it live.
    mine.hover()
    mine.locator("button.edit").click()
    editor = mine.locator("textarea.edit-input")
    editor.fill("We should ship smaller, and more often")
    editor.press("Enter")
    expect(at_alice.locator(".body")).to_have_text(
        "We should ship smaller, and more often"
    )
    expect(at_alice).to_have_class(re.compile(r"\bedited\b"))
    # Escape in the editor cancels the edit, not the pane.
    mine.hover()
    mine.locator("button.edit").click()
    mine.locator("textarea.edit-input").press("Escape")
    expect(thread_pane(bob.page)).to_be_visible()
    # By keyboard: Escape from a reply's button goes back to the reply (the
    # pane's list has a roving tab stop, as the room's), then closes the pane.
    mine.locator("button.react").focus()
    bob.page.keyboard.press("Escape")
    expect(mine).to_be_focused()
    expect(thread_pane(bob.page)).to_be_visible()
    bob.page.keyboard.press("Escape")
    expect(thread_pane(bob.page)).to_be_hidden()
    open_thread(message_by_id(bob.page, str(root_id)))

    # He deletes it: gone for both, and the root's count drops.
    mine.hover()
    mine.locator("button.delete").click()
    mine.locator("button.delete").click()
    expect(at_alice).to_have_class(re.compile(r"\bdeleted\b"))
    expect(at_alice.locator(".body")).to_have_text("This message was deleted.")
    expect(alice.page.locator("#thread-messages li.thread-divider")).to_have_text(
        "0 replies"
    )
    expect(_summary(message_by_id(alice.page, str(root_id)))).to_have_count(0)

    # A deleted root: the thread stays readable, its composer gone.
    reply_in_thread(alice.page, "Still worth discussing")
    root = message_by_id(alice.page, str(root_id))
    root.hover()
    root.locator("button.delete").click()
    root.locator("button.delete").click()
    expect(alice.page.locator("#thread-composer")).to_be_hidden()
    expect(alice.page.locator("#thread-closed")).to_be_visible()
    expect(_reply(bob.page, "Still worth discussing")).to_have_count(1)
    expect(bob.page.locator("#thread-composer")).to_be_hidden()


def test_threads_over_long_polling(open_as, backend):
    a, b = backend.users("alice", "bob")
    room = backend.room(b, backend.unique("poll"), members=(a,))
    (root_id,) = backend.messages(room, [(b, "Poll me")])
    alice = open_as(a, f"/rooms/{room}/")
    bob = open_as(b, f"/rooms/{room}/?transport=poll")
    _both_here(alice, bob)
    expect(bob.page.locator("#transport-indicator")).to_be_visible()
    open_thread(message_by_id(alice.page, str(root_id)))
    reply_in_thread(alice.page, "Polled reply")
    at_bob = message_by_id(bob.page, str(root_id))
    expect(_summary(at_bob).locator(".reply-count")).to_have_text("1 reply")
    expect(_threads_badge(bob.page)).to_have_text("1")
    _summary(at_bob).click()
    expect(_reply(bob.page, "Polled reply")).to_have_count(1)
    expect(_threads_badge(bob.page)).to_be_hidden()
    reply_in_thread(bob.page, "Polled answer", also_to_room=True)
    expect(_reply(alice.page, "Polled answer")).to_have_count(1)
    expect(message(alice.page, "Polled answer")).to_have_count(1)
