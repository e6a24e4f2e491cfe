"""The member pane (everyone in the room, online first), moderation from its
menu, and the message list as one Tab stop (docs/UI-CONTRACT.md)."""

from playwright.sync_api import Page, expect

from .conftest import SCREENSHOTS
from .helpers import has_class, message, named_users, wait_connected


def make_moderator(backend, room: str, username: str) -> None:
    backend.run(
        "from chat.models import Membership\n"
        "Membership.objects.filter(room__name=data['room'],"
        " user__username=data['user']).update(role='moderator')\n",
        room=room,
        user=username,
    )


def make_staff(backend, username: str) -> None:
    backend.run(
        "from django.contrib.auth import get_user_model\n"
        "get_user_model().objects.filter(username=data['name'])"
        ".update(is_staff=True)\n",
        name=username,
    )


def member_names(page: Page) -> list[str]:
    return page.eval_on_selector_all(
        "#members > li", "els => els.map(e => e.dataset.user)"
    )


def row(page: Page, username: str):
    return page.locator(f"#members > li[data-user='{username}']")


def test_the_pane_lists_every_member_online_first(open_as, backend):
    ana, ben, cat, dia = backend.users("ana", "ben", "cat", "dia")
    room = backend.room(ana, backend.unique("team"), members=(ben, cat, dia))
    make_moderator(backend, room, dia)
    them = open_as(ana, f"/rooms/{room}/")
    me = open_as(ben, f"/rooms/{room}/")
    page = me.page
    wait_connected(page)

    # Everyone, the offline ones too: online first, then by name.
    expect(row(page, dia)).to_have_count(1)
    expect(page.locator("#members > li")).to_have_count(4)
    assert member_names(page) == [ana, ben, cat, dia]
    expect(row(page, ana)).to_have_class(has_class("online"))
    expect(row(page, cat)).not_to_have_class(has_class("online"))
    expect(row(page, dia)).not_to_have_class(has_class("online"))
    expect(row(page, ana).locator(".role")).to_have_text("owner")
    expect(row(page, dia).locator(".role")).to_have_text("moderator")
    expect(row(page, cat).locator(".role")).to_have_count(0)
    expect(row(page, cat).locator(".presence-dot")).to_have_count(1)
    expect(page.locator("#members-count")).to_have_text("2 of 4 online")
    expect(page.locator("#members-heading")).to_have_text("Members")
    # A plain member has no moderation menu, and is not told who is muted.
    expect(page.locator("#members button.moderate")).to_have_count(0)

    # Dia comes online, over long-polling: she moves up among those online, and
    # her pane, from the same request over the other transport, lists everyone.
    polling = open_as(dia, f"/rooms/{room}/?transport=poll").page
    expect(polling.locator("#transport-indicator")).to_be_visible()
    expect(row(page, dia)).to_have_class(has_class("online"))
    expect(page.locator("#members-count")).to_have_text("3 of 4 online")
    assert member_names(page) == [ana, ben, dia, cat]
    expect(polling.locator("#members-count")).to_have_text("3 of 4 online")
    assert member_names(polling) == [ana, ben, dia, cat]
    # A moderator: the menu for the plain members, not for the owner.
    expect(polling.locator("#members button.moderate")).to_have_count(2)
    expect(row(polling, cat).locator("button.moderate")).to_have_count(1)
    expect(row(polling, ana).locator("button.moderate")).to_have_count(0)

    # Ana closes her browser: still a member, now offline, below those online.
    them.close()
    expect(row(page, ana)).not_to_have_class(has_class("online"))
    expect(page.locator("#members-count")).to_have_text("2 of 4 online")
    assert member_names(page) == [ben, dia, ana, cat]

    # A newcomer to the (public) room shows up without a reload.
    eve = backend.users("eve")[0]
    open_as(eve, f"/rooms/{room}/")
    expect(row(page, eve)).to_have_count(1)
    expect(row(page, eve)).to_have_class(has_class("online"))


def test_a_moderator_mutes_and_kicks_from_the_menu(open_as, backend):
    ana, mia, ben, cat, boss = backend.users("ana", "mia", "ben", "cat", "boss")
    room = backend.room(ana, backend.unique("team"), members=(mia, ben, cat, boss))
    make_moderator(backend, room, mia)
    make_staff(backend, boss)
    victim = open_as(ben, f"/rooms/{room}/")
    moderator = open_as(mia, f"/rooms/{room}/")
    page = moderator.page
    wait_connected(page)
    expect(row(page, ben)).to_have_class(has_class("online"))

    # The menu is offered for plain members only: not for herself, nor for the
    # owner. (Staff look like members: the server refuses, below.)
    expect(page.get_by_role("button", name=f"Moderate {ben}")).to_have_count(1)
    expect(page.get_by_role("button", name=f"Moderate {cat}")).to_have_count(1)
    expect(page.get_by_role("button", name=f"Moderate {ana}")).to_have_count(0)
    expect(page.get_by_role("button", name=f"Moderate {mia}")).to_have_count(0)
    expect(page.locator("#members button.moderate")).to_have_count(3)

    # Mute Ben for an hour, with a reason: he is told, and the pane says so.
    menu = page.get_by_role("button", name=f"Moderate {ben}")
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    form = page.locator("#moderate-form")
    expect(form).to_be_visible()
    expect(page.locator("#moderate-reason")).to_be_focused()
    page.locator("#moderate-reason").fill("please calm down")
    page.locator("#moderate-duration").select_option(label="1 hour")
    form.locator("button.mute").click()
    expect(form).to_have_count(0)
    expect(page.locator("#members-status")).to_contain_text(f"Muted {ben} until")
    expect(row(page, ben)).to_have_class(has_class("muted"))
    expect(row(page, ben).locator(".muted-mark")).to_have_text("muted")
    notice = victim.page.locator("#notice")
    expect(notice).to_contain_text(f"{mia} muted you in #{room} until")
    expect(notice).to_contain_text("please calm down")
    # Muted, he can read but not post.
    victim.page.locator("#message-input").fill("can I still talk?")
    victim.page.locator("#message-input").press("Enter")
    expect(message(victim.page, "can I still talk?")).to_have_attribute(
        "data-state", "failed"
    )

    # A custom duration out of range is refused before it is sent; Escape closes
    # the form and gives the focus back to its button.
    page.get_by_role("button", name=f"Moderate {cat}").click()
    page.locator("#moderate-duration").select_option("custom")
    minutes = page.locator("#moderate-minutes")
    expect(minutes).to_be_visible()
    minutes.fill("0")
    form.locator("button.mute").click()
    expect(page.locator("#moderate-error")).to_contain_text("1 to 10080 minutes")
    page.keyboard.press("Escape")
    expect(form).to_have_count(0)
    expect(page.get_by_role("button", name=f"Moderate {cat}")).to_be_focused()

    # Staff outrank a moderator: the server says no, and the form says why.
    page.get_by_role("button", name=f"Moderate {boss}").click()
    form.locator("button.mute").click()
    expect(page.locator("#moderate-error")).to_have_text(
        "you cannot moderate this member"
    )
    expect(form).to_be_visible()
    form.locator("button.cancel").click()
    expect(form).to_have_count(0)

    # Kick Ben, with a reason: the button asks once more, then he is out.
    page.get_by_role("button", name=f"Moderate {ben}").click()
    page.locator("#moderate-reason").fill("spam links")
    kick = form.locator("button.kick")
    kick.click()
    expect(kick).to_have_text(f"Kick {ben}?")
    expect(kick).to_have_class(has_class("armed"))
    kick.click()
    expect(page.locator("#members-status")).to_have_text(f"Removed {ben} from #{room}.")
    expect(page.locator("#members-status")).to_be_focused()
    expect(row(page, ben)).to_have_count(0)
    expect(notice).to_contain_text(f"You were removed from #{room} by {mia}")
    expect(notice).to_contain_text("spam links")
    expect(victim.page.locator(f"#room-list li[data-room='{room}']")).to_have_count(0)


def test_screenshot_of_the_moderation_menu(open_as, backend):
    olga, mia, ben, cat, dan = named_users(backend, "olga", "mia", "ben", "cat", "dan")
    room = backend.room(olga, backend.unique("design"), members=(mia, ben, cat, dan))
    make_moderator(backend, room, mia)
    backend.run(
        "from datetime import timedelta\n"
        "from django.contrib.auth import get_user_model\n"
        "from django.utils import timezone\n"
        "from chat.models import Mute, Room\n"
        "User = get_user_model()\n"
        "Mute.objects.create(room=Room.objects.get(name=data['room']),"
        " user=User.objects.get(username='cat'),"
        " expires_at=timezone.now() + timedelta(hours=1),"
        " created_by=User.objects.get(username='olga'))\n",
        room=room,
    )
    open_as(ben, f"/rooms/{room}/")
    page = open_as(mia, f"/rooms/{room}/").page
    wait_connected(page)
    expect(row(page, ben)).to_have_class(has_class("online"))
    expect(row(page, cat)).to_have_class(has_class("muted"))
    page.get_by_role("button", name="Moderate ben").click()
    page.locator("#moderate-reason").fill("Off-topic, please")
    page.locator("#moderate-duration").select_option("custom")
    page.locator("#moderate-minutes").fill("45")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.mouse.move(0, page.viewport_size["height"] - 1)
    page.locator(".members-pane").screenshot(
        path=str(SCREENSHOTS / "members-moderation-menu.png")
    )
    page.screenshot(path=str(SCREENSHOTS / "members-moderation-menu-page.png"))


# --- The keyboard --------------------------------------------------------------------

WHERE = """() => {
  const e = document.activeElement;
  if (e.id === 'message-input') return 'composer';
  const li = e.closest('li.message');
  if (li) return e === li ? 'message ' + li.dataset.id : 'in ' + li.dataset.id;
  return e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + '.' + e.className;
}"""


def tab_walk(page: Page, *, fresh: bool, limit: int = 60) -> list[str]:
    """Tab from the top of the page until the message box has the focus: where
    each press landed. `fresh`: the page was just loaded (nothing focused yet);
    otherwise the walk starts on the page's first stop, the skip link."""
    stops: list[str] = []
    if not fresh:
        page.locator("a.skip-link").focus()
        stops.append(page.evaluate(WHERE))
    for _ in range(limit):
        page.keyboard.press("Tab")
        stops.append(page.evaluate(WHERE))
        if stops[-1] == "composer":
            break
    return stops


def test_the_message_list_is_one_tab_stop(open_as, backend):
    ana, ben = backend.users("ana", "ben")
    room = backend.room(ana, backend.unique("keys"), members=(ben,))
    ids = backend.messages(
        room, [(ana if i % 3 == 0 else ben, f"line {i}") for i in range(20)]
    )
    page = open_as(ana, f"/rooms/{room}/").page
    wait_connected(page)
    expect(message(page, "line 19")).to_be_visible()
    stops_here = page.locator("#messages > li.message[tabindex='0']")
    expect(stops_here).to_have_count(1)
    expect(stops_here).to_have_attribute("data-id", str(ids[-1]))  # the newest

    # From the top of the page (past the skip link), the message box is within
    # 30 presses: the list is one stop, and only its one message's controls.
    stops = tab_walk(page, fresh=True)
    assert stops[0].startswith("a.skip-link"), stops
    assert stops[-1] == "composer", stops
    assert len(stops) <= 30, stops
    assert [s for s in stops if s.startswith("message ")] == [f"message {ids[-1]}"]
    assert {s for s in stops if s.startswith("in ")} <= {f"in {ids[-1]}"}

    # Up, Down, Home and End move the stop between messages.
    newest = page.locator(f"#messages li.message[data-id='{ids[-1]}']")
    newest.focus()
    page.keyboard.press("ArrowUp")
    previous = page.locator(f"#messages li.message[data-id='{ids[-2]}']")
    expect(previous).to_be_focused()
    expect(previous).to_have_attribute("tabindex", "0")
    expect(newest).to_have_attribute("tabindex", "-1")
    expect(stops_here).to_have_count(1)
    page.keyboard.press("Home")
    first = page.locator(f"#messages li.message[data-id='{ids[0]}']")
    expect(first).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(page.locator(f"#messages li.message[data-id='{ids[1]}']")).to_be_focused()
    page.keyboard.press("End")
    expect(newest).to_be_focused()

    # Enter goes into the message's actions, Escape comes back out; Tab from
    # the message goes to its first action, too.
    page.keyboard.press("Enter")
    expect(newest.locator("button.react")).to_be_focused()
    page.keyboard.press("Escape")
    expect(newest).to_be_focused()
    page.keyboard.press("Tab")
    expect(newest.locator("button.react")).to_be_focused()

    # The stop stays where it was left: Tab from the top comes back to it.
    page.keyboard.press("Escape")
    page.keyboard.press("Home")
    stops = tab_walk(page, fresh=False)
    assert [s for s in stops if s.startswith("message ")] == [f"message {ids[0]}"]
    # Other messages' buttons are out of the Tab order, not gone.
    other = page.locator(f"#messages li.message[data-id='{ids[5]}'] button.react")
    expect(other).to_have_attribute("tabindex", "-1")


def test_the_focused_message_keeps_the_focus_as_older_ones_load(open_as, backend):
    ana, ben = backend.users("ana", "ben")
    room = backend.room(ana, backend.unique("long"), members=(ben,))
    ids = backend.messages(room, [(ben, f"old {i}") for i in range(70)])
    page = open_as(ana, f"/rooms/{room}/").page
    wait_connected(page)
    items = page.locator("#messages > li.message")
    expect(items).to_have_count(50)  # the newest page

    # Home goes to the first message shown, at the top of the list: the older
    # page loads, and the focus stays on that message; Home again reaches the
    # oldest.
    page.locator(f"#messages li.message[data-id='{ids[-1]}']").focus()
    page.keyboard.press("Home")
    expect(items).to_have_count(70)
    oldest_shown = page.locator(f"#messages li.message[data-id='{ids[20]}']")
    expect(oldest_shown).to_be_focused()
    expect(oldest_shown).to_have_attribute("tabindex", "0")
    page.keyboard.press("Home")
    expect(page.locator(f"#messages li.message[data-id='{ids[0]}']")).to_be_focused()
    expect(page.locator("#messages > li.message[tabindex='0']")).to_have_count(1)
