"""The domain functions that views, admin and the consumer all call
(chat.domain.services,
chat.domain.selectors, chat.domain.rules), tested without a socket."""

from contextlib import contextmanager

import pytest
from django.db import transaction

from chat.domain import events, selectors, services
from chat.domain.errors import ChatError
from chat.domain.rules import room_name_clean, room_ref_clean
from chat.models import Membership, Message, Room

pytestmark = pytest.mark.django_db


@contextmanager
def chat_error(code: str):
    with pytest.raises(ChatError) as info:
        yield
    assert info.value.code == code, info.value.msg


def send(user, room: str, body: str, **kwargs) -> Message:
    return services.message_send(user=user, room_name=room, body=body, **kwargs).message


def members(room: Room) -> dict[str, str]:
    return dict(
        Membership.objects.filter(room=room).values_list("user__username", "role")
    )


# --- Names ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("general", "general"),
        ("General", "general"),
        ("  lobby \n", "lobby"),
        ("r2-d2_fans", "r2-d2_fans"),
        ("7", "7"),
        ("a" * 50, "a" * 50),
    ],
)
def test_room_name_clean_accepts(raw, clean):
    assert room_name_clean(raw) == clean


@pytest.mark.parametrize(
    "raw",
    ["", "   ", "a" * 51, "-lead", "_lead", "two words", "dot.ted", "é", "dm:1:2"],
)
def test_room_name_clean_refuses(raw):
    with chat_error("invalid"):
        room_name_clean(raw)


def test_room_ref_clean_accepts_room_and_direct_names():
    assert room_ref_clean("dm:3:17") == "dm:3:17"
    assert room_ref_clean("General") == "general"
    for bad in ("dm:a:b", "dm:1", "dm:1:2:3", "DM:1:2", "dm:-1:2"):
        with chat_error("invalid"):
            room_ref_clean(bad)


# --- Rooms ---------------------------------------------------------------------------


def test_room_create_public_and_private(make_user):
    ana = make_user("ana")
    club = services.room_create(user=ana, name="Book-Club", topic="books")
    assert (club.name, club.kind, club.topic) == ("book-club", "public", "books")
    assert members(club) == {"ana": "owner"}
    secret = services.room_create(user=ana, name="secret", kind="private")
    assert secret.kind == "private" and members(secret) == {"ana": "owner"}


def test_room_create_refuses(make_user):
    ana, ben = make_user("ana"), make_user("ben")
    services.room_create(user=ana, name="club")
    with chat_error("invalid"):
        services.room_create(user=ben, name="CLUB")
    with chat_error("invalid"):
        services.room_create(user=ben, name="dm-like", kind="direct")
    with chat_error("invalid"):
        services.room_create(user=ben, name="bad name")
    with chat_error("too_long"):
        services.room_create(user=ben, name="long-topic", topic="t" * 251)
    with chat_error("invalid"):
        services.room_create(user=ben, name="exe", topic="see \u202efdp.exe")
    with chat_error("invalid"):
        services.room_create(user=ben, name="blank", topic="\u200b\u3164")
    assert list(Room.objects.values_list("name", flat=True)) == ["club"]
    assert members(Room.objects.get(name="club")) == {"ana": "owner"}


def test_room_join(make_user):
    ana, ben, carol = make_user("ana"), make_user("ben"), make_user("carol")
    # A missing public room is created, its creator the owner.
    room = services.room_join(user=ana, name="Lobby")
    assert (room.name, room.kind, room.created_by) == ("lobby", "public", ana)
    # An existing public room is joined, once.
    assert services.room_join(user=ben, name="lobby") == room
    assert services.room_join(user=ben, name="lobby") == room
    assert members(room) == {"ana": "owner", "ben": "member"}

    secret = services.room_create(user=ana, name="secret", kind="private")
    with chat_error("forbidden"):
        services.room_join(user=ben, name="secret")
    assert services.room_join(user=ana, name="secret") == secret
    assert members(secret) == {"ana": "owner"}

    direct = services.direct_room_get_or_create(user=ana, other=ben)
    with chat_error("not_found"):  # an outsider cannot tell it exists
        services.room_join(user=carol, name=direct.name)
    assert services.room_join(user=ben, name=direct.name) == direct
    with chat_error("not_found"):
        services.room_join(user=carol, name="dm:999998:999999")
    assert not Room.objects.filter(name="dm:999998:999999").exists()
    with chat_error("invalid"):
        services.room_join(user=carol, name="no spaces")


def test_direct_room_get_or_create_is_idempotent(make_user):
    ana, ben = make_user("ana"), make_user("ben")
    low, high = sorted((ana.pk, ben.pk))
    room = services.direct_room_get_or_create(user=ben, other=ana)
    assert (room.name, room.kind) == (f"dm:{low}:{high}", "direct")
    assert services.direct_room_get_or_create(user=ana, other=ben) == room
    assert services.direct_room_get_or_create(user=ben, other=ana) == room
    assert members(room) == {"ana": "member", "ben": "member"}
    assert Room.objects.filter(kind="direct").count() == 1
    with chat_error("invalid"):
        services.membership_add(room=room, user=make_user("carol"))


# --- Sending -------------------------------------------------------------------------


def test_message_send_advances_the_room_seq_by_one(make_user):
    ana = make_user("ana")
    services.room_join(user=ana, name="general")
    services.room_join(user=ana, name="random")
    sent = [send(ana, "general", f"m{i}") for i in range(3)]
    assert [(m.seq, m.changed_seq) for m in sent] == [(1, 1), (2, 2), (3, 3)]
    assert Room.objects.get(name="general").last_seq == 3
    # Every room counts on its own.
    assert send(ana, "random", "elsewhere").seq == 1

    edited = services.message_edit(user=ana, message_id=sent[0].pk, body="m0!")
    assert (edited.seq, edited.changed_seq) == (1, 4)
    deleted = services.message_delete(user=ana, message_id=sent[1].pk)
    assert (deleted.seq, deleted.changed_seq) == (2, 5)
    assert send(ana, "general", "m3").seq == 6
    assert Room.objects.get(name="general").last_seq == 6


def test_message_send_broadcasts_to_the_room(make_user, broadcasts, committed):
    ana = make_user("ana")
    room = services.room_join(user=ana, name="general")
    with committed():
        message = send(ana, "general", "hello", client_id="c-1")
    (sent,) = broadcasts
    assert (sent.group, sent.event) == (events.room_group(room.pk), "receive_message")
    assert sent.data["id"] == message.pk and sent.data["room"] == "general"
    assert sent.data["seq"] == message.seq and sent.data["username"] == "ana"
    assert sent.data["message"] == "hello" and sent.data["clientId"] == "c-1"


def test_client_id_retry_stores_nothing_and_broadcasts_the_same_message_again(
    make_user, broadcasts, committed
):
    # The first broadcast may have died with the connection that made it; sockets
    # drop a seq they have already delivered.
    ana, ben = make_user("ana"), make_user("ben")
    services.room_join(user=ana, name="general")
    services.room_join(user=ben, name="general")
    with committed():
        first = services.message_send(
            user=ana, room_name="general", body="once", client_id="c-1"
        )
    assert first.created is True and len(broadcasts) == 1
    original = broadcasts.pop()

    with committed():
        retry = services.message_send(
            user=ana, room_name="general", body="once (retry)", client_id="c-1"
        )
    assert retry.created is False
    assert retry.message.pk == first.message.pk
    assert retry.message.body == "once"
    assert broadcasts == [original]
    assert Message.objects.count() == 1
    assert Room.objects.get(name="general").last_seq == 1

    with committed():
        services.message_edit(user=ana, message_id=first.message.pk, body="edited")
    broadcasts.clear()
    with committed():
        services.message_send(
            user=ana, room_name="general", body="once", client_id="c-1"
        )
    # Edited since: the edit's own broadcast carries the news, not the old text.
    assert broadcasts == []

    # Another user's clientId is theirs alone.
    with committed():
        other = services.message_send(
            user=ben, room_name="general", body="mine", client_id="c-1"
        )
    assert other.created is True and other.message.pk != first.message.pk
    assert len(broadcasts) == 1


def test_message_send_refuses(make_user, settings):
    ana, ben = make_user("ana"), make_user("ben")
    services.room_create(user=ana, name="general")
    services.room_create(user=ana, name="secret", kind="private")
    limit = settings.CHAT_MAX_MESSAGE_LENGTH
    with chat_error("forbidden"):
        send(ben, "general", "not a member yet")
    with chat_error("not_found"):  # as if it did not exist
        send(ben, "secret", "let me in")
    with chat_error("not_found"):
        send(ana, "nowhere", "hello?")
    with chat_error("invalid"):
        send(ana, "general", " \t\n")
    with chat_error("invalid"):
        send(ana, "general", "\u200b \ufeff")
    with chat_error("invalid"):
        send(ana, "general", "abc\u202egnp.exe")
    with chat_error("too_long"):
        send(ana, "general", "x" * (limit + 1))
    with chat_error("invalid"):
        send(ana, "general", "hi", client_id="c" * 65)
    assert Message.objects.count() == 0
    assert send(ana, "general", "x" * limit).body == "x" * limit


def test_direct_message_send(make_user, broadcasts, committed):
    ana, ben = make_user("ana"), make_user("ben")
    with committed():
        sent = services.direct_message_send(
            user=ana, to_username="ben", body="hi", client_id="d-1"
        )
    room = sent.message.room
    assert sent.created is True and room.kind == "direct"
    assert members(room) == {"ana": "member", "ben": "member"}
    by_group = {b.group: b for b in broadcasts}
    assert set(by_group) == {events.user_group(ana.pk), events.user_group(ben.pk)}
    for user, is_self in ((ana, True), (ben, False)):
        frame = by_group[events.user_group(user.pk)]
        assert frame.event == "private_message"
        assert frame.data["from"] == "ana" and frame.data["to"] == "ben"
        assert frame.data["isSelf"] is is_self
        assert frame.data["room"] == room.name and frame.data["id"] == sent.message.pk
    first_broadcasts = list(broadcasts)
    broadcasts.clear()

    with committed():
        retry = services.direct_message_send(
            user=ana, to_username="ben", body="hi", client_id="d-1"
        )
    assert retry.created is False and retry.message.pk == sent.message.pk
    assert broadcasts == first_broadcasts  # the same frames again, nothing stored

    with chat_error("not_found"):
        services.direct_message_send(user=ana, to_username="nobody", body="hi")
    with chat_error("invalid"):
        services.direct_message_send(user=ana, to_username="ana", body="hi")
    ben.is_active = False
    ben.save()
    with chat_error("not_found"):
        services.direct_message_send(user=ana, to_username="ben", body="still there?")
    assert Message.objects.count() == 1


# --- Editing and deleting -------------------------------------------------------------


@pytest.fixture
def cast(make_user):
    """Who is who around one message by ana, in a public and in a private room."""
    people = {
        name: make_user(name) for name in ("owner", "ana", "mod", "member", "outsider")
    }
    people["staff"] = make_user("staff", is_staff=True)
    messages = {}
    for kind in ("public", "private"):
        room = services.room_create(user=people["owner"], name=kind, kind=kind)
        for name, role in (
            ("ana", "member"),
            ("mod", "moderator"),
            ("member", "member"),
        ):
            services.membership_add(room=room, user=people[name], role=role)
        messages[kind] = send(people["ana"], kind, "original")
    return people, messages


ALLOWED = {"ana", "owner", "mod", "staff"}


@pytest.mark.parametrize("action", ["edit", "delete"])
@pytest.mark.parametrize("kind", ["public", "private"])
@pytest.mark.parametrize(
    "actor", ["ana", "owner", "mod", "staff", "member", "outsider"]
)
def test_who_may_change_a_message(cast, broadcasts, committed, action, kind, actor):
    people, messages = cast
    message = messages[kind]

    def change():
        if action == "edit":
            return services.message_edit(
                user=people[actor], message_id=message.pk, body="changed"
            )
        return services.message_delete(user=people[actor], message_id=message.pk)

    if actor in ALLOWED:
        with committed():
            change()
        (frame,) = broadcasts
        assert frame.event == (
            "message_edited" if action == "edit" else "message_deleted"
        )
        assert frame.group == events.room_group(message.room_id)
        assert frame.data["id"] == message.pk and frame.data["room"] == kind
        stored = Message.objects.get(pk=message.pk)
        if action == "edit":
            assert stored.body == "changed" and stored.edited_at is not None
        else:
            assert stored.deleted_by == people[actor]
        return

    # A member may read, not change; someone who cannot read the room at all
    # is told the message does not exist.
    code = "not_found" if (actor, kind) == ("outsider", "private") else "forbidden"
    with committed(), chat_error(code):
        change()
    assert broadcasts == []
    stored = Message.objects.get(pk=message.pk)
    assert (stored.body, stored.deleted_at, stored.changed_seq) == (
        "original",
        None,
        message.changed_seq,
    )


def test_message_edit(make_user, broadcasts, committed):
    ana = make_user("ana")
    services.room_join(user=ana, name="general")
    message = send(ana, "general", "helo")
    with committed():
        edited = services.message_edit(user=ana, message_id=message.pk, body="hello")
    stored = Message.objects.get(pk=message.pk)
    assert stored.body == "hello" and stored.edited_at is not None
    (frame,) = broadcasts
    assert frame.data == {
        "room": "general",
        "id": message.pk,
        "message": "hello",
        "html": "<p>hello</p>",
        "editedAt": frame.data["editedAt"],
        "mentions": [],
        "seq": edited.changed_seq,
    }
    assert frame.data["editedAt"]
    with chat_error("invalid"):
        services.message_edit(user=ana, message_id=message.pk, body="  ")
    with chat_error("not_found"):
        services.message_edit(user=ana, message_id=10**9, body="x")


def test_message_delete_is_soft_and_idempotent(make_user, broadcasts, committed):
    ana, mod = make_user("ana"), make_user("mod")
    room = services.room_join(user=ana, name="general")
    services.membership_add(room=room, user=mod, role=Membership.Role.MODERATOR)
    message = send(ana, "general", "regrettable")

    with committed():
        services.message_delete(user=mod, message_id=message.pk)
    stored = Message.objects.get(pk=message.pk)
    assert stored.body == "regrettable"  # kept for audit
    assert stored.deleted_at is not None and stored.deleted_by == mod
    (frame,) = broadcasts
    assert frame.event == "message_deleted"
    assert frame.data == {"room": "general", "id": message.pk, "seq": 2}
    # Readers no longer see the text.
    (shown,) = selectors.history_page(
        user=ana, room_name="general", before_id=None, limit=50
    )["messages"]
    assert shown["deleted"] is True and shown["message"] == ""
    broadcasts.clear()

    with committed():
        again = services.message_delete(user=ana, message_id=message.pk)
    assert again.pk == message.pk
    assert broadcasts == []
    assert Room.objects.get(pk=room.pk).last_seq == 2
    assert Message.objects.get(pk=message.pk).deleted_by == mod
    with chat_error("not_found"):
        services.message_edit(user=ana, message_id=message.pk, body="undo")


def test_direct_message_changes_reach_both_users(make_user, broadcasts, committed):
    ana, ben = make_user("ana"), make_user("ben")
    message = services.direct_message_send(
        user=ana, to_username="ben", body="hi"
    ).message
    with committed():
        services.message_edit(user=ana, message_id=message.pk, body="hi!")
        services.message_delete(user=ana, message_id=message.pk)
    both = {events.user_group(ana.pk), events.user_group(ben.pk)}
    assert {b.group for b in broadcasts if b.event == "message_edited"} == both
    assert {b.group for b in broadcasts if b.event == "message_deleted"} == both
    assert len(broadcasts) == 4


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("action", ["send", "edit", "delete"])
def test_broadcasts_wait_for_the_commit(make_user, broadcasts, action):
    ana = make_user("ana")
    room = services.room_join(user=ana, name="general")
    message = send(ana, "general", "original")
    broadcasts.clear()

    def change():
        if action == "send":
            send(ana, "general", "new")
        elif action == "edit":
            services.message_edit(user=ana, message_id=message.pk, body="changed")
        else:
            services.message_delete(user=ana, message_id=message.pk)

    # Rolled back: nothing was said, nothing changed.
    with pytest.raises(RuntimeError), transaction.atomic():
        change()
        raise RuntimeError("something later in the request failed")
    assert broadcasts == []
    assert Room.objects.get(pk=room.pk).last_seq == 1
    assert list(Message.objects.values_list("body", "deleted_at")) == [
        ("original", None)
    ]

    # Committed: said once the commit happened, not before.
    with transaction.atomic():
        change()
        assert broadcasts == []
    assert len(broadcasts) == 1
    assert Room.objects.get(pk=room.pk).last_seq == 2


# --- Unread counts and read markers ---------------------------------------------------


def test_rooms_of_user(make_user):
    ana, ben = make_user("ana"), make_user("ben")
    services.room_join(user=ana, name="general")
    services.room_join(user=ben, name="general")
    services.room_create(user=ana, name="quiet", kind="private")
    from_ben = [send(ben, "general", f"b{i}") for i in range(3)]
    send(ana, "general", "a0")
    last = send(ben, "general", "b3")
    services.message_delete(user=ben, message_id=from_ben[1].pk)
    dm = services.direct_message_send(user=ben, to_username="ana", body="psst")

    rooms = {r["room"]: r for r in selectors.rooms_of_user(user=ana)}
    assert set(rooms) == {"general", "quiet", dm.message.room.name}
    assert rooms["general"]["kind"] == "public" and rooms["general"]["role"] == "owner"
    # b0, b2, b3: not her own, not the deleted one.
    assert rooms["general"]["unread"] == 3
    assert rooms["general"]["lastMessageId"] == last.pk
    assert rooms["general"]["lastReadId"] is None
    assert rooms["quiet"]["unread"] == 0 and rooms["quiet"]["lastMessageId"] is None
    direct = rooms[dm.message.room.name]
    assert direct["kind"] == "direct" and direct["with"] == "ben"
    assert direct["unread"] == 1 and direct["lastMessageId"] == dm.message.pk
    assert "with" not in rooms["general"]

    assert (
        services.room_mark_read(
            user=ana, room_name="general", message_id=from_ben[2].pk
        )
        == 1
    )
    rooms = {r["room"]: r for r in selectors.rooms_of_user(user=ana)}
    assert rooms["general"]["unread"] == 1
    assert rooms["general"]["lastReadId"] == from_ben[2].pk
    # Ben's view is his own.
    ben_rooms = {r["room"]: r for r in selectors.rooms_of_user(user=ben)}
    assert ben_rooms["general"]["unread"] == 1  # ana's a0
    assert ben_rooms[dm.message.room.name]["with"] == "ana"
    assert ben_rooms[dm.message.room.name]["unread"] == 0


def test_room_mark_read(make_user, broadcasts, committed):
    ana, ben = make_user("ana"), make_user("ben")
    services.room_join(user=ana, name="general")
    services.room_join(user=ben, name="general")
    services.room_join(user=ben, name="random")
    first, second = send(ben, "general", "one"), send(ben, "general", "two")
    elsewhere = send(ben, "random", "elsewhere")

    with committed():
        unread = services.room_mark_read(
            user=ana, room_name="general", message_id=second.pk
        )
    assert unread == 0
    (frame,) = broadcasts
    assert (frame.group, frame.event) == (events.user_group(ana.pk), "room_read")
    assert frame.data == {
        "room": "general",
        "lastReadId": second.pk,
        "unread": 0,
        "mentions": 0,
    }

    # An older marker from a stale tab does not bring unread messages back.
    assert (
        services.room_mark_read(user=ana, room_name="general", message_id=first.pk) == 0
    )
    assert Membership.objects.get(user=ana, room__name="general").last_read == second

    with chat_error("not_found"):
        services.room_mark_read(user=ana, room_name="general", message_id=elsewhere.pk)
    with chat_error("forbidden"):
        services.room_mark_read(user=ana, room_name="random", message_id=elsewhere.pk)
