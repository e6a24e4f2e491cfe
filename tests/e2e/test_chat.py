"""Two people talking: in a room, by direct message, with typing, presence,
unread badges, and edits and deletions seen live."""

import re

from playwright.sync_api import expect

from .helpers import (
    BLANK,
    NUMBER,
    has_class,
    message,
    message_by_id,
    send_delivered,
)


def test_two_users_chat_in_a_room(open_as, backend):
    a, b = backend.users("ana", "ben")
    room = backend.room(a, backend.unique("lobby"), topic="Our lobby", members=(b,))
    ana = open_as(a, f"/rooms/{room}/")
    ben = open_as(b, f"/rooms/{room}/")
    expect(ana.page.locator("#conversation")).to_have_attribute("data-room", room)
    expect(ana.page.locator("#room-title")).to_contain_text(room)
    expect(ana.page.locator("#room-topic")).to_have_text("Our lobby")

    # Presence: each sees the other online, in the room and on the site.
    expect(ana.page.locator(f"#members li[data-user='{b}']")).to_have_count(1)
    expect(ben.page.locator(f"#members li[data-user='{a}']")).to_have_count(1)
    expect(ben.page.locator(f"#people li.person[data-user='{a}']")).to_have_class(
        has_class("online")
    )

    # Typing: shown to the other, not to the typer; cleared by the send.
    ana.page.locator("#message-input").press_sequentially("Hello Ben", delay=15)
    expect(ben.page.locator("#typing")).to_have_text(f"{a} is typing…")
    expect(ana.page.locator("#typing")).to_have_text(BLANK)
    ana.page.locator("#message-input").press("Enter")
    seen = message(ben.page, "Hello Ben")
    expect(seen).to_be_visible()
    expect(seen).to_have_attribute("data-author", a)
    expect(seen.locator(".author")).to_have_text(a)
    expect(seen.locator("time")).to_have_text(re.compile(r"\d"))
    expect(seen).not_to_have_class(has_class("mine"))
    expect(ben.page.locator("#typing")).to_have_text(BLANK)
    mine = message(ana.page, "Hello Ben")
    expect(mine).to_have_class(has_class("mine"))
    expect(mine).to_have_attribute("data-state", "delivered")
    expect(mine).to_have_attribute("data-id", seen.get_attribute("data-id") or "-")
    expect(ana.page.locator("#message-input")).to_have_value("")

    # Shift+Enter is a new line, not a send.
    box = ben.page.locator("#message-input")
    box.fill("Hi Ana")
    box.press("Shift+Enter")
    box.press_sequentially("two lines")
    expect(box).to_have_value("Hi Ana\ntwo lines")
    box.press("Enter")
    reply = message(ana.page, "two lines")
    expect(reply).to_be_visible()
    expect(reply.locator(".body")).to_contain_text("Hi Ana")
    expect(reply).to_have_attribute("data-author", b)

    # Ben leaves (closes the browser): Ana sees him go offline; he is still one
    # of the room's members.
    ben.close()
    gone = ana.page.locator(f"#members li[data-user='{b}']")
    expect(gone).not_to_have_class(has_class("online"))
    expect(gone).to_have_count(1)
    expect(ana.page.locator(f"#people li.person[data-user='{b}']")).to_have_count(0)


def test_direct_messages_both_ways(open_as, backend):
    a, b = backend.users("ana", "ben")
    ben = open_as(b, "/")
    expect(ben.page.locator("#empty-state")).to_be_visible()
    ana = open_as(a, f"/dm/{b}/")
    expect(ana.page.locator("#conversation")).to_have_attribute("data-peer", b)
    send_delivered(ana.page, "psst, Ben")

    # Ben is elsewhere: the conversation appears in his sidebar, unread, with
    # Ana online.
    item = ben.page.locator(f"#dm-list li.dm-item[data-user='{a}']")
    expect(item.locator(".badge")).to_have_text("1")
    expect(item).to_have_class(has_class("unread"))
    expect(item).to_have_class(has_class("online"))
    expect(ben.page).to_have_title(re.compile(r"^\(1\) "))
    item.locator(f"a[href$='/dm/{a}/']").click()
    expect(ben.page).to_have_url(re.compile(rf"/dm/{a}/$"))
    expect(message(ben.page, "psst, Ben")).to_be_visible()
    expect(item.locator(".badge")).to_be_hidden()
    expect(item).to_have_class(has_class("active"))
    expect(ben.page).not_to_have_title(re.compile(r"^\("))

    # Both in the conversation: live both ways.
    send_delivered(ben.page, "hey Ana")
    expect(message(ana.page, "hey Ana")).to_be_visible()
    expect(message(ana.page, "hey Ana")).to_have_attribute("data-author", b)
    peer_item = ana.page.locator(f"#dm-list li.dm-item[data-user='{b}']")
    expect(peer_item).to_have_class(has_class("online"))
    send_delivered(ana.page, "see you at 3")
    expect(message(ben.page, "see you at 3")).to_be_visible()


def test_unread_badges_clear_when_read(open_as, backend):
    a, b = backend.users("ana", "ben")
    x = backend.room(a, backend.unique("xroom"), members=(b,))
    y = backend.room(a, backend.unique("yroom"), members=(b,))
    ben = open_as(b, f"/rooms/{x}/")
    ana = open_as(a, f"/rooms/{y}/")
    y_item = ben.page.locator(f"#room-list li.room-item[data-room='{y}']")
    x_item = ben.page.locator(f"#room-list li.room-item[data-room='{x}']")
    expect(y_item.locator(".badge")).to_be_hidden()
    expect(x_item).to_have_class(has_class("active"))
    # Both connected: each sees the other online.
    expect(ana.page.locator(f"#people li.person[data-user='{b}']")).to_have_count(1)
    expect(ben.page.locator(f"#people li.person[data-user='{a}']")).to_have_count(1)

    send_delivered(ana.page, "news in y")
    expect(y_item.locator(".badge")).to_have_text("1")
    expect(y_item.locator(".badge")).to_be_visible()
    expect(y_item).to_have_class(has_class("unread"))
    expect(ben.page).to_have_title(re.compile(r"^\(1\) "))
    expect(x_item.locator(".badge")).to_be_hidden()
    # Ana's own message is not unread for her.
    expect(
        ana.page.locator(f"#room-list li.room-item[data-room='{y}'] .badge")
    ).to_be_hidden()

    y_item.locator(f"a[href$='/rooms/{y}/']").click()
    expect(ben.page).to_have_url(re.compile(rf"/rooms/{y}/$"))
    expect(message(ben.page, "news in y")).to_be_visible()
    expect(y_item.locator(".badge")).to_be_hidden()
    expect(y_item).not_to_have_class(has_class("unread"))
    expect(ben.page).not_to_have_title(re.compile(r"^\("))

    # mark_read was stored: a reload (and another room) still shows it read.
    ben.page.wait_for_timeout(300)  # let the mark_read frame reach the server
    ben.goto(f"/rooms/{x}/")
    y_item = ben.page.locator(f"#room-list li.room-item[data-room='{y}']")
    expect(y_item).to_have_count(1)
    expect(y_item.locator(".badge")).to_be_hidden()
    expect(y_item).not_to_have_class(has_class("unread"))
    ben.page.reload()
    expect(ben.page.locator(f"#room-list li.room-item[data-room='{x}']")).to_have_class(
        has_class("active")
    )
    expect(y_item.locator(".badge")).to_be_hidden()
    expect(ben.page).not_to_have_title(re.compile(r"^\("))


def test_edit_and_delete_seen_live(open_as, backend):
    a, b = backend.users("ana", "ben")
    room = backend.room(a, backend.unique("edits"), members=(b,))
    ana = open_as(a, f"/rooms/{room}/")
    ben = open_as(b, f"/rooms/{room}/")
    expect(ben.page.locator(f"#members li[data-user='{a}']")).to_have_count(1)
    message_id = send_delivered(ana.page, "teh typo")
    mine = message_by_id(ana.page, message_id)
    theirs = message_by_id(ben.page, message_id)
    expect(theirs.locator(".body")).to_have_text("teh typo")
    # Only the author gets the buttons.
    expect(theirs.locator("button.edit")).to_have_count(0)
    expect(theirs.locator("button.delete")).to_have_count(0)

    mine.hover()
    mine.locator("button.edit").click()
    editor = mine.locator("textarea.edit-input")
    expect(editor).to_be_visible()
    expect(editor).to_have_value("teh typo")
    editor.fill("the typo, fixed")
    editor.press("Enter")
    expect(editor).to_have_count(0)
    expect(mine.locator(".body")).to_have_text("the typo, fixed")
    expect(theirs.locator(".body")).to_have_text("the typo, fixed")
    expect(theirs).to_have_class(has_class("edited"))
    expect(mine).to_have_class(has_class("edited"))

    # Escape cancels an edit.
    mine.hover()
    mine.locator("button.edit").click()
    mine.locator("textarea.edit-input").fill("never saved")
    mine.locator("textarea.edit-input").press("Escape")
    expect(mine.locator("textarea.edit-input")).to_have_count(0)
    expect(mine.locator(".body")).to_have_text("the typo, fixed")

    mine.hover()
    delete = mine.locator("button.delete")
    delete.click()  # asks first: nothing deleted yet
    expect(delete).to_have_text("Delete for everyone?")
    expect(theirs).not_to_have_class(has_class("deleted"))
    delete.click()
    expect(theirs).to_have_class(has_class("deleted"))
    expect(theirs.locator(".body")).to_have_text("This message was deleted.")
    expect(mine).to_have_class(has_class("deleted"))
    expect(mine.locator(".body")).to_have_text("This message was deleted.")
    expect(mine.locator("button.edit")).to_have_count(0)
    # Still in place, once.
    expect(ben.page.locator("#messages li.message[data-id]")).to_have_count(1)
    expect(theirs).to_have_attribute("data-id", NUMBER)
    ben.page.reload()
    expect(message_by_id(ben.page, message_id)).to_have_class(has_class("deleted"))
    expect(message(ben.page, "the typo, fixed")).to_have_count(0)
