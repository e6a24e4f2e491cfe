"""The chat socket over protocol v1 (docs/PROTOCOL.md), as clients see it.

Runs on the in-memory channel layer, or on Redis when REDIS_URL is set.
"""

import asyncio
import itertools
import json
import re
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings

from chat.domain import selectors, services
from chat.models import Membership, Message, Room
from chatproject.asgi import application

from .wsclient import Socket, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)

ISO_UTC_MS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
MAX = settings.CHAT_MAX_MESSAGE_LENGTH


# --- Helpers --------------------------------------------------------------------------


_barriers = itertools.count(1)


async def reply_to(socket: Socket, frame: Any, ack: Any) -> dict[str, Any]:
    """Send `frame` (a dict, or raw text) and return the data of its only ack reply.

    Other frames it caused are left in `socket.inbox`; an error event fails.
    """
    text = frame if isinstance(frame, str) else json.dumps(frame)
    await socket.send_text(text)
    frames = await barrier(socket)
    replies = [f for f in frames if f["event"] == "ack" and f["ack"] == ack]
    assert len(replies) == 1, frames
    assert type(replies[0]["ack"]) is type(ack)
    assert not [f for f in frames if f["event"] == "error"], frames
    socket.inbox = [f for f in frames if f is not replies[0]]
    return replies[0]["data"]


async def quiet(*sockets: Socket) -> list[list[dict[str, Any]]]:
    """Drain the sockets side by side: what each got until all are quiet."""
    return list(await asyncio.gather(*(s.drain() for s in sockets)))


async def settled(socket: Socket, event: str, **match: Any) -> None:
    """Wait for `event`, the last frame a setup step sends this socket, and forget
    every frame that came before it."""
    await socket.event(event, **match)
    socket.inbox.clear()


async def pair_in_room(amake_user, sockets, room: str = "general"):
    """ana and ben, one socket each, both in `room`, with nothing pending."""
    ana, ben = await amake_user("ana"), await amake_user("ben")
    a, b = await sockets(ana), await sockets(ben)
    await a.join(room)
    await b.join(room)
    await settled(a, "room_users", room=room, users=["ana", "ben"])
    await settled(b, "room_users", room=room, users=["ana", "ben"])
    return ana, ben, a, b


async def barrier(socket: Socket) -> list[dict[str, Any]]:
    """Every frame this socket sent in reply to what was sent before (a ping with
    an ack is answered after them); the inbox is emptied."""
    ack = f"barrier-{next(_barriers)}"
    await socket.send_text(json.dumps({"event": "ping", "ack": ack}))
    await socket.next_frame(lambda f: f["event"] == "ack" and f["ack"] == ack)
    frames, socket.inbox = socket.inbox, []
    return frames


async def error_of(socket: Socket, frame: Any) -> dict[str, Any]:
    """Send a frame without ack (a dict or raw text); return its `error` event data."""
    text = frame if isinstance(frame, str) else json.dumps(frame)
    await socket.send_text(text)
    return await socket.event("error")


def assert_error(reply: dict[str, Any], code: str) -> None:
    assert reply["status"] == "error", reply
    assert reply["code"] == code, reply
    assert isinstance(reply["msg"], str) and reply["msg"], reply


async def assert_alive(socket: Socket) -> None:
    assert await socket.request("ping") == {"status": "ok"}


@sync_to_async
def private_room(owner: Any, name: str, *members: Any) -> Room:
    room = services.room_create(user=owner, name=name, kind="private")
    for member in members:
        services.membership_add(room=room, user=member)
    return room


@sync_to_async
def add_member(room_name: str, user: Any) -> None:
    services.membership_add(room=Room.objects.get(name=room_name), user=user)


@sync_to_async
def set_role(room_name: str, user: Any, role: str) -> None:
    updated = Membership.objects.filter(room__name=room_name, user=user).update(
        role=role
    )
    assert updated == 1


@sync_to_async
def post(user: Any, room_name: str, bodies: list[str]) -> list[int]:
    """Store messages through the domain (no socket, no rate limit)."""
    return [
        services.message_send(user=user, room_name=room_name, body=body).message.pk
        for body in bodies
    ]


@sync_to_async
def stored(message_id: int) -> Message:
    return Message.objects.get(pk=message_id)


@sync_to_async
def room_named(name: str) -> Room | None:
    return Room.objects.filter(name=name).first()


# --- Connecting -----------------------------------------------------------------------


async def test_two_users_chat_in_a_room(amake_user, sockets):
    ana, ben = await amake_user("ana"), await amake_user("ben")
    a, b = await sockets(ana), await sockets(ben)
    joined = await a.join("general")
    assert joined["history"] == [] and joined["users"] == ["ana"]
    await b.join("general")
    assert (await a.event("user_joined"))["username"] == "ben"
    assert (await a.event("room_users", users=["ana", "ben"]))["room"] == "general"

    ack = await b.say("general", "hello ana", clientId="c-1")
    got = await a.event("receive_message")
    assert got["message"] == "hello ana" and got["username"] == "ben"
    assert got["id"] == ack["messageId"] and got["clientId"] == "c-1"
    assert (await b.event("receive_message"))["id"] == ack["messageId"]


async def test_anonymous_socket_is_accepted_then_closed_with_4401(amake_user, sockets):
    a = await sockets(await amake_user("ana"))
    anonymous = await sockets(None, expect_presence=False)
    closing = await anonymous.communicator.receive_output(timeout=5)
    assert closing == {"type": "websocket.close", "code": 4401}
    # Nobody is told about it.
    assert await a.drain() == []


async def test_deactivated_user_is_closed_with_4403(amake_user):
    # Django's auth shows the session as anonymous; PROTOCOL.md promises 4403.
    ana = await amake_user("ana")
    cookie = await session_cookie(ana)
    ana.is_active = False
    await sync_to_async(ana.save)()
    communicator = WebsocketCommunicator(
        application,
        "/ws/chat/",
        headers=[
            (b"host", b"localhost"),
            (b"origin", b"http://localhost"),
            (b"cookie", cookie),
        ],
    )
    connected, _ = await communicator.connect(timeout=5)
    assert connected is True
    closing = await communicator.receive_output(timeout=5)
    assert closing == {"type": "websocket.close", "code": 4403}
    await communicator.disconnect()


async def handshake(
    user: Any, headers: list[tuple[bytes, bytes]], scheme: str | None = None
) -> bool:
    """Whether the real application accepts a handshake with these headers (and
    the scope's `scheme`, as uvicorn gives it; daphne gives none)."""
    communicator = WebsocketCommunicator(
        application,
        "/ws/chat/",
        headers=[*headers, (b"cookie", await session_cookie(user))],
    )
    if scheme is not None:
        communicator.scope["scheme"] = scheme
    connected, _ = await communicator.connect(timeout=5)
    await communicator.disconnect()
    return connected


@pytest.fixture
def site(settings) -> Any:
    settings.ALLOWED_HOSTS = ["localhost", "127.0.0.1", "chat.example.com"]
    settings.CSRF_TRUSTED_ORIGINS = []
    settings.CHAT_ALLOWED_ORIGINS = []
    settings.CHAT_TRUST_PROXY_HEADERS = False
    return settings


@pytest.mark.parametrize(
    ("host", "origin", "accepted"),
    [
        # The page's own origin: scheme, host and port as the handshake came.
        (b"127.0.0.1:8000", b"http://127.0.0.1:8000", True),
        (b"localhost", b"http://localhost", True),
        (b"localhost", b"http://localhost:80", True),
        (b"LocalHost:8000", b"http://localhost:8000", True),
        # Another site.
        (b"localhost", b"http://evil.example", False),
        # The same host name, but another port: any local program's page.
        (b"localhost", b"http://localhost:6666", False),
        (b"127.0.0.1:8000", b"http://127.0.0.1:6666", False),
        # Another scheme: the handshake came over plain ws.
        (b"127.0.0.1", b"https://127.0.0.1", False),
        # A host the site does not serve, even from its own page.
        (b"evil.example", b"http://evil.example", False),
        # Sandboxed pages and files, and nonsense.
        (b"localhost", b"null", False),
        (b"localhost", b"http://localhost:99999", False),
        (b"localhost", b"http://user@localhost", False),
    ],
)
async def test_only_the_sites_own_origin_may_open_a_socket(
    amake_user, site, host, origin, accepted
):
    ana = await amake_user("ana")
    assert await handshake(ana, [(b"host", host), (b"origin", origin)]) is accepted


async def test_a_handshake_without_origin_or_host_is_refused(amake_user, site):
    ana = await amake_user("ana")
    assert not await handshake(ana, [(b"host", b"localhost")])
    assert not await handshake(ana, [(b"origin", b"http://localhost")])


async def test_the_handshakes_scheme_decides_between_http_and_https(amake_user, site):
    ana = await amake_user("ana")
    secure = [(b"host", b"chat.example.com"), (b"origin", b"https://chat.example.com")]
    plain = [(b"host", b"chat.example.com"), (b"origin", b"http://chat.example.com")]
    assert await handshake(ana, secure, scheme="wss")
    assert not await handshake(ana, plain, scheme="wss")
    assert not await handshake(ana, secure, scheme="ws")


async def test_x_forwarded_proto_counts_only_when_proxy_headers_are_trusted(
    amake_user, site
):
    ana = await amake_user("ana")
    behind_tls = [
        (b"host", b"chat.example.com"),
        (b"origin", b"https://chat.example.com"),
        (b"x-forwarded-proto", b"https"),
    ]
    assert not await handshake(ana, behind_tls)
    site.CHAT_TRUST_PROXY_HEADERS = True  # nginx sets it (deploy/nginx/chat.conf)
    assert await handshake(ana, behind_tls)
    claimed = [*behind_tls[:2], (b"x-forwarded-proto", b"http")]
    assert not await handshake(ana, claimed)


async def test_trusted_origins_are_matched_whole(amake_user, site):
    ana = await amake_user("ana")
    site.CSRF_TRUSTED_ORIGINS = ["https://chat.example.com"]
    site.CHAT_ALLOWED_ORIGINS = ["https://*.example.org", "http://localhost:3000"]

    def at_host(origin: bytes) -> list[tuple[bytes, bytes]]:
        return [(b"host", b"chat.example.com"), (b"origin", origin)]

    assert await handshake(ana, at_host(b"https://chat.example.com"))
    assert await handshake(ana, at_host(b"https://app.example.org"))
    assert await handshake(ana, at_host(b"http://localhost:3000"))
    assert not await handshake(ana, at_host(b"https://other.example.com"))
    assert not await handshake(ana, at_host(b"https://chat.example.com:8443"))
    assert not await handshake(ana, at_host(b"http://app.example.org"))
    assert not await handshake(ana, at_host(b"https://app.example.org.evil.example"))
    assert not await handshake(ana, at_host(b"http://localhost:3001"))
    # A trusted origin still needs a Host the site serves.
    assert not await handshake(
        ana, [(b"host", b"evil.example"), (b"origin", b"https://chat.example.com")]
    )


# --- Presence -------------------------------------------------------------------------


def everyone_active(*usernames: str) -> dict:
    """presence_update's data when `usernames` are online, none idle or in
    do-not-disturb (tests/test_presence_status.py has those)."""
    return {"online": list(usernames), "idle": [], "dnd": []}


async def test_presence_follows_first_and_last_socket_of_each_user(amake_user, sockets):
    ana, ben = await amake_user("ana"), await amake_user("ben")
    a = await sockets(ana, expect_presence=False)
    assert await a.event("presence_update") == everyone_active("ana")

    b = await sockets(ben, expect_presence=False)
    assert await b.event("presence_update") == everyone_active("ana", "ben")
    assert await a.event("presence_update") == everyone_active("ana", "ben")

    # A second tab is told who is online, but nobody else hears about it.
    b2 = await sockets(ben, expect_presence=False)
    assert await b2.event("presence_update") == everyone_active("ana", "ben")
    assert await quiet(a, b, b2) == [[], [], []]

    # Closing one of two tabs: ben is still online.
    await b2.close()
    assert await quiet(a, b) == [[], []]

    # Closing the last one: ben goes offline.
    await b.close()
    assert await a.events("presence_update") == [everyone_active("ana")]


async def test_a_burst_of_arrivals_makes_one_presence_list(
    amake_user, sockets, settings
):
    """On a busy worker (a restart, a morning rush) who is online goes out at
    most once per CHAT_PRESENCE_COALESCE, with everyone who came meanwhile."""
    settings.CHAT_PRESENCE_COALESCE = 1.0
    users = [await amake_user(name) for name in ("ana", "ben", "cara", "dan")]
    a = await sockets(users[0], expect_presence=False)
    assert await a.event("presence_update") == everyone_active("ana")

    for user in users[1:]:
        await sockets(user, expect_presence=False)
    await asyncio.sleep(1.2)  # past the interval

    everyone = everyone_active("ana", "ben", "cara", "dan")
    assert await a.events("presence_update") == [everyone]


async def test_long_lived_sockets_stay_online(amake_user, sockets, monkeypatch):
    """Presence entries expire unless the socket's heartbeat refreshes them: a tab
    open longer than the expiry is still online, site-wide and in its rooms."""
    monkeypatch.setattr(settings, "CHAT_PRESENCE_TTL", 0.6)
    monkeypatch.setattr(settings, "CHAT_PRESENCE_HEARTBEAT", 0.1)
    await pair_in_room(amake_user, sockets)

    await asyncio.sleep(1.0)  # well past the expiry

    c = await sockets(await amake_user("cara"), expect_presence=False)
    assert await c.event("presence_update") == everyone_active("ana", "ben", "cara")
    assert (await c.join("general"))["users"] == ["ana", "ben", "cara"]


# --- Joining and leaving rooms --------------------------------------------------------


async def test_join_creates_a_missing_public_room_and_normalises_its_name(
    amake_user, sockets
):
    a = await sockets(await amake_user("ana"))
    assert await room_named("lobby") is None
    reply = await a.join("  Lobby ")
    assert reply["room"] == "lobby"
    assert reply["kind"] == "public"
    assert reply["history"] == [] and reply["hasMore"] is False
    assert reply["users"] == ["ana"] and reply["seq"] == 0
    room = await room_named("lobby")
    assert room is not None and room.kind == Room.Kind.PUBLIC

    # Another spelling is the same room: one room, one membership.
    assert (await a.join("LOBBY"))["room"] == "lobby"
    rooms = await a.request("list_rooms")
    assert [r["room"] for r in rooms["rooms"]] == ["lobby"]
    await a.say("LOBBY", "hi")
    assert (await a.event("receive_message"))["room"] == "lobby"


async def test_join_refuses_invalid_room_names(amake_user, sockets):
    a = await sockets(await amake_user("ana"))
    names = ["", "   ", "bad name", "no/slash", "-dash", "x" * 51, "ümlaut", "a.b"]
    for name in names:
        reply = await a.request("join_room", {"room": name})
        assert reply["status"] == "error" and reply["code"] == "invalid", name
    assert await sync_to_async(Room.objects.count)() == 0
    # 50 characters is a valid name.
    assert (await a.join("x" * 50))["room"] == "x" * 50


async def test_join_returns_the_newest_50_messages_and_has_more(amake_user, sockets):
    ana = await amake_user("ana")
    a = await sockets(ana)
    await a.join("general")
    ids = await post(ana, "general", [f"m{i}" for i in range(55)])

    b = await sockets(await amake_user("ben"))
    reply = await b.join("general")
    history = reply["history"]
    assert [m["id"] for m in history] == ids[5:]
    assert [m["message"] for m in history] == [f"m{i}" for i in range(5, 55)]
    assert reply["hasMore"] is True
    assert reply["seq"] == 55
    assert [m["seq"] for m in history] == list(range(6, 56))
    newest = history[-1]
    assert newest["username"] == "ana" and newest["room"] == "general"
    assert newest["deleted"] is False and newest["editedAt"] is None
    assert ISO_UTC_MS.fullmatch(newest["time"])

    # Exactly 50: nothing more.
    await sync_to_async(Message.objects.filter(pk__in=ids[:5]).delete)()
    c = await sockets(await amake_user("cara"))
    reply = await c.join("general")
    assert len(reply["history"]) == 50 and reply["hasMore"] is False


async def test_join_announces_the_user_to_others_only_once(amake_user, sockets):
    ana, ben = await amake_user("ana"), await amake_user("ben")
    a = await sockets(ana)
    await a.join("general")
    b = await sockets(ben)
    b_other_tab = await sockets(ben)
    await settled(a, "presence_update", online=["ana", "ben"])

    reply = await b.join("general")
    assert reply["users"] == ["ana", "ben"]
    a_got, b_got, other_tab_got = await quiet(a, b, b_other_tab)
    users = {"room": "general", "users": ["ana", "ben"]}
    assert [f["event"] for f in a_got] == ["user_joined", "room_users"]
    joined = a_got[0]["data"]
    assert joined["room"] == "general" and joined["username"] == "ben"
    assert ISO_UTC_MS.fullmatch(joined["time"])
    assert a_got[1]["data"] == users
    assert b_got == [{"event": "room_users", "data": users}]
    assert other_tab_got == []

    # Ben's second tab joining too is not news to anyone.
    reply = await b_other_tab.join("general")
    assert reply["users"] == ["ana", "ben"]
    assert await quiet(a, b) == [[], []]


async def test_a_socket_can_be_in_several_rooms(amake_user, sockets):
    _, _, a, b = await pair_in_room(amake_user, sockets, "general")
    await a.join("random")
    await b.join("random")

    await b.say("general", "in general")
    await b.say("random", "in random")
    got = await a.events("receive_message")
    assert [(m["room"], m["message"]) for m in got] == [
        ("general", "in general"),
        ("random", "in random"),
    ]


async def test_leave_room_tells_others_and_stops_delivery(amake_user, sockets):
    _, _, a, b = await pair_in_room(amake_user, sockets)
    await b.join("random")
    await settled(b, "room_users", room="random", users=["ben"])

    reply = await b.request("leave_room", {"room": "General"})
    assert reply == {"status": "ok", "room": "general"}
    left = await a.event("user_left")
    assert left["room"] == "general" and left["username"] == "ben"
    assert ISO_UTC_MS.fullmatch(left["time"])
    assert await a.event("room_users") == {"room": "general", "users": ["ana"]}

    await a.say("general", "ben is gone")
    reply = await b.request("typing", {"room": "general", "isTyping": True})
    assert_error(reply, "forbidden")
    assert await b.drain() == []
    # The other room still reaches this socket.
    await a.join("random")
    await a.say("random", "still here?")
    assert (await b.event("receive_message"))["message"] == "still here?"


async def test_leaving_with_another_tab_still_in_the_room_is_silent(
    amake_user, sockets
):
    _, ben, a, b = await pair_in_room(amake_user, sockets)
    b2 = await sockets(ben)
    await b2.join("general")

    await b.request("leave_room", {"room": "general"})
    await a.say("general", "hi ben")
    assert (await b2.event("receive_message"))["message"] == "hi ben"
    a_got, b_got = await quiet(a, b)
    assert [f["event"] for f in a_got] == ["receive_message"]
    assert b_got == []


async def test_closing_the_socket_leaves_its_rooms(amake_user, sockets):
    _, _, a, b = await pair_in_room(amake_user, sockets)
    await b.close()
    assert (await a.event("user_left"))["username"] == "ben"
    assert await a.event("room_users") == {"room": "general", "users": ["ana"]}


# --- Private rooms --------------------------------------------------------------------


async def test_private_room_refuses_non_members(amake_user, sockets):
    ana, eve = await amake_user("ana"), await amake_user("eve")
    await private_room(ana, "secret")
    a, e = await sockets(ana), await sockets(eve)
    await a.join("secret")
    sent = await a.say("secret", "for members only")
    await settled(a, "receive_message", id=sent["messageId"])

    # Joining is refused (the name is taken, as creating it would tell); every
    # other event answers as if the room did not exist.
    assert_error(await e.request("join_room", {"room": "secret"}), "forbidden")
    for event, data in [
        ("send_message", {"message": "hi"}),
        ("get_history", {}),
        ("mark_read", {"messageId": sent["messageId"]}),
    ]:
        reply = await e.request(event, {"room": "secret", **data})
        missing = await e.request(event, {"room": "no-such-room", **data})
        assert_error(reply, "not_found")
        assert reply["msg"] == missing["msg"], event
    reply = await e.request("typing", {"room": "secret", "isTyping": True})
    assert_error(reply, "forbidden")  # not joined: no lookup at all
    # Nothing leaked to eve, nothing from eve reached ana, nothing was stored.
    assert await quiet(e, a) == [[], []]
    assert await sync_to_async(Message.objects.count)() == 1
    assert await sync_to_async(Membership.objects.filter(user=eve).count)() == 0


async def test_non_member_cannot_edit_or_delete_in_a_private_room(amake_user, sockets):
    ana, eve = await amake_user("ana"), await amake_user("eve")
    await private_room(ana, "secret")
    a, e = await sockets(ana), await sockets(eve)
    await a.join("secret")
    sent = await a.say("secret", "original")
    await settled(a, "receive_message", id=sent["messageId"])

    edit = await e.request("edit_message", {"id": sent["messageId"], "message": "x"})
    delete = await e.request("delete_message", {"id": sent["messageId"]})
    for reply in (edit, delete):
        assert reply["status"] == "error"
        assert reply["code"] in ("forbidden", "not_found")
    message = await stored(sent["messageId"])
    assert message.body == "original" and message.deleted_at is None
    assert await a.drain() == []


async def test_added_member_can_join_and_chat_in_a_private_room(amake_user, sockets):
    ana, ben = await amake_user("ana"), await amake_user("ben")
    await private_room(ana, "secret")
    a, b = await sockets(ana), await sockets(ben)
    await a.join("secret")
    await a.say("secret", "before ben")
    assert_error(await b.request("join_room", {"room": "secret"}), "forbidden")

    await add_member("secret", ben)
    reply = await b.join("secret")
    assert reply["kind"] == "private"
    assert [m["message"] for m in reply["history"]] == ["before ben"]
    assert reply["users"] == ["ana", "ben"]
    assert (await a.event("user_joined"))["username"] == "ben"

    await b.say("secret", "hello from ben")
    got = await a.event("receive_message", username="ben")
    assert got["message"] == "hello from ben" and got["room"] == "secret"
    await a.request("typing", {"room": "secret", "isTyping": True})
    assert await b.event("user_typing") == {
        "room": "secret",
        "username": "ana",
        "isTyping": True,
    }
    history = await b.request("get_history", {"room": "secret"})
    assert [m["message"] for m in history["messages"]] == [
        "before ben",
        "hello from ben",
    ]


# --- Sending messages -----------------------------------------------------------------


async def test_invisible_or_reordering_text_gets_an_error_and_reaches_nobody(
    amake_user, sockets
):
    _, _, a, b = await pair_in_room(amake_user, sockets)
    reply = await a.request(
        "send_message", {"room": "general", "message": "\u200b\u200d\u2060"}
    )
    assert_error(reply, "invalid")
    assert reply["msg"] == "message has no visible character"
    # Without an ack, an error frame; U+202E would show "abcexe.png".
    error = await error_of(
        a,
        {
            "event": "send_message",
            "data": {"room": "general", "message": "abc\u202egnp.exe"},
        },
    )
    assert error["code"] == "invalid" and "bidirectional" in error["msg"]
    assert_error(
        await a.request("private_message", {"toUsername": "ben", "message": "\u2067x"}),
        "invalid",
    )
    sent = await a.say("general", "visible")
    assert_error(
        await a.request("edit_message", {"id": sent["messageId"], "message": "\ufeff"}),
        "invalid",
    )
    frames = await b.drain()
    assert [(f["event"], f["data"].get("message")) for f in frames] == [
        ("receive_message", "visible")
    ]
    await assert_alive(a)


async def test_send_message_is_acked_and_broadcast_to_the_whole_room(
    amake_user, sockets
):
    ana, _, a, b = await pair_in_room(amake_user, sockets)
    a2 = await sockets(ana)
    await a2.join("general")
    outsider = await sockets(await amake_user("cara"))

    ack = await a.request(
        "send_message", {"room": "general", "message": "  hello  ", "clientId": "k1"}
    )
    assert ack["status"] == "delivered"
    assert isinstance(ack["messageId"], int)
    assert ISO_UTC_MS.fullmatch(ack["time"])
    expected = {
        "id": ack["messageId"],
        "room": "general",
        "seq": 1,
        "username": "ana",
        "message": "hello",
        "html": "<p>hello</p>",
        "time": ack["time"],
        "clientId": "k1",
        "editedAt": None,
        "deleted": False,
        "reactions": [],
        "pinned": False,
        "saved": False,
    }
    got = await asyncio.gather(*(s.events("receive_message") for s in (a, a2, b)))
    assert got == [[expected]] * 3
    assert await outsider.drain() == []
    assert (await stored(ack["messageId"])).body == "hello"

    # Without clientId the broadcast carries null.
    await b.say("general", "no id")
    assert (await a.event("receive_message"))["clientId"] is None


async def test_resending_a_client_id_does_not_duplicate(amake_user, sockets):
    ana, _, a, b = await pair_in_room(amake_user, sockets)
    first = await a.say("general", "once", clientId="retry-1")
    assert first["duplicate"] is False
    # The same clientId again, from the same tab or another one (a reconnect).
    a2 = await sockets(ana)
    for socket in (a, a2):
        again = await socket.say("general", "once", clientId="retry-1")
        assert again["messageId"] == first["messageId"]
        assert again["duplicate"] is True
    got = await b.events("receive_message")
    assert [m["id"] for m in got] == [first["messageId"]]
    assert await sync_to_async(Message.objects.count)() == 1


async def test_seq_advances_by_one_per_message(amake_user, sockets):
    ana = await amake_user("ana")
    a = await sockets(ana)
    await a.join("general")
    await post(ana, "general", ["earlier"])
    start = (await a.join("general"))["seq"]
    assert start == 1
    acks = [await a.say("general", f"n{i}") for i in range(3)]
    # ("earlier" itself may arrive live too: the socket was in the room.)
    got = [m for m in await a.events("receive_message") if m["message"] != "earlier"]
    assert [m["seq"] for m in got] == [start + 1, start + 2, start + 3]
    assert [ack["seq"] for ack in acks] == [start + 1, start + 2, start + 3]
    assert (await a.join("general"))["seq"] == start + 3


async def test_message_length_limits(amake_user, sockets):
    _, _, a, b = await pair_in_room(amake_user, sockets)

    for blank in ("", "   ", "\n\t "):
        reply = await a.request("send_message", {"room": "general", "message": blank})
        assert_error(reply, "invalid")
    reply = await a.request(
        "send_message", {"room": "general", "message": "x" * (MAX + 1)}
    )
    assert_error(reply, "too_long")
    assert await quiet(a, b) == [[], []]
    assert await sync_to_async(Message.objects.count)() == 0

    await a.say("general", "x" * MAX)
    # Surrounding whitespace does not count.
    await a.say("general", "  " + "y" * MAX + "\n")
    got = await b.events("receive_message")
    assert [m["message"] for m in got] == ["x" * MAX, "y" * MAX]


async def test_send_to_a_public_room_without_joining_is_forbidden(amake_user, sockets):
    ana, ben = await amake_user("ana"), await amake_user("ben")
    a, b = await sockets(ana), await sockets(ben)
    await a.join("general")
    await settled(a, "room_users", users=["ana"])
    reply = await b.request("send_message", {"room": "general", "message": "hi"})
    assert_error(reply, "forbidden")
    reply = await b.request("send_message", {"room": "nowhere", "message": "hi"})
    assert_error(reply, "not_found")
    assert await a.drain() == []
    assert await room_named("nowhere") is None
    assert await sync_to_async(Message.objects.count)() == 0


# --- Editing and deleting -------------------------------------------------------------


async def test_author_edits_and_deletes_with_broadcasts(amake_user, sockets):
    _, _, a, b = await pair_in_room(amake_user, sockets)
    sent = await b.say("general", "helo")
    message_id = sent["messageId"]

    reply = await b.request("edit_message", {"id": message_id, "message": " hello "})
    assert reply["status"] == "ok"
    for socket in (a, b):
        edited = await socket.event("message_edited")
        assert set(edited) == {
            "room",
            "id",
            "message",
            "html",
            "editedAt",
            "mentions",
            "seq",
        }
        assert edited["mentions"] == []
        assert edited["room"] == "general" and edited["id"] == message_id
        assert edited["message"] == "hello"
        assert ISO_UTC_MS.fullmatch(edited["editedAt"])
        assert edited["seq"] == sent["seq"] + 1

    reply = await b.request("delete_message", {"id": message_id})
    assert reply["status"] == "ok"
    for socket in (a, b):
        assert await socket.event("message_deleted") == {
            "room": "general",
            "id": message_id,
            "seq": sent["seq"] + 2,
        }

    reply = await b.request("edit_message", {"id": message_id, "message": "back"})
    assert_error(reply, "not_found")
    a_got, _ = await quiet(a, b)
    assert [f["event"] for f in a_got] == ["receive_message"]

    history = (await a.request("get_history", {"room": "general"}))["messages"]
    assert len(history) == 1
    assert history[0]["id"] == message_id
    assert history[0]["deleted"] is True and history[0]["message"] == ""
    assert history[0]["seq"] == sent["seq"] + 2
    c = await sockets(await amake_user("cara"))
    joined = (await c.join("general"))["history"]
    assert [(m["id"], m["deleted"], m["message"]) for m in joined] == [
        (message_id, True, "")
    ]
    assert (await stored(message_id)).body == "hello"  # kept for audit


async def test_other_member_cannot_edit_or_delete(amake_user, sockets):
    # ana created the room, so she owns it; cara is a plain member.
    _, _, a, b = await pair_in_room(amake_user, sockets)
    c = await sockets(await amake_user("cara"))
    await c.join("general")
    sent = await b.say("general", "ben's words")
    await settled(a, "receive_message", id=sent["messageId"])
    await settled(b, "receive_message", id=sent["messageId"])

    edit = await c.request("edit_message", {"id": sent["messageId"], "message": "x"})
    assert_error(edit, "forbidden")
    delete = await c.request("delete_message", {"id": sent["messageId"]})
    assert_error(delete, "forbidden")
    assert await quiet(a, b) == [[], []]
    message = await stored(sent["messageId"])
    assert message.body == "ben's words" and message.deleted_at is None


async def test_moderator_can_edit_and_delete_others_messages(amake_user, sockets):
    _, _, _, b = await pair_in_room(amake_user, sockets)
    cara = await amake_user("cara")
    c = await sockets(cara)
    await c.join("general")
    first = await b.say("general", "one")
    second = await b.say("general", "two")
    await set_role("general", cara, Membership.Role.MODERATOR)

    edit = await c.request("edit_message", {"id": first["messageId"], "message": "1"})
    assert edit["status"] == "ok"
    edited = await b.event("message_edited")
    assert edited["id"] == first["messageId"] and edited["message"] == "1"
    delete = await c.request("delete_message", {"id": second["messageId"]})
    assert delete["status"] == "ok"
    assert (await b.event("message_deleted"))["id"] == second["messageId"]
    assert (await stored(second["messageId"])).deleted_by_id == cara.pk


async def test_staff_can_edit_and_delete_others_messages(amake_user, sockets):
    ana, sam = await amake_user("ana"), await amake_user("sam", is_staff=True)
    a, s = await sockets(ana), await sockets(sam)
    await a.join("general")
    first = await a.say("general", "one")
    second = await a.say("general", "two")

    edit = await s.request("edit_message", {"id": first["messageId"], "message": "1"})
    assert edit["status"] == "ok"
    edited = await a.event("message_edited")
    assert edited["id"] == first["messageId"] and edited["message"] == "1"
    delete = await s.request("delete_message", {"id": second["messageId"]})
    assert delete["status"] == "ok"
    assert (await a.event("message_deleted"))["id"] == second["messageId"]


async def test_edit_and_delete_of_unknown_message_is_not_found(amake_user, sockets):
    a = await sockets(await amake_user("ana"))
    await a.join("general")
    sent = await a.say("general", "real")
    unknown = sent["messageId"] + 1000
    edit = await a.request("edit_message", {"id": unknown, "message": "x"})
    assert_error(edit, "not_found")
    assert_error(await a.request("delete_message", {"id": unknown}), "not_found")


async def test_edit_is_validated_like_a_new_message(amake_user, sockets):
    a = await sockets(await amake_user("ana"))
    await a.join("general")
    sent = await a.say("general", "text")
    await settled(a, "receive_message", id=sent["messageId"])
    message_id = sent["messageId"]
    reply = await a.request("edit_message", {"id": message_id, "message": "  "})
    assert_error(reply, "invalid")
    reply = await a.request(
        "edit_message", {"id": message_id, "message": "z" * (MAX + 1)}
    )
    assert_error(reply, "too_long")
    assert (await stored(message_id)).body == "text"
    assert await a.drain() == []


# --- Typing ---------------------------------------------------------------------------


async def test_typing_is_relayed_to_others_but_not_to_the_typer(amake_user, sockets):
    ana, _, a, b = await pair_in_room(amake_user, sockets)
    a2 = await sockets(ana)
    await a2.join("general")

    assert await a.request("typing", {"room": "general", "isTyping": True}) == {
        "status": "ok"
    }
    await a.request("typing", {"room": "general", "isTyping": False})
    a_got, a2_got, b_got = await quiet(a, a2, b)
    assert a_got == [] and a2_got == []
    assert [f["data"] for f in b_got] == [
        {"room": "general", "username": "ana", "isTyping": True},
        {"room": "general", "username": "ana", "isTyping": False},
    ]
    assert {f["event"] for f in b_got} == {"user_typing"}


async def test_typing_needs_a_joined_room_and_a_boolean(amake_user, sockets):
    ana, _, a, b = await pair_in_room(amake_user, sockets)
    # Ana is a member, but this socket of hers has not joined the room.
    not_joined = await sockets(ana)
    reply = await not_joined.request("typing", {"room": "general", "isTyping": True})
    assert_error(reply, "forbidden")
    for value in ("yes", 1, None, []):
        reply = await a.request("typing", {"room": "general", "isTyping": value})
        assert_error(reply, "invalid")
    assert await b.drain() == []


# --- Frames, acks and errors ----------------------------------------------------------

BAD_FRAMES = [
    "not json at all",
    '{"event": "ping"',
    "[1, 2, 3]",
    '"ping"',
    "null",
    "42",
    '{"data": {}}',
    '{"event": 5, "data": {}}',
    '{"event": "", "data": {}}',
    '{"event": "ping", "data": []}',
    '{"event": "ping", "data": "x"}',
    '{"event": "ping", "ack": true}',
    '{"event": "ping", "ack": {"id": 1}}',
    json.dumps({"event": "ping", "ack": "x" * 101}),
]


# Invalid JSON text, binary frames and the frame limit's close are WebSocket
# framing; tests/test_longpoll.py has long-polling's answers (400, 413).
@pytest.mark.websocket_only
async def test_bad_frames_without_ack_get_one_error_event(amake_user, sockets):
    _, _, a, b = await pair_in_room(amake_user, sockets)
    for text in BAD_FRAMES:
        await a.send_text(text)
        frames = await barrier(a)
        assert len(frames) == 1, (text, frames)
        assert frames[0]["event"] == "error", (text, frames)
        error = frames[0]["data"]
        assert set(error) == {"code", "msg"}, (text, error)
        assert error["code"] == "bad_frame" and error["msg"], (text, error)
    # Nobody else heard anything, and the socket still works.
    assert await b.drain() == []
    await a.say("general", "still works")
    assert (await b.event("receive_message"))["message"] == "still works"


# Invalid JSON text, binary frames and the frame limit's close are WebSocket
# framing; tests/test_longpoll.py has long-polling's answers (400, 413).
@pytest.mark.websocket_only
@pytest.mark.parametrize(
    "text",
    [
        # Python's json module reads these, but they are not JSON: echoing the ack
        # would send a reply that JSON.parse rejects.
        pytest.param('{"event": "ping", "ack": NaN}', id="ack-NaN"),
        pytest.param('{"event": "ping", "ack": Infinity}', id="ack-Infinity"),
        # Valid JSON but not an object, nested far past a recursive parser's
        # limit yet under the 64 KiB frame limit.
        pytest.param("[" * 20_000 + "]" * 20_000, id="deeply-nested-array"),
    ],
)
async def test_frames_that_python_half_parses_are_bad_frames(amake_user, sockets, text):
    a = await sockets(await amake_user("ana"))
    await a.send_text(text)
    frames = await barrier(a)
    assert [f["event"] for f in frames] == ["error"], frames
    assert frames[0]["data"]["code"] == "bad_frame", frames


# Invalid JSON text, binary frames and the frame limit's close are WebSocket
# framing; tests/test_longpoll.py has long-polling's answers (400, 413).
@pytest.mark.websocket_only
async def test_binary_frame_is_a_bad_frame(amake_user, sockets):
    _, _, a, b = await pair_in_room(amake_user, sockets)
    await a.communicator.send_to(bytes_data=b'{"event": "ping", "ack": 1}')
    frames = await barrier(a)
    assert [f["event"] for f in frames] == ["error"]
    assert frames[0]["data"]["code"] == "bad_frame"
    assert await b.drain() == []
    await assert_alive(a)


async def test_bad_frames_with_ack_get_one_error_ack(amake_user, sockets):
    a = await sockets(await amake_user("ana"))
    for frame in (
        {"event": "ping", "data": [], "ack": 7},
        {"event": "ping", "data": None, "ack": 8},
        {"data": {}, "ack": "nine"},
        {"event": 3, "ack": 10},
    ):
        reply = await reply_to(a, frame, frame["ack"])
        assert reply["status"] == "error" and reply["code"] == "bad_frame", frame
        assert a.inbox == [], frame
    await assert_alive(a)


async def test_unknown_event(amake_user, sockets):
    _, _, a, b = await pair_in_room(amake_user, sockets)
    error = await error_of(a, {"event": "launch_rockets", "data": {}})
    assert error["code"] == "unknown_event" and error["msg"]
    reply = await reply_to(a, {"event": "launch_rockets", "ack": "r"}, "r")
    assert_error(reply, "unknown_event")
    assert a.inbox == []
    await assert_alive(a)
    assert await b.drain() == []


async def test_failing_frame_without_ack_gets_an_error_event(amake_user, sockets):
    a = await sockets(await amake_user("ana"))
    await a.emit("send_message", {"room": "general", "message": "x"})
    await a.emit("join_room", {})
    frames = await barrier(a)
    assert [(f["event"], set(f["data"])) for f in frames] == [
        ("error", {"code", "msg"}),
        ("error", {"code", "msg"}),
    ]
    assert [f["data"]["code"] for f in frames] == ["not_found", "invalid"]
    # A frame without ack that succeeds gets no reply at all.
    await a.emit("ping")
    await a.emit("join_room", {"room": "general"})
    replies = [f for f in await barrier(a) if f["event"] in ("ack", "error")]
    assert replies == []  # (the join's room_users broadcast may be there)


INVALID_REQUESTS = [
    ("join_room", {}),
    ("join_room", {"room": 5}),
    ("join_room", {"room": None}),
    ("join_room", {"room": "general", "after": "3"}),
    ("join_room", {"room": "general", "after": -1}),
    ("leave_room", {}),
    ("send_message", {"room": "general"}),
    ("send_message", {"message": "hi"}),
    ("send_message", {"room": "general", "message": 5}),
    ("send_message", {"room": "general", "message": None}),
    ("send_message", {"room": ["general"], "message": "hi"}),
    ("send_message", {"room": "general", "message": "hi", "clientId": 5}),
    ("send_message", {"room": "general", "message": "hi", "clientId": "x" * 65}),
    ("edit_message", {"message": "hi"}),
    ("edit_message", {"id": "1", "message": "hi"}),
    ("edit_message", {"id": True, "message": "hi"}),
    ("edit_message", {"id": 0, "message": "hi"}),
    ("edit_message", {"id": 1}),
    ("delete_message", {}),
    ("delete_message", {"id": 1.5}),
    ("typing", {"room": "general"}),
    ("typing", {"isTyping": True}),
    ("get_history", {}),
    ("get_history", {"room": "general", "limit": 0}),
    ("get_history", {"room": "general", "limit": 101}),
    ("get_history", {"room": "general", "limit": "10"}),
    ("get_history", {"room": "general", "before": "x"}),
    ("mark_read", {"room": "general"}),
    ("mark_read", {"room": "general", "messageId": "1"}),
    ("private_message", {"message": "hi"}),
    ("private_message", {"toUsername": "ben"}),
    ("private_message", {"toUsername": "ben", "message": False}),
]


async def test_missing_or_mistyped_fields_are_invalid(amake_user, sockets, settings):
    # Every frame is paid for, invalid ones too: more than a burst of them here.
    settings.CHAT_RATE_LIMITS = {**settings.CHAT_RATE_LIMITS, "message": (100, 100)}
    _, _, a, b = await pair_in_room(amake_user, sockets)
    for ack, (event, data) in enumerate(INVALID_REQUESTS, start=1000):
        await a.send_text(json.dumps({"event": event, "data": data, "ack": ack}))
    frames = await barrier(a)
    expected_acks = list(range(1000, 1000 + len(INVALID_REQUESTS)))
    assert [f.get("ack") for f in frames] == expected_acks, frames
    for (event, data), frame in zip(INVALID_REQUESTS, frames, strict=True):
        assert frame["event"] == "ack"
        assert frame["data"]["status"] == "error", (event, data, frame)
        assert frame["data"]["code"] == "invalid", (event, data, frame)
    assert await b.drain() == []
    assert await sync_to_async(Message.objects.count)() == 0


async def test_not_found_errors(amake_user, sockets):
    a = await sockets(await amake_user("ana"))
    await a.join("general")
    sent = await a.say("general", "hi")
    unknown = sent["messageId"] + 100
    requests = [
        ("send_message", {"room": "nowhere", "message": "hi"}),
        ("get_history", {"room": "nowhere"}),
        ("mark_read", {"room": "general", "messageId": unknown}),
        ("private_message", {"toUsername": "ghost", "message": "boo"}),
        ("edit_message", {"id": unknown, "message": "x"}),
        ("delete_message", {"id": unknown}),
    ]
    for event, data in requests:
        reply = await a.request(event, data)
        assert reply["status"] == "error", (event, reply)
        assert reply["code"] == "not_found", (event, reply)


async def test_message_rate_limit(amake_user, sockets):
    _, _, a, b = await pair_in_room(amake_user, sockets)
    burst = settings.CHAT_RATE_LIMITS["message"][1]
    count = burst + 15
    for i in range(count):
        frame = {
            "event": "send_message",
            "data": {"room": "general", "message": f"m{i}"},
            "ack": f"s{i}",
        }
        await a.send_text(json.dumps(frame))
    frames = await barrier(a)
    acks = {f["ack"]: f["data"] for f in frames if f["event"] == "ack"}
    assert sorted(acks) == sorted(f"s{i}" for i in range(count))
    replies = [acks[f"s{i}"] for i in range(count)]
    assert all(r["status"] == "delivered" for r in replies[:burst]), replies
    limited = [r for r in replies if r["status"] == "error"]
    assert limited, replies
    for reply in limited:
        assert reply["code"] == "rate_limited"
        assert isinstance(reply["retryAfter"], int | float)
        assert reply["retryAfter"] > 0
    delivered = [r["messageId"] for r in replies if r["status"] == "delivered"]
    broadcast = await b.events("receive_message")
    assert [m["id"] for m in broadcast] == delivered
    assert await sync_to_async(Message.objects.count)() == len(delivered)
    # Other events are not held back by the message limit.
    await assert_alive(a)
    assert (await a.request("typing", {"room": "general", "isTyping": False}))[
        "status"
    ] == "ok"


async def test_server_error(amake_user, sockets, monkeypatch):
    _, _, a, b = await pair_in_room(amake_user, sockets)

    def broken(**kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(selectors, "rooms_of_user", broken)
    reply = await reply_to(a, {"event": "list_rooms", "data": {}, "ack": 1}, 1)
    assert_error(reply, "server_error")
    assert "fire" not in reply["msg"]
    error = await error_of(a, {"event": "list_rooms", "data": {}})
    assert error["code"] == "server_error"
    await assert_alive(a)
    assert await b.drain() == []
    # The socket still does real work.
    await a.say("general", "after the failure")
    assert (await b.event("receive_message"))["message"] == "after the failure"


async def test_ack_ids_are_echoed_exactly(amake_user, sockets):
    a = await sockets(await amake_user("ana"))
    for ack in ["abc", "", "ünïcödé id", "17", 0, 42, -7, 3.25, 12345678901234]:
        reply = await reply_to(a, {"event": "ping", "data": {}, "ack": ack}, ack)
        assert reply == {"status": "ok"}, ack
        assert a.inbox == [], ack


async def test_ping_without_data(amake_user, sockets):
    a = await sockets(await amake_user("ana"))
    assert await reply_to(a, '{"event": "ping", "ack": "p"}', "p") == {"status": "ok"}
    assert a.inbox == []


async def test_each_request_gets_exactly_one_ack(amake_user, sockets):
    ben = await amake_user("ben")
    b = await sockets(ben)
    await b.join("general")
    a = await sockets(await amake_user("ana"))
    frames = [
        ("join_room", {"room": "general"}, "ok"),
        ("send_message", {"room": "general", "message": "x"}, "delivered"),
        ("typing", {"room": "general", "isTyping": True}, "ok"),
        ("get_history", {"room": "general"}, "ok"),
        ("list_rooms", {}, "ok"),
        ("mark_read", {"room": "general", "messageId": 1}, None),
        ("leave_room", {"room": "general"}, "ok"),
        ("send_message", {"room": "nowhere", "message": "x"}, "error"),
        ("ping", {}, "ok"),
    ]
    for i, (event, data, status) in enumerate(frames):
        reply = await reply_to(a, {"event": event, "data": data, "ack": i}, i)
        if status is not None:
            assert reply["status"] == status, (event, reply)
        a.inbox.clear()
    assert len(await b.events("receive_message")) == 1


# --- Redis ----------------------------------------------------------------------------


@pytest.mark.skipif(not settings.REDIS_URL, reason="only on the Redis channel layer")
@pytest.mark.timeout(60)
async def test_idle_socket_on_redis_keeps_receiving(amake_user, sockets):
    _, _, a, b = await pair_in_room(amake_user, sockets)

    await asyncio.sleep(15)

    await b.say("general", "still there?")
    assert (await a.event("receive_message"))["message"] == "still there?"
    await assert_alive(a)
    await a.say("general", "yes")
    assert (await b.event("receive_message", username="ana"))["message"] == "yes"


async def test_staff_soft_delete_from_admin_reaches_open_sockets(amake_user, sockets):
    ana = await amake_user("ana")
    staff = await amake_user("mod", is_staff=True, is_superuser=True)
    a = await sockets(ana)
    await a.join("general")
    sent = await a.say("general", "spam spam spam")

    def delete_in_admin() -> int:
        from django.test import Client

        client = Client()
        client.force_login(staff)
        response = client.post(
            "/admin/chat/message/",
            {"action": "soft_delete", "_selected_action": [sent["messageId"]]},
        )
        return response.status_code

    assert await sync_to_async(delete_in_admin)() == 302
    deleted = await a.event("message_deleted", id=sent["messageId"])
    assert deleted["room"] == "general" and deleted["seq"] == sent["seq"] + 1
    message = await stored(sent["messageId"])
    assert message.deleted_at is not None and message.body == "spam spam spam"
