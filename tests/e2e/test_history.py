"""Scrolling up loads older history, in place, without a jump or a repeat."""

from playwright.sync_api import expect

from .helpers import assert_no_duplicates, message, message_by_id, messages

TOTAL = 120

# Scroll #messages to the top; report where the message now at the top of the
# list sits (its top edge, in the viewport) at that moment.
SCROLL_TO_TOP = """el => {
  el.scrollTop = 0;
  const first = el.querySelector('li.message');
  return {id: first.dataset.id, top: first.getBoundingClientRect().top};
}"""


def test_history_scroll_back(open_as, backend):
    (a,) = backend.users("ana")
    room = backend.room(a, backend.unique("history"))
    ids = backend.messages(room, [(a, f"history {i:03d}") for i in range(TOTAL)])
    ana = open_as(a, f"/rooms/{room}/")
    page = ana.page
    listing = page.locator("#messages")

    # The newest are shown, scrolled to the bottom; the oldest are not loaded.
    expect(message(page, f"history {TOTAL - 1:03d}")).to_be_in_viewport()
    expect(message(page, "history 000")).to_have_count(0)
    loaded = messages(page).count()
    assert 0 < loaded < TOTAL

    # Scroll up: older ones load above, and what was at the top stays put.
    anchor = listing.evaluate(SCROLL_TO_TOP)
    expect(messages(page)).not_to_have_count(loaded)
    expect(messages(page).nth(loaded)).to_be_attached()
    kept = message_by_id(page, anchor["id"])
    expect(kept).to_be_in_viewport()
    box = kept.bounding_box()
    assert box is not None
    assert abs(box["y"] - anchor["top"]) < 40, (
        f"the list jumped: the message at the top moved from y={anchor['top']:.0f} "
        f"to y={box['y']:.0f}"
    )
    assert listing.evaluate("el => el.scrollTop") > 0

    # Keep scrolling up until the very first message is there.
    for _ in range(TOTAL // 10):
        if message(page, "history 000").count():
            break
        before = messages(page).count()
        listing.evaluate(SCROLL_TO_TOP)
        expect(messages(page).nth(before)).to_be_attached()
    expect(message(page, "history 000")).to_have_count(1)

    # Every message once, in order.
    shown = assert_no_duplicates(page)
    assert shown == [str(i) for i in ids]
    # No more loads once everything is there.
    listing.evaluate("el => { el.scrollTop = 0; }")
    page.wait_for_timeout(300)
    assert messages(page).count() == TOTAL
