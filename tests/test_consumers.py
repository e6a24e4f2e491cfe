import pytest

pytestmark = pytest.mark.django_db(transaction=True)


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
