"""The conversations acceptance test, as the issue puts it: two users in a real
browser hold a threaded conversation, react, edit, pin and save, in a room and in
a group conversation of three; everything survives a reload, a second device and
a reconnect. All of it through the page, as a user does it, and checked by what
the page shows."""

import re
from dataclasses import dataclass

from playwright.sync_api import Locator, Page, expect

from .helpers import (
    edit_message,
    emoji_button,
    go_offline,
    go_online,
    has_class,
    message_action,
    message_by_id,
    open_emoji_picker,
    open_thread,
    press,
    reaction,
    reply_in_thread,
    send_delivered,
    thread_pane,
    thread_replies,
    wait_connected,
)

THUMBS = "👍"
HEART = "❤️"
TADA = "🎉"
GROUP_URL = re.compile(r"/rooms/group%3A[0-9a-f]{40}/$")


@dataclass
class Conversation:
    """What was done in one conversation, to check that it is still shown."""

    path: str  # the conversation's address
    saved_where: str  # the link to it in the saver's Saved view
    root_id: str
    root_author: str
    root_text: str
    replies: list[str]  # the thread's replies' texts, oldest first
    edited_id: str  # a reply, edited once
    edited_text: str
    edited_from: str  # its text before
    reacted_id: str  # a reply, with one reaction
    emoji: str
    reactor: str
    saved_id: str  # a reply, saved by `saver`
    saved_text: str
    saver: str


def _in_pane(page: Page, message_id: str) -> Locator:
    return page.locator(f"#thread-messages li.message[data-id='{message_id}']")


def _summary(item: Locator) -> Locator:
    return item.locator("button.thread-summary")


def _replies_text(count: int) -> str:
    return f"{count} {'reply' if count == 1 else 'replies'}"


def _all_here(*actors) -> None:
    """Each connected, and each seeing the others in the open conversation."""
    for me in actors:
        wait_connected(me.page)
        for them in actors:
            if them is not me:
                expect(
                    me.page.locator(f"#members li[data-user='{them.username}']")
                ).to_have_count(1)


def _react(item: Locator, search: str, name: str) -> None:
    """Pick an emoji for the message from its React button, by a search."""
    picker = open_emoji_picker(item)
    picker.locator("input").fill(search)
    press(emoji_button(picker, name))
    expect(picker).to_have_count(0)


def _expect_pill(item: Locator, emoji: str, count: int, *, pressed: bool) -> None:
    pill = reaction(item, emoji)
    expect(pill.locator(".reaction-count")).to_have_text(str(count))
    expect(pill).to_have_attribute("aria-pressed", "true" if pressed else "false")


def _expect_edited(item: Locator, text: str) -> None:
    expect(item.locator(".body")).to_have_text(text)
    expect(item).to_have_class(has_class("edited"))
    expect(item.locator("button.edited-mark")).to_be_visible()
    expect(item.locator("button.edited-mark")).to_have_text("(edited)")


def _expect_pinned(page: Page, c: Conversation) -> None:
    """The root marked pinned in the list, and in the header's pins, alone."""
    root = message_by_id(page, c.root_id)
    expect(root).to_have_class(has_class("pinned"))
    expect(root.locator(".pinned-mark")).to_be_visible()
    toggle = page.locator("#pins-toggle")
    expect(toggle).to_have_text("📌 1")
    toggle.click()
    pins = page.locator("#pins-list li")
    expect(pins).to_have_count(1)
    expect(pins).to_have_attribute("data-id", c.root_id)
    expect(pins.locator(".author")).to_have_text(c.root_author)
    expect(pins.locator(".body")).to_have_text(c.root_text)
    toggle.click()
    expect(page.locator("#pins-panel")).to_be_hidden()


def _expect_in_saved(page: Page, c: Conversation) -> None:
    """The saved reply is in the Saved view, linked to its conversation."""
    page.locator("#saved-toggle").click()
    item = page.locator(f"#saved-list li[data-id='{c.saved_id}']")
    expect(item.locator(".body")).to_have_text(c.saved_text)
    expect(item.locator(".meta a")).to_have_text(c.saved_where)
    page.locator("#saved-close").click()
    expect(page.locator("#saved-panel")).to_be_hidden()


def _expect_kept(page: Page, me: str, c: Conversation) -> None:
    """All of `c` as `me` sees it on a page just opened on the conversation: the
    root's reply count and pin, and in its pane the replies, the edit, the
    reaction, the save (and the Saved view, for the one who saved)."""
    wait_connected(page)
    root = message_by_id(page, c.root_id)
    expect(_summary(root).locator(".reply-count")).to_have_text(
        _replies_text(len(c.replies))
    )
    _expect_pinned(page, c)

    _summary(root).click()
    expect(thread_replies(page).locator(".body")).to_have_text(c.replies)
    expect(page.locator("#thread-messages li.thread-divider")).to_have_text(
        _replies_text(len(c.replies))
    )
    edited = _in_pane(page, c.edited_id)
    _expect_edited(edited, c.edited_text)
    edited.locator("button.edited-mark").click()  # its earlier text
    expect(edited.locator(".edit-history li .body")).to_have_text([c.edited_from])
    _expect_pill(_in_pane(page, c.reacted_id), c.emoji, 1, pressed=me == c.reactor)
    save = _in_pane(page, c.saved_id).locator("button.save")
    expect(save).to_have_attribute("aria-pressed", "true" if me == c.saver else "false")
    expect(save).to_have_text("Saved" if me == c.saver else "Save")
    page.locator("#thread-close").click()
    expect(thread_pane(page)).to_be_hidden()
    if me == c.saver:
        _expect_in_saved(page, c)


def _survives(open_as, alice, bob, c: Conversation) -> None:
    """Alice's page reloaded, a second device of Bob's, and Bob's first page
    (its pane open on the thread, its clock installed) offline while Alice
    replies and reacts: each shows all of it."""
    alice.page.reload()
    _expect_kept(alice.page, alice.username, c)

    second = open_as(bob.username, c.path)
    _expect_kept(second.page, bob.username, c)

    expect(_in_pane(bob.page, c.root_id)).to_be_visible()  # his pane is open
    go_offline(bob.page)
    _summary(message_by_id(alice.page, c.root_id)).click()
    missed = reply_in_thread(alice.page, "Sent while you were away")
    missed_id = missed.get_attribute("data-id") or ""
    _react(_in_pane(alice.page, c.saved_id), "tada", "party_popper")
    # His other device, online, has the reply at once.
    second_root = message_by_id(second.page, c.root_id)
    expect(_summary(second_root).locator(".reply-count")).to_have_text(
        _replies_text(len(c.replies) + 1)
    )
    # Bob's page, still offline, does not; back online, it catches up, no reload.
    expect(_in_pane(bob.page, missed_id)).to_have_count(0)
    go_online(bob.page)
    expect(_in_pane(bob.page, missed_id).locator(".body")).to_have_text(
        "Sent while you were away"
    )
    expect(thread_replies(bob.page)).to_have_count(len(c.replies) + 1)
    expect(bob.page.locator("#thread-messages li.thread-divider")).to_have_text(
        _replies_text(len(c.replies) + 1)
    )
    expect(
        _summary(message_by_id(bob.page, c.root_id)).locator(".reply-count")
    ).to_have_text(_replies_text(len(c.replies) + 1))
    _expect_pill(_in_pane(bob.page, c.saved_id), TADA, 1, pressed=False)
    # And what was there before the drop is still there.
    _expect_pill(
        _in_pane(bob.page, c.reacted_id), c.emoji, 1, pressed=bob.username == c.reactor
    )
    _expect_edited(_in_pane(bob.page, c.edited_id), c.edited_text)
    _expect_pinned(bob.page, c)


def test_a_threaded_conversation_in_a_room(open_as, backend):
    a, b = backend.users("alice", "bob")
    # Bob owns the room: in a room only its owners and moderators pin.
    room = backend.room(b, backend.unique("retro"), members=(a,))
    alice = open_as(a, f"/rooms/{room}/")
    bob = open_as(b, None)
    bob.page.clock.install()  # for go_offline, at the end
    bob.goto(f"/rooms/{room}/")
    _all_here(alice, bob)

    # Alice writes; Bob answers in a thread.
    root_id = send_delivered(alice.page, "Shall we move the retro to Thursday?")
    open_thread(message_by_id(bob.page, root_id))
    expect(bob.page.locator("#thread-input")).to_be_focused()
    bobs = reply_in_thread(bob.page, "Thursday works for me")
    bobs_id = bobs.get_attribute("data-id") or ""

    # Alice sees "1 reply" live, by Bob; she opens the thread and answers.
    root = message_by_id(alice.page, root_id)
    expect(_summary(root).locator(".reply-count")).to_have_text("1 reply")
    expect(_summary(root).locator(".repliers")).to_have_text(b)
    _summary(root).click()
    expect(_in_pane(alice.page, bobs_id).locator(".body")).to_have_text(
        "Thursday works for me"
    )
    hers = reply_in_thread(alice.page, "Thursday at 3, then")
    hers_id = hers.get_attribute("data-id") or ""
    hers_at_bob = _in_pane(bob.page, hers_id)
    expect(hers_at_bob.locator(".body")).to_have_text("Thursday at 3, then")
    expect(_summary(root).locator(".reply-count")).to_have_text("2 replies")

    # Bob reacts to her reply: a pill with its count, on both sides.
    _react(hers_at_bob, "thumbs", "thumbs_up")
    _expect_pill(hers_at_bob, THUMBS, 1, pressed=True)
    _expect_pill(hers, THUMBS, 1, pressed=False)
    expect(reaction(hers, THUMBS)).to_have_attribute("title", re.compile(rf"\b{b}\b"))

    # Alice edits it: "(edited)" on both sides, the reaction kept.
    edit_message(hers, "Thursday at 4, then")
    for item in (hers, hers_at_bob):
        _expect_edited(item, "Thursday at 4, then")
    _expect_pill(hers, THUMBS, 1, pressed=False)

    # Bob, the room's owner, pins the root: both see it in the header.
    press(message_action(message_by_id(bob.page, root_id), "pin"))
    c = Conversation(
        path=f"/rooms/{room}/",
        saved_where=f"#{room}",
        root_id=root_id,
        root_author=a,
        root_text="Shall we move the retro to Thursday?",
        replies=["Thursday works for me", "Thursday at 4, then"],
        edited_id=hers_id,
        edited_text="Thursday at 4, then",
        edited_from="Thursday at 3, then",
        reacted_id=hers_id,
        emoji=THUMBS,
        reactor=b,
        saved_id=bobs_id,
        saved_text="Thursday works for me",
        saver=a,
    )
    for page in (alice.page, bob.page):
        _expect_pinned(page, c)

    # Alice saves Bob's reply: it is in her Saved view.
    save = message_action(_in_pane(alice.page, bobs_id), "save")
    press(save)
    expect(save).to_have_attribute("aria-pressed", "true")
    expect(save).to_have_text("Saved")
    _expect_in_saved(alice.page, c)

    _survives(open_as, alice, bob, c)


def _group_link(page: Page, *others: str) -> Locator:
    return page.locator(
        f"#dm-list li.group-item[data-members='{','.join(sorted(others))}'] a"
    )


def test_a_threaded_conversation_in_a_group_of_three(open_as, backend):
    a, b, c_ = backend.users("alice", "bob", "carol")
    bob = open_as(b, None)
    bob.page.clock.install()  # for go_offline, at the end
    bob.goto("/")
    carol = open_as(c_, "/")
    alice = open_as(a, "/")

    # Alice starts the group from the sidebar's "New message", and writes.
    alice.page.click("#new-message")
    alice.page.fill("#new-group-to", f"{b}, {c_}")
    alice.page.press("#new-group-to", "Enter")
    expect(alice.page).to_have_url(re.compile(r"/dm/\?to="))
    # The new page (a real navigation) is up, named by the others, connected.
    expect(alice.page.locator("#room-title")).to_have_text(f"{b}, {c_}")
    wait_connected(alice.page)
    root_id = send_delivered(alice.page, "Who brings what to the picnic?")
    expect(alice.page).to_have_url(GROUP_URL)
    room = alice.page.locator("#conversation").get_attribute("data-room") or ""
    for actor, others in ((bob, (a, c_)), (carol, (a, b))):
        _group_link(actor.page, *others).click()
        expect(actor.page).to_have_url(GROUP_URL)
    _all_here(alice, bob, carol)

    # Bob and Carol answer in a thread.
    open_thread(message_by_id(bob.page, root_id))
    bobs = reply_in_thread(bob.page, "Sandwiches from me")
    bobs_id = bobs.get_attribute("data-id") or ""
    open_thread(message_by_id(carol.page, root_id))
    expect(_in_pane(carol.page, bobs_id)).to_be_visible()
    carols = reply_in_thread(carol.page, "I'll bring lemonade")
    carols_id = carols.get_attribute("data-id") or ""
    expect(_in_pane(bob.page, carols_id).locator(".body")).to_have_text(
        "I'll bring lemonade"
    )

    # Alice sees "2 replies" live, opens the thread, answers.
    root = message_by_id(alice.page, root_id)
    expect(_summary(root).locator(".reply-count")).to_have_text("2 replies")
    expect(_summary(root).locator(".repliers")).to_have_text(f"{c_}, {b}")
    _summary(root).click()
    expect(thread_replies(alice.page).locator(".body")).to_have_text(
        ["Sandwiches from me", "I'll bring lemonade"]
    )
    hers = reply_in_thread(alice.page, "And I the blanket")
    hers_id = hers.get_attribute("data-id") or ""
    for actor in (bob, carol):
        expect(_in_pane(actor.page, hers_id).locator(".body")).to_have_text(
            "And I the blanket"
        )

    # Carol reacts to Alice's reply; everyone sees the pill.
    _react(_in_pane(carol.page, hers_id), "heart", "red_heart")
    _expect_pill(_in_pane(carol.page, hers_id), HEART, 1, pressed=True)
    for page in (alice.page, bob.page):
        _expect_pill(_in_pane(page, hers_id), HEART, 1, pressed=False)

    # Alice edits it.
    edit_message(hers, "And I the blanket, and plates")
    for page in (alice.page, bob.page, carol.page):
        _expect_edited(_in_pane(page, hers_id), "And I the blanket, and plates")

    # Carol pins the root (any member may, in a conversation).
    press(message_action(message_by_id(carol.page, root_id), "pin"))
    c = Conversation(
        path=f"/rooms/{room}/",
        saved_where=f"{a}, {c_}",
        root_id=root_id,
        root_author=a,
        root_text="Who brings what to the picnic?",
        replies=[
            "Sandwiches from me",
            "I'll bring lemonade",
            "And I the blanket, and plates",
        ],
        edited_id=hers_id,
        edited_text="And I the blanket, and plates",
        edited_from="And I the blanket",
        reacted_id=hers_id,
        emoji=HEART,
        reactor=c_,
        saved_id=carols_id,
        saved_text="I'll bring lemonade",
        saver=b,
    )
    for page in (alice.page, bob.page, carol.page):
        _expect_pinned(page, c)

    # Bob saves Carol's reply: in his Saved view, named by the conversation.
    save = message_action(_in_pane(bob.page, carols_id), "save")
    press(save)
    expect(save).to_have_attribute("aria-pressed", "true")
    _expect_in_saved(bob.page, c)

    # Alice's reload, Bob's second device (where his Saved view has it too), and
    # Bob's page offline while Alice replies and reacts.
    _survives(open_as, alice, bob, c)
