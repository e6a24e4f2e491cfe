"""Moderation from admin and from the chat, and the limits that close sockets.

Each case asserts what the moderated user's live sockets see (on the channel layer
the settings choose: Redis in CI), and what is recorded.
"""

import asyncio
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.test import Client
from django.utils import timezone

from chat.domain import services
from chat.models import Membership, ModerationAction, Mute, Room, RoomBan

from .wsclient import Socket

pytestmark = pytest.mark.django_db(transaction=True)


async def closed_with(socket: Socket, timeout: float = 1.0) -> int:
    """The close code the server sends within `timeout` s (a second: the promise)."""
    queue = socket.communicator.output_queue
    async with asyncio.timeout(timeout):
        while True:
            message = await queue.get()
            if message["type"] == "websocket.close":
                socket.closed = True
                return message.get("code")


@sync_to_async
def admin_post(staff, url: str, data: dict) -> int:
    client = Client()
    client.force_login(staff)
    return client.post(url, data).status_code


@sync_to_async
def setup_room(owner, name: str, members=(), kind=Room.Kind.PUBLIC) -> Room:
    room = services.room_create(user=owner, name=name, kind=kind)
    for user in members:
        services.membership_add(room=room, user=user)
    return room


@sync_to_async
def make_moderator(user, room: Room) -> None:
    Membership.objects.filter(room=room, user=user).update(
        role=Membership.Role.MODERATOR
    )


@sync_to_async
def actions() -> list[tuple[str, str, str]]:
    return [
        (a.kind, a.actor.username, a.target.username if a.target else "")
        for a in ModerationAction.objects.select_related("actor", "target")
    ]


def assert_error(reply: dict, code: str) -> None:
    assert reply["status"] == "error" and reply["code"] == code, reply


# --- Bans from admin -------------------------------------------------------------


async def test_admin_room_ban_kicks_live_sockets_and_refuses_after(amake_user, sockets):
    staff = await amake_user("mod", is_staff=True, is_superuser=True)
    ana, eve = await amake_user("ana"), await amake_user("eve")
    room = await setup_room(ana, "lobby", members=[eve])
    a, e1, e2 = await sockets(ana), await sockets(eve), await sockets(eve)
    for socket in (a, e1, e2):
        await socket.join("lobby")

    status = await admin_post(
        staff,
        "/admin/chat/roomban/add/",
        {
            "room": room.pk,
            "user": eve.pk,
            "reason": "spamming links",
            "expires_at_0": "",
            "expires_at_1": "",
        },
    )
    assert status == 302
    for socket in (e1, e2):
        kicked = await socket.event("kicked", timeout=1)
        # Staff act as the site's moderators, unnamed.
        assert kicked == {"room": "lobby", "reason": "spamming links", "by": None}
    assert (await a.event("user_left", timeout=1))["username"] == "eve"
    # Out of the room: nothing more arrives, and every way back in is refused.
    await a.say("lobby", "still here?")
    assert await e1.events("receive_message") == []
    assert_error(await e1.request("join_room", {"room": "lobby"}), "forbidden")
    assert_error(await e1.request("get_history", {"room": "lobby"}), "forbidden")
    reply = await e1.request("send_message", {"room": "lobby", "message": "hi"})
    assert_error(reply, "forbidden")
    assert ("ban", "mod", "eve") in await actions()


async def test_admin_unban_lets_the_user_back(amake_user, sockets):
    staff = await amake_user("mod", is_staff=True, is_superuser=True)
    ana, eve = await amake_user("ana"), await amake_user("eve")
    room = await setup_room(ana, "lobby", members=[eve])
    ban = await sync_to_async(RoomBan.objects.create)(
        room=room, user=eve, created_by=staff
    )
    e = await sockets(eve)
    assert_error(await e.request("join_room", {"room": "lobby"}), "forbidden")
    status = await admin_post(
        staff, f"/admin/chat/roomban/{ban.pk}/delete/", {"post": "yes"}
    )
    assert status == 302
    await e.join("lobby")
    assert ("unban", "mod", "eve") in await actions()


async def test_an_expired_ban_no_longer_counts(amake_user, sockets):
    ana, eve = await amake_user("ana"), await amake_user("eve")
    room = await setup_room(ana, "lobby", members=[eve])
    past = timezone.now() - timedelta(minutes=1)
    await sync_to_async(RoomBan.objects.create)(room=room, user=eve, expires_at=past)
    e = await sockets(eve)
    await e.join("lobby")


async def test_site_ban_closes_every_socket_and_refuses_new_ones(amake_user, sockets):
    staff = await amake_user("mod", is_staff=True, is_superuser=True)
    eve = await amake_user("eve")
    e1, e2 = await sockets(eve), await sockets(eve)
    status = await admin_post(
        staff,
        "/admin/chat/siteban/add/",
        {"user": eve.pk, "reason": "abuse", "expires_at_0": "", "expires_at_1": ""},
    )
    assert status == 302
    assert await closed_with(e1) == 4403
    assert await closed_with(e2) == 4403
    again = await sockets(eve, expect_presence=False)
    assert await closed_with(again) == 4403
    assert ("site_ban", "mod", "eve") in await actions()


async def test_deactivating_a_user_closes_their_sockets(amake_user, sockets):
    eve = await amake_user("eve")
    e = await sockets(eve)

    def deactivate() -> None:
        eve.is_active = False
        eve.save()

    await sync_to_async(deactivate)()
    assert await closed_with(e) == 4403


async def test_an_account_deactivated_without_a_signal_loses_its_sockets(
    amake_user, sockets, settings
):
    settings.CHAT_ACCOUNT_CHECK = 0.1
    eve, ana = await amake_user("eve"), await amake_user("ana")
    e, a = await sockets(eve), await sockets(ana)
    # A bulk update (a script, an admin action) sends no save signal.
    await sync_to_async(type(eve).objects.filter(pk=eve.pk).update)(is_active=False)
    assert await closed_with(e, timeout=2) == 4403
    assert (await a.request("ping"))["status"] == "ok"
    # Coming back with the same session: refused as deactivated, not logged out.
    again = await sockets(eve, expect_presence=False)
    assert await closed_with(again) == 4403


async def test_a_new_password_ends_the_sessions_sockets(amake_user, sockets):
    eve = await amake_user("eve")
    e = await sockets(eve)

    def new_password() -> None:
        eve.set_password("an-entirely-new-one-42")
        eve.save()

    await sync_to_async(new_password)()
    assert await closed_with(e) == 4401


async def test_logging_out_closes_that_sessions_sockets_only(amake_user, sockets):
    from channels.testing import WebsocketCommunicator
    from django.conf import settings

    from chatproject.asgi import application

    eve = await amake_user("eve")
    other_tab = await sockets(eve)  # another browser: its own session

    client = Client()
    await sync_to_async(client.force_login)(eve)
    name = settings.SESSION_COOKIE_NAME
    cookie = f"{name}={client.cookies[name].value}"
    communicator = WebsocketCommunicator(
        application,
        "/ws/chat/",
        headers=[
            (b"host", b"localhost"),
            (b"origin", b"http://localhost"),
            (b"cookie", cookie.encode()),
        ],
    )
    assert (await communicator.connect())[0]
    this_tab = Socket(communicator, "eve")
    await this_tab.event("presence_update")

    await sync_to_async(client.post)("/accounts/logout/")
    assert await closed_with(this_tab) == 4401
    assert (await other_tab.request("ping"))["status"] == "ok"
    await communicator.disconnect()


# --- Moderators in the chat ----------------------------------------------------------


async def test_moderator_kicks_in_the_chat(amake_user, sockets):
    ana, mo, eve = (
        await amake_user("ana"),
        await amake_user("mo"),
        await amake_user("eve"),
    )
    room = await setup_room(ana, "lobby", members=[mo, eve])
    await make_moderator(mo, room)
    m, e = await sockets(mo), await sockets(eve)
    await e.join("lobby")
    reply = await m.request(
        "kick_user", {"room": "lobby", "username": "eve", "reason": "off topic"}
    )
    assert reply["status"] == "ok"
    assert await e.event("kicked", timeout=1) == {
        "room": "lobby",
        "reason": "off topic",
        "by": "mo",
    }
    assert not await sync_to_async(
        Membership.objects.filter(room=room, user=eve).exists
    )()
    # A public room: they may walk back in.
    await e.join("lobby")
    assert ("kick", "mo", "eve") in await actions()


async def test_only_moderators_kick_and_mute(amake_user, sockets):
    ana, ben, eve = (
        await amake_user("ana"),
        await amake_user("ben"),
        await amake_user("eve"),
    )
    room = await setup_room(ana, "lobby", members=[ben, eve])
    b = await sockets(ben)
    assert_error(
        await b.request("kick_user", {"room": "lobby", "username": "eve"}), "forbidden"
    )
    reply = await b.request(
        "mute_user", {"room": "lobby", "username": "eve", "minutes": 5}
    )
    assert_error(reply, "forbidden")
    # A moderator cannot act on the owner, nor on another moderator.
    mo = await amake_user("mo")
    await sync_to_async(services.membership_add)(room=room, user=mo)
    await make_moderator(mo, room)
    m = await sockets(mo)
    assert_error(
        await m.request("kick_user", {"room": "lobby", "username": "ana"}), "forbidden"
    )
    # Bad input is answered, not ignored.
    assert_error(
        await m.request("kick_user", {"room": "lobby", "username": "nobody"}),
        "not_found",
    )
    assert_error(
        await m.request("kick_user", {"room": "lobby", "username": "mo"}), "invalid"
    )
    reply = await m.request(
        "mute_user", {"room": "lobby", "username": "eve", "minutes": 0}
    )
    assert_error(reply, "invalid")
    assert await actions() == []


async def test_moderators_act_only_on_members_and_say_nothing_of_accounts(
    amake_user, sockets
):
    ana = await amake_user("ana")
    outsider, gone = await amake_user("olga"), await amake_user("gus")
    staff = await amake_user("sam", is_staff=True)
    room = await setup_room(ana, "den", members=[gone, staff])
    await sync_to_async(type(gone).objects.filter(pk=gone.pk).update)(is_active=False)
    a = await sockets(ana)

    async def answer(event: str, username: str) -> tuple:
        data = {"room": "den", "username": username, "minutes": 5, "reason": "x"}
        reply = await a.request(event, data)
        return reply["status"], reply.get("code"), reply.get("msg", "")

    for event in ("kick_user", "mute_user"):
        unknown = await answer(event, "nobody")
        assert unknown[:2] == ("error", "not_found")
        # Someone who never joined, and a deactivated member: as unknown.
        for username in ("olga", "gus"):
            status, code, msg = await answer(event, username)
            assert (status, code, msg.replace(username, "nobody")) == unknown
        # Staff are refused as a room moderator would be: no word of staff.
        mo = await amake_user(f"mo{event}")
        await sync_to_async(services.membership_add)(room=room, user=mo)
        await make_moderator(mo, room)
        assert await answer(event, "sam") == await answer(event, f"mo{event}")
    assert await actions() == []
    assert outsider.pk


async def test_mute_lets_read_but_not_post_until_unmuted(amake_user, sockets):
    staff = await amake_user("mod", is_staff=True, is_superuser=True)
    ana, eve = await amake_user("ana"), await amake_user("eve")
    room = await setup_room(ana, "lobby", members=[eve])
    a, e = await sockets(ana), await sockets(eve)
    await e.join("lobby")
    reply = await a.request(
        "mute_user", {"room": "lobby", "username": "eve", "minutes": 10}
    )
    assert reply["status"] == "ok"
    muted = await e.event("muted", timeout=1)
    assert muted["room"] == "lobby" and muted["until"] == reply["until"]

    refused = await e.request("send_message", {"room": "lobby", "message": "hello?"})
    assert_error(refused, "forbidden")
    assert "muted" in refused["msg"]
    await a.say("lobby", "you can still read this")
    assert (await e.event("receive_message"))["message"] == "you can still read this"

    mute = await sync_to_async(Mute.objects.get)(room=room, user=eve)
    status = await admin_post(
        staff, f"/admin/chat/mute/{mute.pk}/delete/", {"post": "yes"}
    )
    assert status == 302
    assert (await e.event("unmuted", timeout=1)) == {"room": "lobby"}
    await e.say("lobby", "thanks")
    kinds = [kind for kind, _, _ in await actions()]
    assert "mute" in kinds and "unmute" in kinds


async def test_moderator_deletes_others_messages_and_it_is_logged(amake_user, sockets):
    ana, eve = await amake_user("ana"), await amake_user("eve")
    room = await setup_room(ana, "lobby", members=[eve])
    a, e = await sockets(ana), await sockets(eve)
    await a.join("lobby")
    await e.join("lobby")
    sent = await e.say("lobby", "buy cheap watches")
    assert (await a.request("delete_message", {"id": sent["messageId"]}))[
        "status"
    ] == "ok"
    assert (await e.event("message_deleted", id=sent["messageId"]))["room"] == "lobby"
    assert ("delete_message", "ana", "eve") in await actions()
    assert room.name == "lobby"


# --- Limits that close a socket -------------------------------------------------------


# Invalid JSON text, binary frames and the frame limit's close are WebSocket
# framing; tests/test_longpoll.py has long-polling's answers (400, 413).
@pytest.mark.websocket_only
async def test_a_frame_over_64_kib_closes_with_1009(amake_user, sockets):
    ana = await amake_user("ana")
    fine, big = await sockets(ana), await sockets(ana)
    # Just under the limit: an ordinary too_long answer, the socket stays.
    body = "x" * (64 * 1024 - 200)
    reply = await fine.request("send_message", {"room": "general", "message": body})
    assert_error(reply, "too_long")
    await big.send_text('{"event":"ping","data":{"pad":"' + "y" * (64 * 1024) + '"}}')
    assert await closed_with(big) == 1009


async def test_too_many_sockets_for_one_user(amake_user, sockets, settings):
    settings.CHAT_MAX_SOCKETS_PER_USER = 2
    ana = await amake_user("ana")
    await sockets(ana)
    await sockets(ana)
    third = await sockets(ana, expect_presence=False)
    assert await closed_with(third) == 4429


async def test_too_many_rooms_for_one_socket(amake_user, sockets, settings):
    settings.CHAT_MAX_ROOMS_PER_SOCKET = 2
    a = await sockets(await amake_user("ana"))
    await a.join("one")
    await a.join("two")
    assert_error(await a.request("join_room", {"room": "three"}), "invalid")
    await a.join("two")  # rejoining one it is in is fine


# --- Admin shows user text inert ------------------------------------------------------


def test_admin_pages_escape_user_text(client, make_user):
    staff = make_user("mod", is_staff=True, is_superuser=True)
    evil = "<script>alert(1)</script>"
    ana = make_user("ana")
    room = services.room_create(user=ana, name="xss", topic=evil)
    services.message_send(user=ana, room_name="xss", body=evil)
    client.force_login(staff)
    for url in (
        "/admin/chat/message/",
        "/admin/chat/room/",
        f"/admin/chat/room/{room.pk}/change/",
        "/admin/chat/message/?q=script",
    ):
        page = client.get(url).content.decode()
        assert evil not in page, url


def test_a_refused_ban_in_admin_is_a_form_error_and_nothing_happens(client, make_user):
    staff = make_user("mod", is_staff=True, is_superuser=True)
    room = services.room_create(user=staff, name="lobby")
    client.force_login(staff)
    response = client.post(
        "/admin/chat/roomban/add/",
        {
            "room": room.pk,
            "user": staff.pk,
            "reason": "",
            "expires_at_0": "",
            "expires_at_1": "",
        },
    )
    assert response.status_code == 200  # the form again, with the error
    assert "you cannot moderate yourself" in response.content.decode()
    assert not RoomBan.objects.exists() and not ModerationAction.objects.exists()


def test_a_mute_in_the_past_is_refused_in_admin(client, make_user):
    staff, eve = make_user("mod", is_staff=True, is_superuser=True), make_user("eve")
    room = services.room_create(user=staff, name="lobby")
    client.force_login(staff)
    response = client.post(
        "/admin/chat/mute/add/",
        {
            "room": room.pk,
            "user": eve.pk,
            "expires_at_0": "2001-01-01",
            "expires_at_1": "10:00:00",
        },
    )
    assert "a mute must end in the future" in response.content.decode()
    assert not Mute.objects.exists()


# Invalid JSON text, binary frames and the frame limit's close are WebSocket
# framing; tests/test_longpoll.py has long-polling's answers (400, 413).
@pytest.mark.websocket_only
async def test_a_binary_frame_over_64_kib_closes_with_1009_too(amake_user, sockets):
    small, big = await sockets(await amake_user("ana")), None
    await small.communicator.send_to(bytes_data=b"\x00" * 10)
    assert (await small.event("error"))["code"] == "bad_frame"
    big = await sockets(await amake_user("ben"))
    await big.communicator.send_to(bytes_data=b"\x00" * (64 * 1024 + 1))
    assert await closed_with(big) == 1009
