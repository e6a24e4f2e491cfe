"""Local echo, lost acks, a restarted server, and a session that ended."""

import json
import re

from playwright.sync_api import WebSocketRoute, expect

from .helpers import (
    NOT_EMPTY,
    NUMBER,
    assert_no_duplicates,
    bodies,
    has_class,
    message,
    send,
    send_delivered,
)


def _stored_count(backend, room: str, body: str) -> int:
    return backend.run(
        "from chat.models import Message\n"
        "result = Message.objects.filter(\n"
        "    room__name=data['room'], body=data['body']\n"
        ").count()\n",
        room=room,
        body=body,
    )


def _both_online(ana, ben) -> None:
    expect(
        ana.page.locator(f"#people li.person[data-user='{ben.username}']")
    ).to_have_count(1)
    expect(
        ben.page.locator(f"#people li.person[data-user='{ana.username}']")
    ).to_have_count(1)


def test_local_echo_then_delivered(open_as, backend):
    a, b = backend.users("ana", "ben")
    room = backend.room(a, backend.unique("echo"), members=(b,))
    ana = open_as(a, f"/rooms/{room}/")
    ben = open_as(b, f"/rooms/{room}/")
    _both_online(ana, ben)

    mine = send(ana.page, "echo right away")
    # At once, before or as the ack comes: shown as mine, sending or delivered.
    expect(mine).to_have_count(1, timeout=1000)
    expect(mine).to_have_class(has_class("mine"))
    expect(mine).to_have_attribute("data-state", re.compile("^(sending|delivered)$"))
    expect(mine).to_have_attribute("data-client-id", NOT_EMPTY)
    expect(mine).to_have_attribute("data-state", "delivered")
    expect(mine).to_have_attribute("data-id", NUMBER)
    message_id = mine.get_attribute("data-id")
    theirs = message(ben.page, "echo right away")
    expect(theirs).to_have_attribute("data-id", message_id or "-")
    # The broadcast of my own message did not add a second copy.
    expect(mine).to_have_count(1)
    expect(ana.page.locator("#messages li.message")).to_have_count(1)


def _send_during_outage(open_as, backend, server, *, offers_retry: bool) -> None:
    a, b = backend.users("ana", "ben")
    room = backend.room(a, backend.unique("offline"), members=(b,))
    ana = open_as(a, f"/rooms/{room}/")
    ben = open_as(b, f"/rooms/{room}/")
    _both_online(ana, ben)
    send_delivered(ana.page, "before the outage")

    server.stop()
    banner = ana.page.locator("#connection-banner")
    expect(banner).to_be_visible()
    expect(banner).to_have_text(re.compile("Reconnecting…"))
    mine = send(ana.page, "sent during the outage")
    expect(mine).to_have_count(1, timeout=1000)
    expect(mine).to_have_attribute("data-state", re.compile("^(sending|failed)$"))
    expect(mine).to_have_class(has_class("mine"))
    if offers_retry:
        # The ack does not come: after a while the send says so, with a retry.
        expect(mine).to_have_attribute("data-state", "failed")
        expect(mine.locator("button.retry")).to_be_visible()

    server.start()
    expect(banner).to_be_hidden()
    # Unacked sends are resent on reconnect; else the user presses retry.
    try:
        expect(mine).to_have_attribute("data-state", "delivered", timeout=3000)
    except AssertionError:
        mine.locator("button.retry").click()
    expect(mine).to_have_attribute("data-state", "delivered")
    expect(mine).to_have_attribute("data-id", NUMBER)
    expect(mine.locator("button.retry")).to_have_count(0)

    expect(message(ben.page, "sent during the outage")).to_have_count(1)
    ben.page.wait_for_timeout(500)  # a second copy would be on its way by now
    expect(message(ben.page, "sent during the outage")).to_have_count(1)
    expect(message(ana.page, "sent during the outage")).to_have_count(1)
    assert _stored_count(backend, room, "sent during the outage") == 1


def test_send_during_outage_is_delivered_once(open_as, backend, server):
    _send_during_outage(open_as, backend, server, offers_retry=False)


def test_send_during_outage_offers_retry(open_as, backend, server):
    _send_during_outage(open_as, backend, server, offers_retry=True)


def test_lost_ack_retry_does_not_duplicate(open_as, backend):
    """The server stores the message but its ack (and the echo) never reach the
    sender: the send fails, retry reuses the clientId, nothing is stored twice."""
    a, b = backend.users("ana", "ben")
    room = backend.room(a, backend.unique("lostack"), members=(b,))
    ben = open_as(b, f"/rooms/{room}/")
    ana = open_as(a, None)
    lost = {"acks": set(), "client_ids": set(), "dropping": True}

    def route(ws: WebSocketRoute) -> None:
        upstream = ws.connect_to_server()

        def from_page(text: str | bytes) -> None:
            frame = json.loads(text)
            if lost["dropping"] and frame.get("event") == "send_message":
                lost["acks"].add(frame.get("ack"))
                lost["client_ids"].add(frame["data"].get("clientId"))
            upstream.send(text)

        def from_server(text: str | bytes) -> None:
            frame = json.loads(text)
            if frame.get("event") == "ack" and frame.get("ack") in lost["acks"]:
                return
            data = frame.get("data") or {}
            if frame.get("event") == "receive_message" and (
                data.get("clientId") in lost["client_ids"]
            ):
                return
            ws.send(text)

        ws.on_message(from_page)
        upstream.on_message(from_server)

    ana.page.route_web_socket(re.compile(r"/ws/chat/"), route)
    ana.goto(f"/rooms/{room}/")
    _both_online(ana, ben)

    mine = send(ana.page, "ack gets lost")
    expect(mine).to_have_attribute("data-state", "sending", timeout=1000)
    expect(message(ben.page, "ack gets lost")).to_have_count(1)
    expect(mine).to_have_attribute("data-state", "failed")
    retry = mine.locator("button.retry")
    expect(retry).to_be_visible()
    assert len(lost["client_ids"]) == 1

    lost["dropping"] = False
    lost["client_ids"].clear()
    retry.click()
    expect(mine).to_have_attribute("data-state", "delivered")
    expect(mine).to_have_attribute(
        "data-id", message(ben.page, "ack gets lost").get_attribute("data-id") or "-"
    )
    ben.page.wait_for_timeout(300)
    expect(message(ben.page, "ack gets lost")).to_have_count(1)
    expect(message(ana.page, "ack gets lost")).to_have_count(1)
    assert _stored_count(backend, room, "ack gets lost") == 1


def test_restarted_server_reconnects_and_catches_up(open_as, backend, server):
    a, b = backend.users("ana", "ben")
    room = backend.room(a, backend.unique("restart"), members=(b,))
    ana = open_as(a, f"/rooms/{room}/")
    ben = open_as(b, f"/rooms/{room}/")
    _both_online(ana, ben)
    send_delivered(ben.page, "before the restart")
    expect(message(ana.page, "before the restart")).to_be_visible()
    banner = ana.page.locator("#connection-banner")
    expect(banner).to_be_hidden()

    app = ana.page.locator("#app")
    expect(app).not_to_have_class(has_class("presence-unknown"))
    server.stop()
    expect(banner).to_be_visible()
    expect(banner).to_have_text(re.compile("Reconnecting…"))
    # Who is online is not known while down: not shown as if it were.
    expect(app).to_have_class(has_class("presence-unknown"))
    # Meanwhile (as if through another worker) Ben's messages are stored.
    backend.messages(room, [(b, f"while down {i}") for i in range(1, 4)])
    server.start()

    # Ben's page comes back and he writes again, maybe before Ana is back.
    expect(ben.page.locator("#connection-banner")).to_be_hidden()
    send_delivered(ben.page, "after the restart")

    expect(banner).to_be_hidden()
    expect(app).not_to_have_class(has_class("presence-unknown"))
    expect(message(ana.page, "after the restart")).to_be_visible()
    expected = ["before the restart"] + [f"while down {i}" for i in range(1, 4)]
    expected.append("after the restart")
    for text in expected:
        expect(message(ana.page, text)).to_have_count(1)
    assert bodies(ana.page) == expected
    ids = assert_no_duplicates(ana.page)
    assert ids == sorted(ids, key=int)
    # And the connection is live again both ways.
    send_delivered(ana.page, "back again")
    expect(message(ben.page, "back again")).to_have_count(1)


def test_logged_out_elsewhere_goes_to_login(open_as, backend, server):
    (a,) = backend.users("ana")
    room = backend.room(a, backend.unique("auth"))
    ana = open_as(a, f"/rooms/{room}/")
    expect(ana.page.locator("#message-input")).to_be_visible()

    other = ana.context.new_page()
    other.goto(server.url + "/")
    other.locator("form#logout-form [type=submit]").click()
    expect(other).to_have_url(re.compile(r"/accounts/login/"))
    other.close()

    # The socket drops (a restart); reconnecting, it is closed with 4401.
    server.stop()
    server.start()
    expect(ana.page).to_have_url(re.compile(r"/accounts/login/"))
    expect(ana.page.locator("#id_username")).to_be_visible()


def test_a_worker_that_stops_answering_is_left_for_a_new_socket(open_as, backend):
    """A frozen worker, or a host gone without closing the connection, leaves a
    socket that looks open. After 25 s without a frame the page pings; answered,
    it keeps its socket; unanswered for 10 s, it opens a new one and catches up."""
    a, b = backend.users("ana", "ben")
    room = backend.room(a, backend.unique("frozen"), members=(b,))
    ben = open_as(b, f"/rooms/{room}/")
    ana = open_as(a, None)
    link = {"opened": 0, "frozen": False, "heard": 0}

    def route(ws: WebSocketRoute) -> None:
        link["opened"] += 1
        first = link["opened"] == 1
        upstream = ws.connect_to_server()
        alive = lambda: not (first and link["frozen"])  # noqa: E731

        def down(text: str) -> None:
            if alive():
                link["heard"] += 1
                ws.send(text)

        ws.on_message(lambda text: upstream.send(text) if alive() else None)
        upstream.on_message(down)

    ana.page.clock.install()
    ana.page.route_web_socket(re.compile(r"/ws/chat/"), route)
    ana.goto(f"/rooms/{room}/")
    _both_online(ana, ben)

    # Quiet but alive: the ping is answered, the socket stays. (The answer takes
    # real time through the route: wait for it rather than a fixed while, which
    # a loaded machine outran.)
    heard = link["heard"]
    ana.page.clock.fast_forward(26_000)
    for _ in range(200):
        if link["heard"] > heard:
            break
        ana.page.wait_for_timeout(50)
    assert link["heard"] > heard, "the ping was not answered"
    ana.page.wait_for_timeout(200)  # the page takes the answer in
    ana.page.clock.fast_forward(11_000)
    send_delivered(ana.page, "still on my first socket")
    assert link["opened"] == 1

    link["frozen"] = True
    send_delivered(ben.page, "while ana's worker is frozen")
    ana.page.wait_for_timeout(500)
    expect(message(ana.page, "while ana's worker is frozen")).to_have_count(0)
    ana.page.clock.fast_forward(26_000)
    ana.page.wait_for_timeout(200)
    ana.page.clock.fast_forward(11_000)
    ana.page.clock.fast_forward(2_000)  # the first reconnect's backoff

    expect(message(ana.page, "while ana's worker is frozen")).to_have_count(1)
    assert link["opened"] == 2
    expect(ana.page.locator("#connection-banner")).to_be_hidden()
    send_delivered(ana.page, "on my new socket")
    expect(message(ben.page, "on my new socket")).to_have_count(1)
