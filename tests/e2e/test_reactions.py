"""Reactions: an emoji put on a message from the picker, toggled from its pill,
seen live by everyone, kept across a reload, another device and a dropped
connection; the picker by keyboard; and the screenshots of them."""

import json
import re

from playwright.sync_api import Locator, Page, expect

from .conftest import PHONE, SCREENSHOTS
from .helpers import (
    assert_no_sideways_scroll,
    emoji_button,
    emoji_picker,
    every_look,
    go_offline,
    go_online,
    message,
    message_by_id,
    named_users,
    open_emoji_picker,
    press,
    react_button,
    reaction,
    screenshot,
    send_delivered,
    wait_connected,
)

THUMBS = "👍"
TADA = "🎉"
HEART = "❤️"


def _expect_pill(item: Locator, emoji: str, count: int, *, pressed: bool) -> Locator:
    pill = reaction(item, emoji)
    expect(pill).to_have_count(1)
    expect(pill.locator(".reaction-emoji")).to_have_text(emoji)
    expect(pill.locator(".reaction-count")).to_have_text(str(count))
    expect(pill).to_have_attribute("aria-pressed", "true" if pressed else "false")
    return pill


def _both_here(ana, ben) -> None:
    for me, other in ((ana, ben), (ben, ana)):
        wait_connected(me.page)
        expect(
            me.page.locator(f"#members li[data-user='{other.username}']")
        ).to_have_count(1)


def test_react_toggle_and_see_it_everywhere(open_as, backend):
    a, b = backend.users("ana", "ben")
    room = backend.room(a, backend.unique("reacts"), members=(b,))
    ana = open_as(a, f"/rooms/{room}/")
    ben = open_as(b, f"/rooms/{room}/", viewport=PHONE, color_scheme="dark")
    _both_here(ana, ben)
    message_id = send_delivered(ana.page, "Lunch at noon?")
    at_ana = message_by_id(ana.page, message_id)
    at_ben = message_by_id(ben.page, message_id)
    expect(at_ben).to_be_visible()
    expect(at_ben.locator(".reactions button.reaction")).to_have_count(0)

    # Ben (on his phone) opens the picker from the message, searches, picks.
    picker = open_emoji_picker(at_ben)
    # A first pick in this browser: nothing recent yet.
    expect(picker.get_by_role("group", name="Recent")).to_have_count(0)
    picker.locator("input").fill("thumbs")
    results = picker.get_by_role("group", name="Search results")
    expect(emoji_button(results, "thumbs_up")).to_have_text(THUMBS)
    expect(emoji_button(results, "thumbs_down")).to_be_visible()
    press(emoji_button(results, "thumbs_up"))
    expect(emoji_picker(ben.page)).to_have_count(0)

    pill = _expect_pill(at_ben, THUMBS, 1, pressed=True)
    expect(pill).to_have_attribute("title", re.compile(rf"\b{b}\b"))
    pill = _expect_pill(at_ana, THUMBS, 1, pressed=False)
    expect(pill).to_have_attribute("title", re.compile(rf"\b{b}\b"))
    expect(pill).not_to_have_attribute("title", re.compile(rf"\b{a}\b"))

    # Ana adds hers from the pill: two for both, pressed for both.
    reaction(at_ana, THUMBS).click()
    for item in (at_ana, at_ben):
        pill = _expect_pill(item, THUMBS, 2, pressed=True)
        expect(pill).to_have_attribute("title", re.compile(rf"\b{b}\b.*\b{a}\b"))
    assert_no_sideways_scroll(ben.page)

    # Ben takes his off: one, his no longer pressed, and Ana sees it live.
    press(reaction(at_ben, THUMBS))
    _expect_pill(at_ben, THUMBS, 1, pressed=False)
    pill = _expect_pill(at_ana, THUMBS, 1, pressed=True)
    expect(pill).to_have_attribute("title", re.compile(rf"\b{a}\b"))
    expect(pill).not_to_have_attribute("title", re.compile(rf"\b{b}\b"))

    # Stored: a reload of Ana's page shows the same, and so does a new device of
    # Ben's (where `me` comes from the server, not from what this page did).
    ana.page.reload()
    at_ana = message_by_id(ana.page, message_id)
    pill = _expect_pill(at_ana, THUMBS, 1, pressed=True)
    expect(pill).to_have_attribute("title", re.compile(rf"\b{a}\b"))
    ben2 = open_as(b, f"/rooms/{room}/")
    at_ben2 = message_by_id(ben2.page, message_id)
    _expect_pill(at_ben2, THUMBS, 1, pressed=False)

    # Ben's phone remembers his pick: Recent, first in the picker, has 👍.
    picker = open_emoji_picker(at_ben)
    recent = picker.get_by_role("group", name="Recent")
    expect(recent).to_be_visible()
    expect(recent.locator("button").first).to_have_text(THUMBS)
    press(emoji_button(recent, "thumbs_up"))
    expect(emoji_picker(ben.page)).to_have_count(0)
    _expect_pill(at_ben, THUMBS, 2, pressed=True)
    _expect_pill(at_ana, THUMBS, 2, pressed=True)
    # His other device follows live: pressed there too (he is `by`).
    _expect_pill(at_ben2, THUMBS, 2, pressed=True)

    # Recent is per browser: the new device has none.
    picker = open_emoji_picker(at_ben2)
    expect(picker.get_by_role("group", name="Common")).to_be_visible()
    expect(picker.get_by_role("group", name="Recent")).to_have_count(0)
    picker.locator("input").press("Escape")
    expect(emoji_picker(ben2.page)).to_have_count(0)

    # Nothing is shown twice.
    for item in (at_ana, at_ben, at_ben2):
        expect(item.locator(".reactions button.reaction")).to_have_count(1)


def _joins_sent(page: Page) -> list[dict]:
    """The data of every join_room the page sends from now on, on any socket."""
    joins: list[dict] = []

    def frame_sent(payload: str | bytes) -> None:
        frame = json.loads(payload)
        if frame.get("event") == "join_room":
            joins.append(frame.get("data") or {})

    page.on("websocket", lambda ws: ws.on("framesent", frame_sent))
    return joins


def test_reactions_made_while_offline_arrive_on_reconnect(open_as, backend):
    a, b = backend.users("ana", "ben")
    room = backend.room(a, backend.unique("offreact"), members=(b,))
    ana = open_as(a, None, color_scheme="dark")
    ana.page.clock.install()  # for go_offline
    joins = _joins_sent(ana.page)
    ana.goto(f"/rooms/{room}/")
    ben = open_as(b, f"/rooms/{room}/")
    _both_here(ana, ben)
    message_id = send_delivered(ana.page, "Who is coming on Saturday?")
    at_ana = message_by_id(ana.page, message_id)
    at_ben = message_by_id(ben.page, message_id)

    # Before the drop: 👍 from both.
    picker = open_emoji_picker(at_ana)
    picker.locator("input").fill("+1")
    emoji_button(picker, "thumbs_up").click()
    _expect_pill(at_ben, THUMBS, 1, pressed=False)
    reaction(at_ben, THUMBS).click()
    _expect_pill(at_ana, THUMBS, 2, pressed=True)
    _expect_pill(at_ben, THUMBS, 2, pressed=True)

    go_offline(ana.page)
    # Meanwhile Ben takes his 👍 off and puts 🎉 on.
    reaction(at_ben, THUMBS).click()
    _expect_pill(at_ben, THUMBS, 1, pressed=False)
    picker = open_emoji_picker(at_ben)
    picker.locator("input").fill("tada")
    emoji_button(picker, "party_popper").click()
    _expect_pill(at_ben, TADA, 1, pressed=True)
    # Ana, offline, still shows the old state.
    _expect_pill(at_ana, THUMBS, 2, pressed=True)
    expect(reaction(at_ana, TADA)).to_have_count(0)

    # Back online, the resync (join_room {after}) brings the message's reactions:
    # hers still pressed, his 🎉 added, in the order first used.
    joined_before = len(joins)
    go_online(ana.page)
    _expect_pill(at_ana, THUMBS, 1, pressed=True)
    pill = _expect_pill(at_ana, TADA, 1, pressed=False)
    expect(pill).to_have_attribute("title", re.compile(rf"\b{b}\b"))
    emojis = at_ana.locator(".reactions button.reaction")
    expect(emojis).to_have_count(2)
    assert [emojis.nth(i).get_attribute("data-emoji") for i in range(2)] == [
        THUMBS,
        TADA,
    ]

    resyncs = [j for j in joins[joined_before:] if j.get("room") == room]
    assert resyncs, f"no join_room for {room} after the reconnect: {joins}"
    assert all(isinstance(j.get("after"), int) for j in resyncs), resyncs

    # And live again both ways.
    reaction(at_ana, TADA).click()
    _expect_pill(at_ben, TADA, 2, pressed=True)
    _expect_pill(at_ana, TADA, 2, pressed=True)


def _tab_to(item: Locator, target: Locator) -> None:
    """Focus the message, then Tab along its controls until `target` has focus."""
    item.focus()
    for _ in range(6):
        item.page.keyboard.press("Tab")
        if target.evaluate("el => el === document.activeElement"):
            return
    expect(target).to_be_focused()


def test_emoji_picker_by_keyboard(open_as, backend):
    a, b = backend.users("ana", "ben")
    room = backend.room(a, backend.unique("keys"), members=(b,))
    ana = open_as(a, f"/rooms/{room}/", color_scheme="dark")
    ben = open_as(b, f"/rooms/{room}/")
    _both_here(ana, ben)
    message_id = send_delivered(ana.page, "Release is out")
    page = ana.page
    mine = message_by_id(page, message_id)
    button = mine.locator("button.react")
    picker = emoji_picker(page)
    search = picker.locator("input")

    # Tab from the message to its React button (the first of its buttons);
    # Enter opens the picker with the search box focused.
    mine.focus()
    page.keyboard.press("Tab")
    expect(button).to_be_focused()
    page.keyboard.press("Enter")
    expect(picker).to_be_visible()
    expect(search).to_be_focused()

    # A search, and Enter picks the first result.
    page.keyboard.type("tada")
    expect(emoji_button(picker, "party_popper")).to_be_visible()
    page.keyboard.press("Enter")
    expect(picker).to_have_count(0)
    _expect_pill(mine, TADA, 1, pressed=True)
    _expect_pill(message_by_id(ben.page, message_id), TADA, 1, pressed=False)

    # The arrows: down from the search box to the first emoji (the recent 🎉),
    # right to the next (the first common one, 👍); Enter picks it.
    _tab_to(mine, button)
    page.keyboard.press("Enter")
    expect(search).to_be_focused()
    page.keyboard.press("ArrowDown")
    recent = picker.get_by_role("group", name="Recent")
    expect(recent.locator("button").first).to_be_focused()
    expect(recent.locator("button").first).to_have_text(TADA)
    page.keyboard.press("ArrowRight")
    common = picker.get_by_role("group", name="Common")
    expect(common.locator("button").first).to_be_focused()
    expect(common.locator("button").first).to_have_text(THUMBS)
    page.keyboard.press("Enter")
    expect(picker).to_have_count(0)
    _expect_pill(mine, THUMBS, 1, pressed=True)
    expect(mine.locator(".reactions button.reaction")).to_have_count(2)

    # Escape closes it without picking; focus is back on the React button.
    _tab_to(mine, button)
    page.keyboard.press("Enter")
    expect(search).to_be_focused()
    page.keyboard.type("heart")
    expect(emoji_button(picker, "red_heart")).to_be_visible()
    page.keyboard.press("Escape")
    expect(picker).to_have_count(0)
    expect(button).to_be_focused()
    expect(mine.locator(".reactions button.reaction")).to_have_count(2)
    # Enter on it opens the picker again, the search empty; Escape again.
    page.keyboard.press("Enter")
    expect(search).to_be_focused()
    expect(search).to_have_value("")
    page.keyboard.press("Escape")
    expect(picker).to_have_count(0)
    expect(button).to_be_focused()


FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return "body";
  const item = el.closest("li.message");
  return `${el.tagName.toLowerCase()}.${[...el.classList].join(".")}`
    + (el.dataset.emoji ? `[${el.dataset.emoji}]` : "")
    + (item ? ` in message ${item.dataset.id}` : "");
}"""


def test_keyboard_focus_stays_put_when_reactions_change(open_as, backend):
    """A keyboard user keeps their place: after picking (the picker gives focus
    back to the React button), after toggling a pill with Enter, and while
    someone else reacts to the message they are on."""
    a, b = backend.users("ana", "ben")
    room = backend.room(a, backend.unique("focus"), members=(b,))
    ana = open_as(a, f"/rooms/{room}/", color_scheme="dark")
    ben = open_as(b, f"/rooms/{room}/")
    _both_here(ana, ben)
    message_id = send_delivered(ana.page, "Focus, please")
    page = ana.page
    mine = message_by_id(page, message_id)
    at_ben = message_by_id(ben.page, message_id)
    where = {}

    # Picked by keyboard: focus goes back to the React button.
    _tab_to(mine, mine.locator("button.react"))
    page.keyboard.press("Enter")
    expect(emoji_picker(page).locator("input")).to_be_focused()
    page.keyboard.type("tada")
    expect(emoji_button(emoji_picker(page), "party_popper")).to_be_visible()
    page.keyboard.press("Enter")
    _expect_pill(mine, TADA, 1, pressed=True)
    _expect_pill(at_ben, TADA, 1, pressed=False)
    where["after picking 🎉"] = page.evaluate(FOCUSED)

    # Enter on a pill toggles it; focus stays on the pill.
    reaction(at_ben, TADA).click()
    _expect_pill(mine, TADA, 2, pressed=True)
    pill = reaction(mine, TADA)
    _tab_to(mine, pill)
    page.keyboard.press("Enter")
    _expect_pill(mine, TADA, 1, pressed=False)
    _expect_pill(at_ben, TADA, 1, pressed=True)
    where["after Enter on the 🎉 pill"] = page.evaluate(FOCUSED)

    # Someone else's reaction to the message does not take focus away.
    _tab_to(mine, pill)
    picker = open_emoji_picker(at_ben)
    picker.locator("input").fill("+1")
    where["before Ben reacted 👍"] = page.evaluate(FOCUSED)
    emoji_button(picker, "thumbs_up").click()
    _expect_pill(mine, THUMBS, 1, pressed=False)
    where["after Ben reacted 👍"] = page.evaluate(FOCUSED)

    on_pill = f"button.reaction[{TADA}] in message {message_id}"
    expected = {
        "after picking 🎉": f"button.react in message {message_id}",
        "after Enter on the 🎉 pill": on_pill,
        "before Ben reacted 👍": on_pill,
        "after Ben reacted 👍": on_pill,
    }
    assert where == expected, f"focus went elsewhere: {where}"


def _react(backend, message_id: int, *pairs: tuple[str, str]) -> None:
    backend.run(
        "from django.contrib.auth import get_user_model\n"
        "from chat.domain.services.reactions import reaction_set\n"
        "User = get_user_model()\n"
        "for name, emoji in data['pairs']:\n"
        "    reaction_set(user=User.objects.get(username=name),"
        " message_id=data['id'], emoji=emoji, on=True)\n",
        id=message_id,
        pairs=[list(p) for p in pairs],
    )


def test_reaction_screenshots(open_as, backend):
    """docs/screenshots/reactions-{light,dark}[-phone].png, of a room with
    reactions (some the viewer's, pressed), and emoji-picker-*.png, the picker
    open."""
    ana, ben, cara, dan = named_users(backend, "maya", "leo", "sofia", "omar")
    room = backend.room(
        ana,
        "offsite",
        topic="Team offsite: dates, places, food",
        members=(ben, cara, dan),
    )
    ids = backend.messages(
        room,
        [
            (ben, "The venue confirmed: the lake house, 14 to 16 May."),
            (cara, "Perfect, I'll book the train for everyone."),
            (ana, "Who is in for the hike on Saturday morning?"),
            (dan, "Me! And I'll bring the coffee."),
        ],
    )
    _react(backend, ids[0], (ana, TADA), (cara, TADA), (dan, TADA), (dan, HEART))
    _react(backend, ids[1], (ana, "🙏"), (ben, "🙏"))
    _react(backend, ids[2], (ben, THUMBS), (cara, THUMBS), (dan, THUMBS), (dan, "🥾"))
    _react(backend, ids[3], (ana, "☕"))
    for page, look in every_look(open_as, ana, f"/rooms/{room}/"):
        item = message_by_id(page, str(ids[0]))
        _expect_pill(item, TADA, 3, pressed=True)
        _expect_pill(item, HEART, 1, pressed=False)
        _expect_pill(message(page, "Who is in"), THUMBS, 3, pressed=False)
        assert_no_sideways_scroll(page)
        screenshot(page, f"reactions-{look}")

        # The picker, opened on the last message, a search typed.
        last = message_by_id(page, str(ids[3]))
        picker = open_emoji_picker(last)
        expect(picker.get_by_role("group", name="Common")).to_be_visible()
        box = picker.bounding_box()
        viewport = page.viewport_size
        assert box is not None
        assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"], box
        assert box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"], box
        assert_no_sideways_scroll(page)
        page.screenshot(path=str(SCREENSHOTS / f"emoji-picker-{look}.png"))
        picker.locator("input").press("Escape")
        expect(picker).to_have_count(0)
        react_button(last)  # still there
