"""User text is text: markup in messages, topics and names runs nothing, and
links open safely."""

from playwright.sync_api import expect

from .helpers import message, send_delivered

IMG = "<img src=x onerror=alert(1)>"
TOPIC = "<img src=x onerror=alert('topic')> & <b>bold</b>"


def test_markup_in_messages_and_topics_is_shown_as_text(open_as, backend):
    a, b = backend.users("ana", "ben")
    room = backend.room(a, backend.unique("xss"), topic=TOPIC, members=(b,))
    ana = open_as(a, f"/rooms/{room}/")
    ben = open_as(b, f"/rooms/{room}/")
    expect(ben.page.locator(f"#people li.person[data-user='{a}']")).to_have_count(1)

    send_delivered(ana.page, IMG)
    send_delivered(ana.page, "<script>alert(2)</script><b>bob</b>")
    for actor in (ana, ben):
        page = actor.page
        expect(message(page, IMG).locator(".body")).to_have_text(IMG)
        expect(message(page, "<b>bob</b>").locator(".body")).to_have_text(
            "<script>alert(2)</script><b>bob</b>"
        )
        expect(page.locator("#room-topic")).to_have_text(TOPIC)
        expect(page.locator("#messages img")).to_have_count(0)
        expect(page.locator("#messages script, #messages b")).to_have_count(0)
        expect(page.locator("#room-topic img, #room-topic b")).to_have_count(0)

    # The directory shows the topic as text too.
    ben.goto(f"/rooms/?q={room}")
    entry = ben.page.locator(f"#directory li.directory-room[data-room='{room}']")
    expect(entry.locator(".topic")).to_have_text(TOPIC)
    expect(ben.page.locator("#directory img")).to_have_count(0)

    # A reload renders the history the same way.
    ana.page.reload()
    expect(message(ana.page, IMG).locator(".body")).to_have_text(IMG)
    expect(ana.page.locator("#messages img")).to_have_count(0)
    ana.page.wait_for_timeout(200)  # an onerror would have fired by now
    assert ana.dialogs == [] and ben.dialogs == []


def test_links_become_safe_anchors(open_as, backend):
    a, b = backend.users("ana", "ben")
    room = backend.room(a, backend.unique("links"), members=(b,))
    ana = open_as(a, f"/rooms/{room}/")
    ben = open_as(b, f"/rooms/{room}/")
    expect(ben.page.locator(f"#people li.person[data-user='{a}']")).to_have_count(1)

    send_delivered(ana.page, "the spec is at https://example.com/x today")
    send_delivered(ana.page, "not a link: javascript:alert(3)")
    for actor in (ana, ben):
        body = message(actor.page, "the spec is at").locator(".body")
        expect(body).to_have_text("the spec is at https://example.com/x today")
        link = body.locator("a")
        expect(link).to_have_count(1)
        expect(link).to_have_attribute("href", "https://example.com/x")
        expect(link).to_have_text("https://example.com/x")
        expect(link).to_have_attribute("target", "_blank")
        rel = (link.get_attribute("rel") or "").split()
        assert {"noopener", "noreferrer", "nofollow"} <= set(rel), rel
        expect(
            message(actor.page, "javascript:alert(3)").locator(".body a")
        ).to_have_count(0)
