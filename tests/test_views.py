"""The pages: sign-up, log-in, the room list, and access to rooms."""

import json
import re

import pytest
from django.urls import reverse

from chat.domain import services
from chat.models import Membership, Room

pytestmark = pytest.mark.django_db


def test_anonymous_visitor_is_sent_to_log_in(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_sign_up_logs_the_new_member_in(client):
    response = client.post(
        "/accounts/signup/",
        {
            "username": "carol",
            "password1": "a-long-pass-9",
            "password2": "a-long-pass-9",
        },
        follow=True,
    )
    assert response.redirect_chain[-1][0] == reverse("chat:directory")
    assert response.context["user"].get_username() == "carol"


def test_sign_up_with_mismatched_passwords_shows_an_error(client, django_user_model):
    response = client.post(
        "/accounts/signup/",
        {
            "username": "carol",
            "password1": "a-long-pass-9",
            "password2": "other-pass-9",
        },
    )
    assert response.status_code == 200
    assert "password2" in response.context["form"].errors
    assert not django_user_model.objects.filter(username="carol").exists()


@pytest.mark.parametrize("username", ["\u3164", "\u3164\u3164", "ana\u202e"])
def test_sign_up_refuses_an_invisible_or_reordering_username(
    client, django_user_model, username
):
    response = client.post(
        "/accounts/signup/",
        {
            "username": username,
            "password1": "a-long-pass-9",
            "password2": "a-long-pass-9",
        },
    )
    assert response.status_code == 200
    assert "username" in response.context["form"].errors
    assert not django_user_model.objects.exists()


def test_log_in_and_out(client, make_user):
    make_user("ana")
    response = client.post(
        "/accounts/login/", {"username": "ana", "password": "pw-for-tests-1"}
    )
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200
    client.post("/accounts/logout/")
    assert client.get("/").status_code == 302


def test_wrong_password_is_refused_with_a_message(client, make_user):
    make_user("ana")
    response = client.post("/accounts/login/", {"username": "ana", "password": "nope"})
    assert response.status_code == 200
    assert response.context["form"].errors


def initial_rooms(page) -> dict:
    """The rooms the app page hands its script, by name."""
    match = re.search(
        r'<script id="initial-rooms" type="application/json">(.*?)</script>', page
    )
    return {room["room"]: room for room in json.loads(match.group(1))}


def test_app_page_carries_my_rooms_with_unread_counts(client, make_user):
    ana, ben = make_user("ana"), make_user("ben")
    services.room_create(user=ben, name="lobby", topic="come in")
    services.room_join(user=ana, name="lobby")
    services.message_send(user=ben, room_name="lobby", body="one")
    services.message_send(user=ben, room_name="lobby", body="two")
    services.room_create(user=ben, name="secret-plans", kind=Room.Kind.PRIVATE)
    client.force_login(ana)
    rooms = initial_rooms(client.get("/").content.decode())
    assert set(rooms) == {"lobby"}
    assert rooms["lobby"]["unread"] == 2 and rooms["lobby"]["topic"] == "come in"


def test_directory_searches_public_rooms(client, make_user):
    ana, ben = make_user("ana"), make_user("ben")
    services.room_create(user=ben, name="lobby", topic="come in")
    services.room_create(user=ben, name="gardening", topic="tomatoes")
    services.room_join(user=ana, name="gardening")
    services.room_create(user=ben, name="secret-plans", kind=Room.Kind.PRIVATE)
    client.force_login(ana)
    page = client.get("/rooms/").content.decode()
    assert 'data-room="lobby"' in page and 'data-room="gardening"' in page
    assert "secret-plans" not in page
    assert "2 members" in page and "1 member<" in page
    found = client.get("/rooms/", {"q": "TOMATO"}).content.decode()
    assert 'data-room="gardening"' in found and 'data-room="lobby"' not in found


def test_create_form_makes_a_room_and_opens_it(client, make_user):
    client.force_login(make_user("ana"))
    response = client.post(
        "/rooms/create/", {"name": " Book-Club ", "kind": "public", "topic": "Dune"}
    )
    assert response["Location"] == "/rooms/book-club/"
    room = Room.objects.get(name="book-club")
    assert room.kind == Room.Kind.PUBLIC and room.topic == "Dune"
    assert Membership.objects.get(room=room).role == Membership.Role.OWNER


@pytest.mark.parametrize("name", ["no spaces!", "", "create", "x" * 51])
def test_create_form_rejects_a_bad_name(client, make_user, name):
    client.force_login(make_user("ana"))
    response = client.post("/rooms/create/", {"name": name, "kind": "public"})
    assert response.status_code == 400
    assert "name" in response.context["form"].errors
    assert not Room.objects.exists()


@pytest.mark.parametrize("topic", ["see \u202efdp.exe", "\u200b\u200d"])
def test_create_form_rejects_a_topic_not_shown_as_written(client, make_user, topic):
    client.force_login(make_user("ana"))
    response = client.post(
        "/rooms/create/", {"name": "club", "kind": "public", "topic": topic}
    )
    assert response.status_code == 400
    assert "topic" in response.context["form"].errors
    assert not Room.objects.exists()


def test_create_form_rejects_a_taken_name(client, make_user):
    services.room_create(user=make_user("ben"), name="lobby")
    client.force_login(make_user("ana"))
    response = client.post("/rooms/create/", {"name": "lobby", "kind": "private"})
    assert response.status_code == 400
    assert "already exists" in str(response.context["form"].errors["name"])


def test_join_button_makes_me_a_member(client, make_user):
    ana = make_user("ana")
    services.room_create(user=make_user("ben"), name="lobby")
    client.force_login(ana)
    response = client.post("/rooms/join/", {"name": "lobby"})
    assert response["Location"] == "/rooms/lobby/"
    assert Membership.objects.filter(room__name="lobby", user=ana).exists()


def test_joining_a_private_room_by_name_is_forbidden(client, make_user):
    services.room_create(user=make_user("ben"), name="inner", kind=Room.Kind.PRIVATE)
    client.force_login(make_user("ana"))
    assert client.post("/rooms/join/", {"name": "inner"}).status_code == 403


def test_owner_adds_people_to_a_private_room(client, make_user):
    ben, ana, eve = make_user("ben"), make_user("ana"), make_user("eve")
    services.room_create(user=ben, name="inner", kind=Room.Kind.PRIVATE)
    client.force_login(ben)
    client.post("/rooms/inner/invite/", {"username": "ana"})
    assert Membership.objects.filter(room__name="inner", user=ana).exists()
    # A plain member cannot add anyone, and is told so.
    client.force_login(ana)
    response = client.post("/rooms/inner/invite/", {"username": "eve"}, follow=True)
    assert not Membership.objects.filter(room__name="inner", user=eve).exists()
    assert "Could not add eve" in response.content.decode()


def test_private_room_page_is_missing_for_non_members(client, make_user):
    owner, outsider = make_user("owner"), make_user("outsider")
    services.room_create(user=owner, name="staff-only", kind=Room.Kind.PRIVATE)
    client.force_login(outsider)
    assert client.get("/rooms/staff-only/").status_code == 404
    client.force_login(owner)
    assert client.get("/rooms/staff-only/").status_code == 200


def test_missing_room_page_is_404(client, make_user):
    client.force_login(make_user("ana"))
    assert client.get("/rooms/nowhere/").status_code == 404


def test_direct_message_page(client, make_user):
    ana, ben = make_user("ana"), make_user("ben")
    client.force_login(ana)
    page = client.get("/dm/ben/")
    assert page.status_code == 200 and 'data-peer="ben"' in page.content.decode()
    assert client.get("/dm/nobody/").status_code == 404
    assert client.get("/dm/ana/").status_code == 400
    services.direct_message_send(user=ben, to_username="ana", body="hi")
    page = client.get("/dm/ben/").content.decode()
    assert f'data-room="{Room.direct_name(ana.pk, ben.pk)}"' in page


def test_user_text_is_escaped_in_pages(client, make_user):
    ana = make_user("ana")
    services.room_create(user=ana, name="xss", topic="<script>alert(1)</script>")
    client.force_login(ana)
    for url in ("/", "/rooms/", "/rooms/xss/"):
        page = client.get(url).content.decode()
        assert "<script>alert(1)</script>" not in page, url


def test_pages_have_no_inline_script(client, make_user):
    ana = make_user("ana")
    services.room_create(user=ana, name="plain")
    client.force_login(ana)
    for url in ("/", "/rooms/", "/rooms/plain/", "/accounts/logout/"):
        page = client.get(url).content.decode()
        for tag in re.findall(r"<script[^>]*>", page):
            assert "src=" in tag or 'type="application/json"' in tag, (url, tag)
