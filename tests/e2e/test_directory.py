"""The room directory: create, search, join, chat; private rooms stay hidden."""

import re

from playwright.sync_api import Page, expect

from .helpers import message, send_delivered


def _create(page: Page, name: str, kind: str, topic: str) -> None:
    form = page.locator("form#create-room")
    form.locator("#id_name").fill(name)
    form.locator("#id_kind").select_option(kind)
    form.locator("#id_topic").fill(topic)
    form.locator("button[type=submit]").click()


def _search(page: Page, q: str) -> None:
    box = page.locator("form#room-search input[name=q]")
    box.fill(q)
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"[?&]q="))


def test_create_find_join_and_chat(open_as, backend, server):
    a, b = backend.users("ana", "ben")
    public = backend.unique("plaza")
    private = backend.unique("secret")
    ana = open_as(a, "/")
    ana.page.locator("a#browse-rooms").click()
    expect(ana.page).to_have_url(f"{server.url}/rooms/")

    # A bad name is refused with a clear error, and nothing is created.
    _create(ana.page, "Not a name!", "public", "")
    expect(ana.page.locator("form#create-room .errorlist")).to_be_visible()
    expect(ana.page.locator("form#create-room .errorlist")).not_to_have_text("")

    # A private room: Ana lands in it.
    ana.goto("/rooms/")
    _create(ana.page, private, "private", "Hush")
    expect(ana.page).to_have_url(f"{server.url}/rooms/{private}/")

    # A public room with a topic.
    ana.goto("/rooms/")
    _create(ana.page, public, "public", "Everything about plazas")
    expect(ana.page).to_have_url(f"{server.url}/rooms/{public}/")
    expect(ana.page.locator("#room-title")).to_contain_text(public)
    expect(ana.page.locator("#room-topic")).to_have_text("Everything about plazas")
    expect(
        ana.page.locator(f"#room-list li.room-item[data-room='{public}']")
    ).to_have_class(re.compile(r"\bactive\b"))

    # Ben finds it by name, with its topic and member count, and joins.
    ben = open_as(b, "/rooms/")
    _search(ben.page, public)
    entry = ben.page.locator(f"#directory li.directory-room[data-room='{public}']")
    expect(entry.locator(".name")).to_contain_text(public)
    expect(entry.locator(".topic")).to_have_text("Everything about plazas")
    expect(entry.locator(".member-count")).to_have_text(
        re.compile(r"^\s*1 members?\s*$")
    )
    # The private room is not listed, whatever the search.
    _search(ben.page, private)
    expect(
        ben.page.locator(f"#directory li.directory-room[data-room='{private}']")
    ).to_have_count(0)
    ben.goto("/rooms/")
    expect(ben.page.locator("#directory li.directory-room").first).to_be_visible()
    expect(
        ben.page.locator(f"#directory li.directory-room[data-room='{private}']")
    ).to_have_count(0)
    # …and not readable by URL either.
    response = ben.page.goto(f"{server.url}/rooms/{private}/")
    assert response is not None and response.status in (403, 404)

    ben.goto(f"/rooms/?q={public}")
    entry.locator("button.join").click()
    if not re.search(rf"/rooms/{public}/$", ben.page.url):
        expect(entry.locator("a.open")).to_be_visible()
        entry.locator("a.open").click()
    expect(ben.page).to_have_url(f"{server.url}/rooms/{public}/")
    expect(
        ben.page.locator(f"#room-list li.room-item[data-room='{public}']")
    ).to_have_count(1)

    send_delivered(ben.page, "hello plaza people")
    expect(message(ana.page, "hello plaza people")).to_be_visible()
    send_delivered(ana.page, "welcome, Ben")
    expect(message(ben.page, "welcome, Ben")).to_be_visible()

    # Now a member: two members, and an "open" link instead of "join".
    ben.goto(f"/rooms/?q={public}")
    expect(entry.locator(".member-count")).to_have_text(
        re.compile(r"^\s*2 members\s*$")
    )
    expect(entry.locator("a.open")).to_have_attribute(
        "href", re.compile(rf"/rooms/{public}/$")
    )
    expect(entry.locator("button.join")).to_have_count(0)


def test_an_invited_member_sees_the_private_room_at_once(open_as, backend):
    """Being added to a private room used to show only after a reload."""
    a, b = backend.users("ana", "ben")
    lobby = backend.room(a, backend.unique("lobby"), members=(b,))
    secret = backend.room(a, backend.unique("secret"), kind="private")
    ana = open_as(a, f"/rooms/{secret}/")
    ben = open_as(b, f"/rooms/{lobby}/")
    send_delivered(ana.page, "before ben was here")
    item = ben.page.locator(f"#room-list li.room-item[data-room='{secret}']")
    expect(item).to_have_count(0)

    invite = ana.page.locator("form#invite")
    invite.locator("input[name=username]").fill(b)
    invite.locator("button[type=submit]").click()

    expect(item).to_have_count(1)
    expect(item.locator(".badge")).to_have_text("1")
    expect(ben.page.locator("#notice")).to_contain_text(f"{a} added you to #{secret}")
    item.locator("a").click()
    expect(message(ben.page, "before ben was here")).to_be_visible()


def test_leaving_a_room_for_good_takes_it_off_every_device(open_as, backend):
    a, b = backend.users("ana", "ben")
    room = backend.room(a, backend.unique("leaveme"), members=(b,))
    phone = open_as(b, f"/rooms/{room}/")
    laptop = open_as(b, "/")
    item = laptop.page.locator(f"#room-list li.room-item[data-room='{room}']")
    expect(item).to_have_count(1)
    leave = phone.page.locator("#leave-conversation")
    expect(leave).to_have_text("Leave room")
    leave.click()  # the confirm() is accepted
    expect(phone.page).to_have_url(re.compile(r"/$"))
    expect(item).to_have_count(0)
    expect(
        phone.page.locator(f"#room-list li.room-item[data-room='{room}']")
    ).to_have_count(0)
