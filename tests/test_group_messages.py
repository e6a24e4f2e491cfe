"""Group conversations: private_message {toUsernames}, the group room it finds or
makes, leave_conversation and group_updated, and everything a room does, in one."""

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model
from django.db import connection

from chat.domain import events, services
from chat.domain.errors import ChatError
from chat.domain.services import messages as messages_module
from chat.models import Membership, Message, Room

from .test_direct_messages import chatter, chatter_each, nothing

User = get_user_model()

pytestmark = pytest.mark.django_db(transaction=True)


@database_sync_to_async
def members_of(name: str) -> tuple[str, list[str]]:
    room = Room.objects.get(name=name)
    names = Membership.objects.filter(room=room).values_list(
        "user__username", flat=True
    )
    return room.kind, sorted(names)


@database_sync_to_async
def counts() -> tuple[int, int]:
    return Room.objects.count(), Message.objects.count()


async def group(socket, to: list[str], message: str, **extra) -> dict:
    reply = await socket.request(
        "private_message", {"toUsernames": to, "message": message, **extra}
    )
    assert reply["status"] == "delivered", reply
    return reply


async def people(amake_user, *names):
    return [await amake_user(n) for n in names]


# --- The room of a set of people ----------------------------------------------------


def test_the_same_people_find_the_same_room_whatever_the_order(make_user):
    users = [make_user(f"u{i}") for i in range(9)]
    me = users[0]
    for size in range(3, 10):
        others = [u.get_username() for u in users[1:size]]
        first = services.conversation_message_send(
            user=me, to_usernames=others, body="hi"
        ).message.room
        # Reversed, and sent by another of them: the same room.
        second = services.conversation_message_send(
            user=users[size - 1],
            to_usernames=[u.get_username() for u in reversed(users[: size - 1])],
            body="hi back",
        ).message.room
        assert first.pk == second.pk
        assert first.kind == Room.Kind.GROUP and first.name.startswith("group:")
        assert len(first.name) == len("group:") + 40
        assert Membership.objects.filter(room=first).count() == size
        assert first.name == Room.group_name(u.pk for u in users[:size])
    assert Room.objects.filter(kind=Room.Kind.GROUP).count() == 7
    # One other person is the direct conversation, as toUsername.
    direct = services.conversation_message_send(
        user=me, to_usernames=["u1"], body="just us"
    ).message.room
    assert direct.kind == Room.Kind.DIRECT
    assert direct.name == Room.direct_name(me.pk, users[1].pk)


def test_a_group_name_is_no_room_name_and_is_a_room_reference(make_user):
    from chat.domain.rules import room_name_clean, room_ref_clean

    name = Room.group_name([3, 1, 2])
    assert name == Room.group_name([1, 2, 3])
    assert room_ref_clean(name) == name
    for bad in (name, name.upper(), name[:-1], "group:xyz"):
        with pytest.raises(ChatError):
            room_name_clean(bad)
    with pytest.raises(ChatError):
        room_ref_clean(name[:-1])


async def test_private_message_to_a_group_reaches_every_socket_of_every_member(
    amake_user, sockets
):
    ana, ben, cara, dan = await people(amake_user, "ana", "ben", "cara", "dan")
    a1, a2 = await sockets(ana), await sockets(ana)
    b1, b2 = await sockets(ben), await sockets(ben)
    c1 = await sockets(cara)
    d = await sockets(dan)

    ack = await group(a1, ["cara", "ben"], "hi both", clientId="g-1")
    room = ack["room"]
    assert room.startswith("group:") and ack["duplicate"] is False
    for socket, is_self in ((a1, True), (a2, True), (b1, False), (b2, False)):
        got = await socket.event("private_message")
        assert got["id"] == ack["messageId"] and got["room"] == room
        assert got["from"] == "ana" and got["username"] == "ana"
        assert got["members"] == ["ana", "ben", "cara"]
        assert "to" not in got
        assert got["isSelf"] is is_self
        assert got["message"] == "hi both"
    assert (await c1.event("private_message"))["isSelf"] is False
    everyone = (a1, a2, b1, b2, c1, d)
    assert await chatter_each(*everyone) == nothing(*everyone)
    assert await members_of(room) == ("group", ["ana", "ben", "cara"])

    # A retry with the same clientId stores nothing new.
    again = await group(a2, ["ben", "cara"], "hi both", clientId="g-1")
    assert (again["messageId"], again["duplicate"]) == (ack["messageId"], True)

    # send_message to the room works for its members, as the same event.
    said = await b1.say(room, "hello from ben")
    got = await c1.event("private_message", id=said["messageId"])
    assert got["members"] == ["ana", "ben", "cara"] and got["from"] == "ben"
    await a1.event("private_message", id=said["messageId"])
    assert await chatter(d) == []
    assert await counts() == (1, 2)


async def test_refusals_store_nothing(amake_user, sockets, user_model, settings):
    # More refusals than a message burst: each is charged.
    settings.CHAT_RATE_LIMITS = {**settings.CHAT_RATE_LIMITS, "message": (50.0, 100)}
    names = [f"p{i}" for i in range(10)]
    users = await people(amake_user, *names)
    await people(amake_user, "gone")
    await sync_to_async(user_model.objects.filter(username="gone").update)(
        is_active=False
    )
    a = await sockets(users[0])
    cases = [
        ({"toUsernames": names[1:10]}, "invalid"),  # 10 people with the sender
        ({"toUsernames": []}, "invalid"),
        ({"toUsernames": ["p1", "p2", "p1"]}, "invalid"),
        ({"toUsernames": ["p1", "p0"]}, "invalid"),  # oneself
        ({"toUsernames": ["p1", "nobody"]}, "not_found"),
        ({"toUsernames": ["p1", "gone"]}, "not_found"),
        ({"toUsernames": "p1,p2"}, "invalid"),
        ({"toUsernames": ["p1", 2]}, "invalid"),
        ({"toUsernames": ["p1", "p2"], "toUsername": "p3"}, "invalid"),
        ({"toUsernames": ["p1", "p2"], "message": ""}, "invalid"),
        ({"toUsernames": ["p1", "x" * 151]}, "invalid"),
        ({"toUsernames": ["p1"] * 51}, "invalid"),
    ]
    for data, code in cases:
        reply = await a.request("private_message", {"message": "hi", **data})
        assert (reply["status"], reply["code"]) == ("error", code), (data, reply)
        assert reply["msg"]
    # Deactivated or never existed: the same answer but for the name.
    unknown = await a.request(
        "private_message", {"toUsernames": ["p1", "nobody"], "message": "hi"}
    )
    gone = await a.request(
        "private_message", {"toUsernames": ["p1", "gone"], "message": "hi"}
    )
    assert unknown["msg"].replace("nobody", "?") == gone["msg"].replace("gone", "?")
    assert await counts() == (0, 0)
    # Nine people is the most.
    await group(a, names[1:9], "the nine of us")


# --- Outsiders ------------------------------------------------------------------------


async def test_an_outsider_hears_of_a_group_what_of_a_room_that_does_not_exist(
    amake_user, sockets
):
    ana, _ben, _cara, eve = await people(amake_user, "ana", "ben", "cara", "eve")
    a = await sockets(ana)
    sent = await group(a, ["ben", "cara"], "between us three")
    theirs = sent["room"]
    nobodys = Room.group_name([ana.pk, eve.pk, 999_999])
    e = await sockets(eve)
    for event, extra in [
        ("join_room", {}),
        ("get_history", {}),
        ("send_message", {"message": "let me in"}),
        ("get_pins", {}),
        ("leave_conversation", {}),
        ("mark_read", {"messageId": sent["messageId"]}),
    ]:
        existing = await e.request(event, {"room": theirs, **extra})
        missing = await e.request(event, {"room": nobodys, **extra})
        assert existing["status"] == missing["status"] == "error", event
        assert (existing["code"], existing["msg"]) == ("not_found", missing["msg"])
    for event, data in [
        ("edit_message", {"id": sent["messageId"], "message": "x"}),
        ("delete_message", {"id": sent["messageId"]}),
        ("react", {"id": sent["messageId"], "emoji": "👍", "on": True}),
        ("pin_message", {"id": sent["messageId"], "pinned": True}),
    ]:
        reply = await e.request(event, data)
        assert (reply["status"], reply["code"]) == ("error", "not_found"), event
    # Nor does inviting or joining it by name make one a member.
    with pytest.raises(ChatError):
        await sync_to_async(services.room_invite)(
            user=ana, room_name=theirs, username="eve"
        )
    assert await members_of(theirs) == ("group", ["ana", "ben", "cara"])


# --- Leaving and coming back ---------------------------------------------------------


async def test_leaving_a_group_and_coming_back(amake_user, sockets):
    ana, ben, cara = await people(amake_user, "ana", "ben", "cara")
    a, b = await sockets(ana), await sockets(ben)
    c1, c2 = await sockets(cara), await sockets(cara)
    room = (await group(a, ["ben", "cara"], "hi"))["room"]
    for socket in (a, b, c1, c2):
        await socket.event("private_message")
        await socket.join(room)

    left = await c1.request("leave_conversation", {"room": room})
    assert left == {"status": "ok", "room": room}
    for socket in (a, b, c1, c2):  # cara's other socket follows
        got = await socket.event("group_updated")
        assert got == {"room": room, "members": ["ana", "ben"]}
    assert await members_of(room) == ("group", ["ana", "ben"])

    # She gets nothing more of it: messages, typing, and it is not hers to read.
    await b.say(room, "she left")
    await a.event("private_message")
    await a.request("typing", {"room": room, "isTyping": True})
    assert (await b.event("user_typing"))["username"] == "ana"
    assert await chatter_each(c1, c2) == nothing(c1, c2)
    rooms = (await c1.request("list_rooms"))["rooms"]
    assert room not in [r["room"] for r in rooms]
    for event in ("join_room", "get_history", "leave_conversation"):
        reply = await c2.request(event, {"room": room})
        assert reply["code"] == "not_found", event
    reply = await c2.request("send_message", {"room": room, "message": "hey"})
    assert reply["code"] == "not_found"

    # Ana writing to the same three again does not bring her back...
    again = await group(a, ["cara", "ben"], "the three of us?")
    assert again["room"] == room
    assert await members_of(room) == ("group", ["ana", "ben"])
    assert (await b.event("private_message"))["members"] == ["ana", "ben"]
    assert await chatter_each(c1, c2) == nothing(c1, c2)
    # ...but her writing to them does: the others are told.
    back = await group(c2, ["ana", "ben"], "I'm back")
    assert back["room"] == room
    for socket in (a, b, c1, c2):
        got = await socket.event("group_updated")
        assert got["members"] == ["ana", "ben", "cara"]
        message = await socket.event("private_message", id=back["messageId"])
        assert message["members"] == ["ana", "ben", "cara"]
    # What was said while she was away is hers to read again (it is the room of
    # these three people).
    history = await c1.request("get_history", {"room": room})
    assert [m["message"] for m in history["messages"]][-2:] == [
        "the three of us?",
        "I'm back",
    ]


async def test_a_direct_conversation_cannot_be_left(amake_user, sockets):
    ana, _ben = await people(amake_user, "ana", "ben")
    a = await sockets(ana)
    direct = (
        await a.request("private_message", {"toUsername": "ben", "message": "hi"})
    )["room"]
    reply = await a.request("leave_conversation", {"room": direct})
    assert (reply["status"], reply["code"]) == ("error", "invalid")
    reply = await a.request("leave_conversation", {})
    assert reply["code"] == "invalid"
    assert await members_of(direct) == ("direct", ["ana", "ben"])


async def test_the_last_one_to_leave_leaves_an_empty_room(amake_user, sockets):
    ana, ben, cara = await people(amake_user, "ana", "ben", "cara")
    socks = [await sockets(u) for u in (ana, ben, cara)]
    room = (await group(socks[0], ["ben", "cara"], "hi"))["room"]
    for socket in socks:
        reply = await socket.request("leave_conversation", {"room": room})
        assert reply["status"] == "ok"
    assert await members_of(room) == ("group", [])


# --- A room like any other -----------------------------------------------------------


async def test_reactions_pins_edits_and_reads_in_a_group(amake_user, sockets):
    ana, ben, cara, dan = await people(amake_user, "ana", "ben", "cara", "dan")
    a, b, c, d = [await sockets(u) for u in (ana, ben, cara, dan)]
    sent = await group(a, ["ben", "cara"], "vote here")
    room, message_id = sent["room"], sent["messageId"]
    members = (a, b, c)
    for socket in members:
        await socket.event("private_message")

    reply = await b.request("react", {"id": message_id, "emoji": "👍", "on": True})
    assert reply["status"] == "ok" and reply["count"] == 1
    for socket in members:
        got = await socket.event("reaction_updated")
        assert (got["room"], got["by"], got["users"]) == (room, "ben", ["ben"])

    # Any member may pin, as in a direct room.
    reply = await c.request("pin_message", {"id": message_id, "pinned": True})
    assert reply["status"] == "ok" and reply["pinned"] is True
    for socket in members:
        got = await socket.event("message_pinned")
        assert (got["id"], got["by"]) == (message_id, "cara")
    assert [
        m["id"] for m in (await b.request("get_pins", {"room": room}))["messages"]
    ] == [message_id]

    edit = await a.request("edit_message", {"id": message_id, "message": "vote!"})
    assert edit["status"] == "ok"
    for socket in members:
        assert (await socket.event("message_edited"))["message"] == "vote!"

    read = await b.request("mark_read", {"room": room, "messageId": message_id})
    assert read == {"status": "ok", "unread": 0}
    assert (await b.event("room_read"))["room"] == room
    # Ben's read is seen by the group (tests/test_receipts.py), not by Dan.
    receipt = {"room": room, "username": "ben", "messageId": message_id}
    for socket in members:
        assert await socket.event("read_receipt") == receipt
    assert await chatter_each(*members, d) == nothing(*members, d)

    joined = await a.join(room)
    assert joined["kind"] == "group" and joined["pins"] == [message_id]
    assert joined["users"] == ["ana", "ben", "cara"]  # which members are online
    await a.request("typing", {"room": room, "isTyping": True})
    for socket in (b, c):
        assert (await socket.event("user_typing"))["username"] == "ana"
    assert await chatter_each(a, d) == nothing(a, d)


async def test_list_rooms_names_a_groups_members(amake_user, sockets):
    ana, _ben, cara = await people(amake_user, "ana", "ben", "cara")
    a = await sockets(ana)
    sent = await group(a, ["ben", "cara"], "one")
    await group(a, ["ben", "cara"], "two")
    await a.request("private_message", {"toUsername": "ben", "message": "dm"})
    c = await sockets(cara)
    rooms = {r["room"]: r for r in (await c.request("list_rooms"))["rooms"]}
    entry = rooms[sent["room"]]
    assert entry["kind"] == "group" and entry["members"] == ["ana", "ben", "cara"]
    assert "with" not in entry
    assert entry["unread"] == 2 and entry["role"] == "member"
    (direct,) = [
        r for r in (await a.request("list_rooms"))["rooms"] if r["kind"] == "direct"
    ]
    assert direct["with"] == "ben" and "members" not in direct


async def test_a_member_resyncs_after_a_disconnect(amake_user, sockets):
    ana, ben, _cara = await people(amake_user, "ana", "ben", "cara")
    a, b = await sockets(ana), await sockets(ben)
    room = (await group(a, ["ben", "cara"], "before"))["room"]
    joined = await b.join(room)
    await b.close()
    missed = [await group(a, ["ben", "cara"], f"missed {i}") for i in range(2)]
    await a.request("edit_message", {"id": missed[0]["messageId"], "message": "x"})

    b2 = await sockets(ben)
    resync = await b2.join(room, after=joined["seq"])
    assert [(m["id"], m["message"]) for m in resync["history"]] == [
        (missed[1]["messageId"], "missed 1"),
        (missed[0]["messageId"], "x"),
    ]
    assert resync["hasMore"] is False


def test_admin_lists_groups(admin_client, make_user):
    ana, _ben, _cara = (make_user(n) for n in ("ana", "ben", "cara"))
    services.conversation_message_send(user=ana, to_usernames=["ben", "cara"], body="x")
    page = admin_client.get("/admin/chat/room/", {"kind__exact": "group"})
    assert page.status_code == 200
    assert b"group:" in page.content
    room = Room.objects.get(kind=Room.Kind.GROUP)
    page = admin_client.get(f"/admin/chat/room/{room.pk}/change/")
    assert page.status_code == 200


# --- The pages -----------------------------------------------------------------------


def test_the_group_page_checks_the_names_and_makes_nothing(client, make_user):
    ana, ben, _cara = (make_user(n) for n in ("ana", "ben", "cara"))
    make_user("eve")
    client.force_login(ana)
    page = client.get("/dm/", {"to": " cara, ben "})
    assert page.status_code == 200
    assert b'data-group="ben,cara"' in page.content
    assert Room.objects.count() == 0  # a visit makes no room
    assert client.get("/dm/", {"to": "ben"}).url == "/dm/ben/"
    for to, status in [
        ("ben,nobody", 404),
        ("ben,ana", 400),
        ("ben,ben", 400),
        ("", 400),
        (",".join(f"u{i}" for i in range(9)), 400),
    ]:
        assert client.get("/dm/", {"to": to}).status_code == status, to

    room = services.conversation_message_send(
        user=ben, to_usernames=["ana", "cara"], body="hi"
    ).message.room
    page = client.get("/dm/", {"to": "ben,cara"})
    assert page.status_code == 302 and page.url == f"/rooms/{room.name}/"
    assert client.get(page.url).status_code == 200
    client.force_login(User.objects.get(username="eve"))
    assert client.get(f"/rooms/{room.name}/").status_code == 404
    # Eve's own group with them is not theirs: she sees a new conversation.
    page = client.get("/dm/", {"to": "ben,cara"})
    assert page.status_code == 200 and b'data-group="ben,cara"' in page.content


def test_a_batch_stores_a_groups_messages_as_a_group_sends_them(make_user, monkeypatch):
    """The socket path's batches (messages_send_many): on PostgreSQL one SQL
    statement stores public and private rooms' drafts; a group's must not be
    stored there (its broadcast goes to each member), but one by one, with the
    same rules and event as private_message."""
    ana, ben, _cara, eve = (make_user(n) for n in ("ana", "ben", "cara", "eve"))
    room = services.room_create(user=ana, name="batch")
    group_room = services.conversation_message_send(
        user=ana, to_usernames=["ben", "cara"], body="first"
    ).message.room

    def draft(user, target, body, client_id=None):
        return services.message_draft(
            user=user,
            room_id=target.pk,
            room_name=target.name,
            body=body,
            client_id=client_id,
        )

    drafts = [
        draft(ana, room, "to the room", "b1"),
        draft(ben, group_room, "to the group", "b2"),
        draft(eve, group_room, "let me in"),
        draft(ana, group_room, "and again"),
    ]
    one_by_one = []
    original = messages_module.message_send
    monkeypatch.setattr(
        messages_module,
        "message_send",
        lambda **kw: one_by_one.append(kw["room_name"]) or original(**kw),
    )
    results, sent = events.collecting(services.messages_send_many)(drafts)
    if connection.vendor == "postgresql":  # the room's draft went by the SQL
        assert one_by_one == [group_room.name] * 3
    assert isinstance(results[2], ChatError) and results[2].code == "not_found"
    stored = [r.message for r in results if not isinstance(r, ChatError)]
    assert [(m.room.name, m.seq) for m in stored] == [
        ("batch", 1),
        (group_room.name, 2),
        (group_room.name, 3),
    ]
    assert Message.objects.filter(room=group_room).count() == 3
    broadcasts = [(b.group, b.event) for b in sent]
    assert (events.room_group(room.pk), "receive_message") in broadcasts
    to_group = [b for b in sent if b.data.get("room") == group_room.name]
    assert len(to_group) == 6  # two messages, three members each
    assert {b.event for b in to_group} == {"private_message"}
    assert all(b.data["members"] == ["ana", "ben", "cara"] for b in to_group)
    assert events.room_group(group_room.pk) not in {b.group for b in sent}
