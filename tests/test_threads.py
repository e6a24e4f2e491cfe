"""Threads over every transport: replies and their root's summary, the room's
history without them, get_thread, following, unread replies, read markers, typing
in a thread, deletion, resync, and who may do what."""

import pytest
from asgiref.sync import sync_to_async
from django.db import connection

from chat.domain import events, services
from chat.domain.services import messages as messages_module
from chat.models import Membership, Room, RoomBan

from .test_consumers import assert_error

pytestmark = pytest.mark.django_db(transaction=True)


async def alice_and_bob(amake_user, sockets):
    a = await sockets(await amake_user("alice"))
    b = await sockets(await amake_user("bob"))
    await a.join("general")
    await b.join("general")
    return a, b


async def reply(socket, root_id, text, room="general", **extra):
    return await socket.say(room, text, threadId=root_id, **extra)


async def test_a_reply_reaches_the_room_and_its_root_counts_it(amake_user, sockets):
    a, b = await alice_and_bob(amake_user, sockets)
    root = await a.say("general", "lunch?")
    sent = await reply(b, root["messageId"], "yes, at noon", clientId="r1")
    assert sent["threadId"] == root["messageId"]
    assert sent["seq"] == root["seq"] + 1

    for socket in (a, b):
        live = await socket.event("receive_message", id=sent["messageId"])
        assert (live["threadId"], live["alsoToRoom"], live["message"]) == (
            root["messageId"],
            False,
            "yes, at noon",
        )
        summary = await socket.event("thread_updated", id=root["messageId"])
        assert summary == {
            "room": "general",
            "id": root["messageId"],
            "replyCount": 1,
            "lastReplyAt": sent["time"],
            "lastReplyId": sent["messageId"],
            "repliers": ["bob"],
            "seq": sent["seq"] + 1,
        }
    # The root's author now follows the thread, and is told so, with one unread.
    followed = await a.event("thread_followed", id=root["messageId"])
    assert (followed["following"], followed["unread"], followed["lastReadId"]) == (
        True,
        1,
        0,
    )
    # The replier follows too, having read up to their own reply.
    followed = await b.event("thread_followed", id=root["messageId"])
    assert (followed["unread"], followed["lastReadId"]) == (0, sent["messageId"])


async def test_the_room_shows_replies_only_when_sent_also_to_it(amake_user, sockets):
    a, b = await alice_and_bob(amake_user, sockets)
    root = await a.say("general", "release notes")
    hidden = await reply(b, root["messageId"], "typo in line 3")
    shown = await reply(b, root["messageId"], "fixed it", alsoToRoom=True)

    page = await a.request("get_history", {"room": "general"})
    assert [m["id"] for m in page["messages"]] == [
        root["messageId"],
        shown["messageId"],
    ]
    assert page["messages"][0]["replyCount"] == 2
    assert page["messages"][0]["repliers"] == ["bob"]
    assert page["messages"][1]["alsoToRoom"] is True
    fresh = await (await sockets(await user_named("alice"))).join("general")
    assert [m["id"] for m in fresh["history"]] == [
        root["messageId"],
        shown["messageId"],
    ]
    assert hidden["messageId"] not in [m["id"] for m in fresh["history"]]
    # Only what the room shows counts as unread in it.
    rooms = await a.request("list_rooms")
    (general,) = [r for r in rooms["rooms"] if r["room"] == "general"]
    assert general["unread"] == 1
    assert general["lastMessageId"] == shown["messageId"]


async def test_get_thread_pages_replies_oldest_first(amake_user, sockets):
    a, b = await alice_and_bob(amake_user, sockets)
    root = await a.say("general", "standup")
    ids = [
        (await reply(b, root["messageId"], f"note {i}"))["messageId"] for i in range(5)
    ]

    page = await a.request("get_thread", {"id": root["messageId"], "limit": 3})
    assert page["root"]["id"] == root["messageId"]
    assert page["root"]["replyCount"] == 5
    assert [m["id"] for m in page["messages"]] == ids[2:]
    assert page["hasMore"] is True
    assert (page["following"], page["lastReadId"]) == (True, 0)
    older = await a.request(
        "get_thread", {"id": root["messageId"], "before": ids[2], "limit": 3}
    )
    assert [m["id"] for m in older["messages"]] == ids[:2]
    assert older["hasMore"] is False
    # Asked by a reply's id, the answer is its whole thread.
    by_reply = await b.request("get_thread", {"id": ids[3]})
    assert by_reply["root"]["id"] == root["messageId"]
    assert len(by_reply["messages"]) == 5
    assert by_reply["lastReadId"] == ids[-1]


async def test_a_reply_to_a_reply_attaches_to_its_root(amake_user, sockets):
    a, b = await alice_and_bob(amake_user, sockets)
    root = await a.say("general", "root")
    first = await reply(b, root["messageId"], "first")
    second = await reply(a, first["messageId"], "second")
    assert second["threadId"] == root["messageId"]
    summary = (await a.events("thread_updated"))[-1]
    assert (summary["replyCount"], summary["repliers"]) == (2, ["alice", "bob"])


async def test_bad_roots_are_refused(amake_user, sockets):
    a, b = await alice_and_bob(amake_user, sockets)
    root = await a.say("general", "gone soon")
    await a.request("delete_message", {"id": root["messageId"]})
    refused = await b.request(
        "send_message",
        {"room": "general", "message": "hi", "threadId": root["messageId"]},
    )
    assert_error(refused, "not_found")
    refused = await b.request(
        "send_message", {"room": "general", "message": "hi", "threadId": 999_999}
    )
    assert_error(refused, "not_found")
    # A root in another room is not one of this room's.
    await a.join("random")
    await b.join("random")
    elsewhere = await a.say("random", "over here")
    refused = await b.request(
        "send_message",
        {"room": "general", "message": "hi", "threadId": elsewhere["messageId"]},
    )
    assert_error(refused, "not_found")
    refused = await b.request(
        "send_message", {"room": "general", "message": "hi", "threadId": "1"}
    )
    assert_error(refused, "invalid")
    refused = await b.request(
        "private_message",
        {"toUsername": "alice", "message": "hi", "threadId": elsewhere["messageId"]},
    )
    assert_error(refused, "invalid")
    # Nothing of it was stored.
    page = await a.request("get_thread", {"id": elsewhere["messageId"]})
    assert page["messages"] == []


async def test_following_unread_and_read_markers(amake_user, sockets):
    a, b = await alice_and_bob(amake_user, sockets)
    a2 = await sockets(await user_named("alice"))  # alice's other device
    root = await a.say("general", "plan")
    first = await reply(b, root["messageId"], "one")
    second = await reply(b, root["messageId"], "two")
    await reply(a, root["messageId"], "mine")  # her own reply: not unread to her

    listed = await a.request("list_threads")
    ((entry),) = listed["threads"]
    assert (entry["room"], entry["root"]["id"], entry["unread"]) == (
        "general",
        root["messageId"],
        0,  # she replied: read up to her own reply
    )
    assert entry["root"]["replyCount"] == 3
    third = await reply(b, root["messageId"], "three")
    (entry,) = (await a.request("list_threads"))["threads"]
    assert entry["unread"] == 1

    read = await a.request(
        "mark_thread_read", {"id": root["messageId"], "messageId": third["messageId"]}
    )
    assert (read["lastReadId"], read["unread"]) == (third["messageId"], 0)
    told = await a2.event("thread_read", id=root["messageId"])
    assert (told["lastReadId"], told["unread"]) == (third["messageId"], 0)
    refused = await a.request(
        "mark_thread_read", {"id": root["messageId"], "messageId": root["messageId"]}
    )
    assert_error(refused, "not_found")  # the root is not one of its replies

    off = await a.request("follow_thread", {"id": root["messageId"], "follow": False})
    assert off["following"] is False
    await a2.event("thread_followed", id=root["messageId"], following=False)
    assert (await a.request("list_threads"))["threads"] == []
    # bob, who only replied, follows; carol follows by choice, from a reply's id.
    carol = await sockets(await amake_user("carol"))
    await carol.join("general")
    on = await carol.request(
        "follow_thread", {"id": first["messageId"], "follow": True}
    )
    assert (on["id"], on["following"], on["unread"]) == (root["messageId"], True, 4)
    assert [t["root"]["id"] for t in (await b.request("list_threads"))["threads"]] == [
        root["messageId"]
    ]
    # Replying follows again after an unfollow.
    await reply(a, second["messageId"], "back in")
    assert len((await a.request("list_threads"))["threads"]) == 1


async def test_deleting_a_reply_updates_its_root(amake_user, sockets):
    a, b = await alice_and_bob(amake_user, sockets)
    root = await a.say("general", "root")
    first = await reply(b, root["messageId"], "first")
    second = await reply(a, root["messageId"], "second")
    await b.drain()

    await a.request("delete_message", {"id": second["messageId"]})
    deleted = await b.event("message_deleted", id=second["messageId"])
    summary = await b.event("thread_updated", id=root["messageId"])
    assert summary["seq"] == deleted["seq"] + 1
    assert (summary["replyCount"], summary["lastReplyId"], summary["repliers"]) == (
        1,
        first["messageId"],
        ["bob"],
    )
    # The root deleted: its thread stays readable, and takes no more replies.
    await a.request("delete_message", {"id": root["messageId"]})
    page = await b.request("get_thread", {"id": root["messageId"]})
    assert page["root"]["deleted"] is True
    assert [(m["id"], m["deleted"]) for m in page["messages"]] == [
        (first["messageId"], False),
        (second["messageId"], True),  # keeps its place, as in the room
    ]
    refused = await b.request(
        "send_message",
        {"room": "general", "message": "late", "threadId": root["messageId"]},
    )
    assert_error(refused, "not_found")


async def test_resync_brings_replies_and_reply_counts(amake_user, sockets):
    a, b = await alice_and_bob(amake_user, sockets)
    root = await a.say("general", "while you were away")
    away_from = root["seq"]
    sent = await reply(b, root["messageId"], "a reply you missed")
    back = await a.join("general", after=away_from)
    by_id = {m["id"]: m for m in back["history"]}
    assert by_id[sent["messageId"]]["threadId"] == root["messageId"]
    assert by_id[root["messageId"]]["replyCount"] == 1
    assert back["seq"] == sent["seq"] + 1


async def test_typing_in_a_thread_names_it(amake_user, sockets):
    a, b = await alice_and_bob(amake_user, sockets)
    root = await a.say("general", "root")
    await b.request(
        "typing", {"room": "general", "isTyping": True, "threadId": root["messageId"]}
    )
    typing = await a.event("user_typing", username="bob")
    assert typing["threadId"] == root["messageId"]


async def test_outsiders_hear_nothing_of_a_private_rooms_threads(
    amake_user, sockets, make_user
):
    a = await sockets(await amake_user("alice"))
    await sync_to_async(_private_room)("secret", "alice")
    await a.join("secret")
    root = await a.say("secret", "private plans")
    eve = await sockets(await amake_user("eve"))
    for event, data in [
        ("get_thread", {"id": root["messageId"]}),
        ("follow_thread", {"id": root["messageId"], "follow": True}),
        ("mark_thread_read", {"id": root["messageId"], "messageId": 1}),
        ("send_message", {"room": "secret", "message": "x", "threadId": 1}),
    ]:
        assert_error(await eve.request(event, data), "not_found")


async def test_a_banned_member_cannot_reply_or_follow(amake_user, sockets):
    a, b = await alice_and_bob(amake_user, sockets)
    root = await a.say("general", "root")
    await sync_to_async(_ban)("general", "bob")
    for event, data in [
        (
            "send_message",
            {"room": "general", "message": "x", "threadId": root["messageId"]},
        ),
        ("follow_thread", {"id": root["messageId"], "follow": True}),
        ("get_thread", {"id": root["messageId"]}),
    ]:
        assert_error(await b.request(event, data), "forbidden")


async def user_named(username):
    from django.contrib.auth import get_user_model

    return await get_user_model().objects.aget(username=username)


def _private_room(name, owner):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(username=owner)
    room = Room.objects.create(name=name, kind=Room.Kind.PRIVATE, created_by=user)
    Membership.objects.create(room=room, user=user, role=Membership.Role.OWNER)


def _ban(room, username):
    from django.contrib.auth import get_user_model

    RoomBan.objects.create(
        room=Room.objects.get(name=room),
        user=get_user_model().objects.get(username=username),
    )


def test_a_batch_stores_replies_one_by_one_beside_plain_messages(
    make_user, monkeypatch
):
    """The socket path's batches (messages_send_many): a reply has its root to lock
    and update, so it takes the one-by-one path; the plain message beside it is
    still stored by the batch's SQL on PostgreSQL."""
    ana, ben = make_user("ana"), make_user("ben")
    room = services.room_create(user=ana, name="batch")
    services.membership_add(room=room, user=ben)
    root = services.message_send(user=ana, room_name="batch", body="root").message

    def draft(user, body, **thread):
        return services.message_draft(
            user=user,
            room_id=room.pk,
            room_name=room.name,
            body=body,
            client_id=None,
            **thread,
        )

    one_by_one = []
    original = messages_module.message_send
    monkeypatch.setattr(
        messages_module,
        "message_send",
        lambda **kw: one_by_one.append(kw["body"]) or original(**kw),
    )
    drafts = [
        draft(ben, "plain"),
        draft(ben, "a reply", thread_id=root.pk, also_to_room=True),
    ]
    results, sent = events.collecting(services.messages_send_many)(drafts)
    if connection.vendor == "postgresql":
        assert one_by_one == ["a reply"]
    plain, reply = (r.message for r in results)
    assert (plain.thread_id, reply.thread_id, reply.also_to_room) == (
        None,
        root.pk,
        True,
    )
    root.refresh_from_db()
    assert (root.reply_count, root.repliers) == (1, ["ben"])
    assert [b.event for b in sent].count("thread_updated") == 1
