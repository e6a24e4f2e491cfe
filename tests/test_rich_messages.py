"""Messages carry their text rendered (`html`), made by the server when the text
is written, over every transport: live, in history, after an edit."""

import pytest
from asgiref.sync import sync_to_async

from chat.models import Message

pytestmark = pytest.mark.django_db(transaction=True)

TEXT = "**lunch** at _noon_? <script>alert(1)</script> see https://example.com/menu"
HTML = (
    "<p><strong>lunch</strong> at <em>noon</em>? &lt;script&gt;alert(1)&lt;/script&gt;"
    ' see <a href="https://example.com/menu" target="_blank"'
    ' rel="nofollow noopener noreferrer">https://example.com/menu</a></p>'
)


async def test_a_message_reaches_everyone_rendered_and_stays_so(amake_user, sockets):
    a = await sockets(await amake_user("ana"))
    b = await sockets(await amake_user("ben"))
    await a.join("general")
    await b.join("general")
    sent = await a.say("general", TEXT)

    live = await b.event("receive_message", id=sent["messageId"])
    assert (live["message"], live["html"]) == (TEXT, HTML)
    history = await b.request("get_history", {"room": "general"})
    assert [m["html"] for m in history["messages"]] == [HTML]
    stored = await sync_to_async(Message.objects.get)(pk=sent["messageId"])
    assert stored.html == HTML  # rendered once, when written


async def test_an_edit_is_rendered_again_and_a_deletion_drops_it(amake_user, sockets):
    a = await sockets(await amake_user("ana"))
    await a.join("general")
    sent = await a.say("general", "plain")
    await a.drain()
    reply = await a.request(
        "edit_message", {"id": sent["messageId"], "message": "`code` now"}
    )
    assert reply["status"] == "ok"
    edited = await a.event("message_edited")
    assert edited["html"] == "<p><code>code</code> now</p>"
    history = await a.request("get_history", {"room": "general"})
    assert history["messages"][0]["html"] == "<p><code>code</code> now</p>"

    await a.request("delete_message", {"id": sent["messageId"]})
    history = await a.request("get_history", {"room": "general"})
    assert (history["messages"][0]["message"], history["messages"][0]["html"]) == (
        "",
        "",
    )


async def test_a_message_stored_before_rendering_existed_is_rendered_when_read(
    amake_user, sockets
):
    a = await sockets(await amake_user("ana"))
    await a.join("general")
    sent = await a.say("general", "an *old* one")
    await sync_to_async(Message.objects.filter(pk=sent["messageId"]).update)(html="")
    history = await a.request("get_history", {"room": "general"})
    assert history["messages"][0]["html"] == "<p>an <em>old</em> one</p>"
