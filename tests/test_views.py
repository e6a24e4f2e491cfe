"""The pages: sign-up, log-in, the room list, and access to rooms."""

import pytest
from django.urls import reverse

from chat import services
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
    assert response.redirect_chain[-1][0] == reverse("chat:index")
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


def test_index_lists_my_rooms_with_unread_counts_and_public_rooms(client, make_user):
    ana, ben = make_user("ana"), make_user("ben")
    services.room_create(user=ben, name="lobby", topic="come in")
    services.room_join(user=ana, name="lobby")
    services.message_send(user=ben, room_name="lobby", body="one")
    services.message_send(user=ben, room_name="lobby", body="two")
    services.room_create(user=ben, name="secret-plans", kind=Room.Kind.PRIVATE)
    client.force_login(ana)
    page = client.get("/").content.decode()
    assert "#lobby" in page and "come in" in page
    assert '<span class="badge">2</span>' in page
    assert "secret-plans" not in page


def test_join_form_creates_a_room_and_opens_it(client, make_user):
    client.force_login(make_user("ana"))
    response = client.post("/rooms/", {"name": " Book-Club "})
    assert response["Location"] == "/rooms/book-club/"
    room = Room.objects.get(name="book-club")
    assert room.kind == Room.Kind.PUBLIC
    assert Membership.objects.get(room=room).role == Membership.Role.OWNER


def test_join_form_rejects_a_bad_name(client, make_user):
    client.force_login(make_user("ana"))
    response = client.post("/rooms/", {"name": "no spaces!"})
    assert response.status_code == 400
    assert "name" in response.context["form"].errors
    assert not Room.objects.exists()


def test_private_room_page_is_forbidden_to_non_members(client, make_user):
    owner, outsider = make_user("owner"), make_user("outsider")
    services.room_create(user=owner, name="staff-only", kind=Room.Kind.PRIVATE)
    client.force_login(outsider)
    assert client.get("/rooms/staff-only/").status_code == 403
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
    for url in ("/", "/rooms/xss/"):
        page = client.get(url).content.decode()
        assert "<script>alert(1)</script>" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_room_page_has_no_inline_script(client, make_user):
    ana = make_user("ana")
    services.room_create(user=ana, name="plain")
    client.force_login(ana)
    page = client.get("/rooms/plain/").content.decode()
    assert '<script type="module" src="/static/chat/room.js">' in page
    assert "<script>" not in page
