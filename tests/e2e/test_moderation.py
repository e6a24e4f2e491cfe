"""Staff moderate from Django admin in one browser; a member sees it live in
another."""

from playwright.sync_api import expect

from .helpers import has_class, message, send_delivered


def make_staff(backend, username: str) -> None:
    backend.run(
        "from django.contrib.auth import get_user_model\n"
        "get_user_model().objects.filter(username=data['name'])"
        ".update(is_staff=True, is_superuser=True)\n",
        name=username,
    )


def pks(backend, room: str, username: str) -> tuple[int, int]:
    return backend.run(
        "from django.contrib.auth import get_user_model\n"
        "from chat.models import Room\n"
        "result = [Room.objects.get(name=data['room']).pk,"
        " get_user_model().objects.get(username=data['user']).pk]\n",
        room=room,
        user=username,
    )


def test_staff_deletes_a_message_in_admin_and_members_see_it_go(open_as, backend):
    staff, ben = backend.users("staff", "ben")
    make_staff(backend, staff)
    room = backend.room(staff, backend.unique("busy"), members=(ben,))
    member = open_as(ben, f"/rooms/{room}/")
    message_id = send_delivered(member.page, "buy cheap watches here")

    admin = open_as(staff, "/admin/chat/message/?q=cheap+watches")
    admin.page.locator(f"input[name=_selected_action][value='{message_id}']").check()
    admin.page.locator("select[name=action]").select_option("soft_delete")
    admin.page.locator("button[name=index]").click()
    expect(admin.page.locator(".messagelist")).to_contain_text("Deleted 1 message")

    gone = message(member.page, "This message was deleted.")
    expect(gone).to_have_class(has_class("deleted"))
    expect(message(member.page, "buy cheap watches here")).to_have_count(0)


def test_staff_bans_a_member_in_admin_and_they_are_removed_live(open_as, backend):
    staff, ben, cat = backend.users("staff", "ben", "cat")
    make_staff(backend, staff)
    room = backend.room(staff, backend.unique("busy"), members=(ben, cat))
    banned = open_as(ben, f"/rooms/{room}/")
    witness = open_as(cat, f"/rooms/{room}/")
    expect(witness.page.locator(f"#members li[data-user='{ben}']")).to_have_count(1)
    room_pk, ben_pk = pks(backend, room, ben)

    admin = open_as(staff, "/admin/chat/roomban/add/")
    admin.page.locator("#id_room").fill(str(room_pk))
    admin.page.locator("#id_user").fill(str(ben_pk))
    admin.page.locator("#id_reason").fill("flooding")
    admin.page.locator("input[name=_save]").click()
    expect(admin.page.locator(".messagelist")).to_be_visible()

    expect(banned.page.locator("#notice")).to_contain_text(f"removed from #{room}")
    expect(banned.page.locator(f"#room-list li[data-room='{room}']")).to_have_count(0)
    expect(witness.page.locator(f"#members li[data-user='{ben}']")).to_have_count(0)
    # Reloading does not get them back in.
    banned.goto(f"/rooms/{room}/")
    expect(banned.page.locator("body")).to_contain_text("banned")
